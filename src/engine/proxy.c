/*
 * proxy.c - ProxyCommand and ProxyJump transports (see proxy.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fdreserve.h"
#include "config/options.h"
#include "engine/conn.h"
#include "engine/conn_io.h"
#include "engine/proxy.h"
#include "engine/session.h"

#define REAP_GRACE_MS 1000

static const struct proxy_jump_ops *jump_ops;   /* atomic: set once */

/* Register the jump host operations. */
void proxy_set_jump_ops(const struct proxy_jump_ops *ops)
{
    __atomic_store_n(&jump_ops, ops, __ATOMIC_RELEASE);
}

/* The registered operations (set before any session can exist). */
static const struct proxy_jump_ops *ops(void)
{
    return __atomic_load_n(&jump_ops, __ATOMIC_ACQUIRE);
}

/* Whether a string option is set to something other than "none". */
static int set_and_not_none(const char *v)
{
    return v && *v && strcasecmp(v, "none");
}

/* Whether the options ask for a proxy. */
int proxy_wanted(const sshtun_options *o)
{
    return set_and_not_none(o->proxy_jump)
           || set_and_not_none(o->proxy_command);
}

/* Expand %h %p %r %% in a ProxyCommand. */
static int expand_command(const char *in, const sshtun_options *o, char *out,
                          size_t size)
{
    size_t n = 0;

    for (; *in; in++) {
        char num[16];
        const char *add = NULL;
        if (*in == '%' && in[1]) {
            in++;
            switch (*in) {
            case 'h': add = o->hostname; break;
            case 'p': snprintf(num, sizeof num, "%d", options_port(o));
                      add = num; break;
            case 'r': add = o->user; break;
            case '%': add = "%"; break;
            default: return -1;
            }
        }
        if (add) {
            size_t l = strlen(add);
            if (n + l >= size)
                return -1;
            memcpy(out + n, add, l);
            n += l;
        } else {
            if (n + 1 >= size)
                return -1;
            out[n++] = *in;
        }
    }
    out[n] = '\0';
    return 0;
}

/* Run the ProxyCommand with a socketpair as its stdin and stdout. */
static int start_command(struct conn *c, int *fd, sshtun_error *err)
{
    const sshtun_options *o = c->sess->opts;
    char cmd[4096];
    int sp[2];
    pid_t pid;

    if (expand_command(o->proxy_command, o, cmd, sizeof cmd))
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyCommand '%s': unknown "
                         "%% token or too long", o->proxy_command);
    if (fdreserve_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return error_set(err, SSHTUN_ERR_IO, "socketpair: %s", strerror(errno));
    log_msg(o, SSHTUN_LOG_DEBUG, "Executing proxy command: %s", cmd);
    pid = fork();
    if (pid < 0) {
        close(sp[0]);
        close(sp[1]);
        return error_set(err, SSHTUN_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec. */
        dup2(sp[1], STDIN_FILENO);
        dup2(sp[1], STDOUT_FILENO);
        signal(SIGPIPE, SIG_DFL);   /* the command gets a normal SIGPIPE */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(sp[1]);
    c->io->proxy_pid = pid;
    fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
    *fd = sp[0];
    return 0;
}

/* The bridge thread: the jump channel <-> our end of the socketpair. */
static void *bridge_main(void *arg)
{
    struct conn *c = arg;
    const sshtun_options *o = c->sess->opts;
    sshtun_error err;

    if (ops()->stdio(c->io->jump, o->hostname, options_port(o),
                             c->io->bridge_fd, c->io->bridge_fd, &err)) {
        /* Say why, and let the handshake waiting on the other end see
         * EOF at once rather than time out. */
        pthread_mutex_lock(&c->mu);
        snprintf(c->proxy_error, sizeof c->proxy_error, "%.250s", err.msg);
        pthread_mutex_unlock(&c->mu);
        shutdown(c->io->bridge_fd, SHUT_RDWR);
    }
    return NULL;
}

/* Split the last hop off "[user@]host[:port][,...]": the rest stays in
 * list (or becomes empty). */
static char *last_hop(char *list)
{
    char *comma = strrchr(list, ',');

    if (!comma)
        return list;
    *comma = '\0';
    return comma + 1;
}

/* Fill jo's User, HostName and Port from one hop "[user@]host[:port]"
 * (host may be [bracketed]); hop is cut up. */
static int parse_hop(sshtun_options *jo, char *hop, sshtun_error *err)
{
    char *host = hop, *at, *colon;

    if ((at = strrchr(hop, '@'))) {
        *at = '\0';
        sshtun_options_set(jo, "User", hop, NULL);
        host = at + 1;
    }
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close)
            return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: bad host "
                             "'%s'", host);
        *close = '\0';
        colon = close[1] == ':' ? close + 1 : NULL;
        host++;
    } else {
        colon = strchr(host, ':');
    }
    if (colon) {
        *colon = '\0';
        if (sshtun_options_set(jo, "Port", colon + 1, err))
            return SSHTUN_ERR_INVAL;
    }
    if (!*host || sshtun_options_set(jo, "HostName", host, NULL))
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: bad hop");
    return 0;
}

/* Copy a number option to jo when it is set (> 0). */
static void copy_number(sshtun_options *jo, const char *kw, int v)
{
    char num[16];

    if (v > 0) {
        snprintf(num, sizeof num, "%d", v);
        sshtun_options_set(jo, kw, num, NULL);
    }
}

/* Copy a yes/no option to jo when it is set. */
static void copy_flag(sshtun_options *jo, const char *kw, int v)
{
    if (v >= 0)
        sshtun_options_set(jo, kw, v ? "yes" : "no", NULL);
}

/* The jump host gets the target's keys, known_hosts, algorithms and
 * limits; its own user, host and port come from the hop. */
static void inherit_options(sshtun_options *jo, const sshtun_options *o)
{
    static const char *const strict[] = { "no", "yes", "ask", "accept-new" };
    static const struct { const char *kw; size_t off; } strs[] = {
        { "UserKnownHostsFile", offsetof(sshtun_options, user_known_hosts) },
        { "GlobalKnownHostsFile",
          offsetof(sshtun_options, global_known_hosts) },
        { "IdentityAgent", offsetof(sshtun_options, identity_agent) },
        { "Ciphers", offsetof(sshtun_options, ciphers) },
        { "MACs", offsetof(sshtun_options, macs) },
        /* revoked keys are revoked for every hop too */
        { "RevokedHostKeys", offsetof(sshtun_options, revoked_host_keys) },
    };

    for (int i = 0; i < o->identity_files.n; i++)
        sshtun_options_set(jo, "IdentityFile", o->identity_files.v[i], NULL);
    for (int i = 0; i < o->identity_data.n; i++)
        sshtun_options_add_identity(jo, o->identity_data.v[i], NULL);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        const char *v = *(char *const *)((const char *)o + strs[i].off);
        if (v)
            sshtun_options_set(jo, strs[i].kw, v, NULL);
    }
    copy_flag(jo, "HashKnownHosts", o->hash_known_hosts);
    copy_flag(jo, "IdentitiesOnly", o->identities_only);
    copy_flag(jo, "BatchMode", o->batch_mode);
    copy_number(jo, "ServerAliveCountMax", o->server_alive_count_max);
    copy_number(jo, "ConnectTimeout", o->connect_timeout);
    copy_number(jo, "ServerAliveInterval", o->server_alive_interval);
    if (o->strict >= 0 && o->strict <= 3)
        sshtun_options_set(jo, "StrictHostKeyChecking", strict[o->strict],
                           NULL);
    sshtun_options_set_log(jo, o->log.fn, o->log.user);
    sshtun_options_set_passphrase(jo, o->pass_fn, o->pass_user);
    if (o->log.level >= 0)
        jo->log.level = o->log.level;
}

/* A thread bridging the jump session's channel to a socketpair, whose
 * other end becomes *fd. */
static int start_bridge(struct conn *c, int *fd, sshtun_error *err)
{
    int sp[2], rc;

    if (fdreserve_socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return error_set(err, SSHTUN_ERR_IO, "socketpair: %s", strerror(errno));
    c->io->bridge_fd = sp[1];
    if ((rc = pthread_create(&c->io->bridge, NULL, bridge_main, c))) {
        close(sp[0]);
        close(sp[1]);
        c->io->bridge_fd = -1;
        return error_set(err, SSHTUN_ERR_NOMEM, "cannot start thread: %s",
                         strerror(rc));
    }
    fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
    *fd = sp[0];
    return 0;
}

/* Connect through ProxyJump: a session to the last jump host (itself
 * reached through the earlier ones), then a channel from it. */
static int start_jump(struct conn *c, int *fd, sshtun_error *err)
{
    const sshtun_options *o = c->sess->opts;
    char hops[1024], name[1024], *hop;
    sshtun_options *jo;
    int rc;

    if (strlen(o->proxy_jump) >= sizeof hops)
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: too long");
    snprintf(hops, sizeof hops, "%s", o->proxy_jump);
    hop = last_hop(hops);
    snprintf(name, sizeof name, "%s", hop);     /* before hop is cut up */
    if (!(jo = sshtun_options_new()))
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    if ((rc = parse_hop(jo, hop, err))) {
        sshtun_options_free(jo);
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: bad hop '%s'",
                         name);
    }
    if (hop != hops)                /* earlier hops: the jump's own jump */
        sshtun_options_set(jo, "ProxyJump", hops, NULL);
    inherit_options(jo, o);
    log_msg(o, SSHTUN_LOG_VERBOSE, "Connecting to jump host %s.", name);
    c->io->jump = ops()->connect(jo, err);
    sshtun_options_free(jo);
    if (!c->io->jump) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return error_set(err, err->code, "jump host %s: %s", name, why);
    }
    return start_bridge(c, fd, err);
}

/* Connect through the configured proxy. */
int proxy_connect(struct conn *c, int *fd, sshtun_error *err)
{
    c->io->bridge_fd = -1;
    if (set_and_not_none(c->sess->opts->proxy_jump))
        return start_jump(c, fd, err);
    return start_command(c, fd, err);
}

/* Reap the command, close the jump, join the bridge. */
void proxy_close(struct conn *c)
{
    struct conn_io *io = c->io;

    if (io->proxy_pid > 0) {
        int64_t deadline = clock_now_ms() + REAP_GRACE_MS;
        int status;
        /* Its stdin is closed now; give it a moment, then insist. */
        while (waitpid(io->proxy_pid, &status, WNOHANG) == 0) {
            if (clock_now_ms() >= deadline) {
                /* SIGTERM, then (bounded) SIGKILL. */
                kill(io->proxy_pid, SIGTERM);
                for (int i = 0; i < 50; i++) {
                    if (waitpid(io->proxy_pid, &status, WNOHANG) != 0)
                        break;
                    if (i == 49) {
                        kill(io->proxy_pid, SIGKILL);
                        waitpid(io->proxy_pid, &status, 0);
                    }
                    poll(NULL, 0, 20);
                }
                break;
            }
            poll(NULL, 0, 20);
        }
        io->proxy_pid = 0;
    }
    if (io->jump) {
        ops()->close(io->jump);     /* ends the bridge's channel */
        io->jump = NULL;
    }
    if (io->bridge_fd >= 0) {
        shutdown(io->bridge_fd, SHUT_RDWR);
        pthread_join(io->bridge, NULL);
        close(io->bridge_fd);
        io->bridge_fd = -1;
    }
}
