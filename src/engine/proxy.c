/*
 * proxy.c - ProxyCommand and ProxyJump transports (see proxy.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "config/options.h"
#include "engine/proxy.h"
#include "base/clock.h"

#define REAP_GRACE_MS 1000

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
static int start_command(struct sshtun_session *s, int *fd, sshtun_error *err)
{
    char cmd[4096];
    int sp[2];
    pid_t pid;

    if (expand_command(s->opts->proxy_command, s->opts, cmd, sizeof cmd))
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyCommand '%s': unknown "
                         "%% token or too long", s->opts->proxy_command);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return error_set(err, SSHTUN_ERR_IO, "socketpair: %s", strerror(errno));
    log_msg(s->opts, SSHTUN_LOG_DEBUG, "Executing proxy command: %s", cmd);
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
    s->proxy_pid = pid;
    fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
    *fd = sp[0];
    return 0;
}

/* The bridge thread: the jump channel <-> our end of the socketpair. */
static void *bridge_main(void *arg)
{
    struct sshtun_session *s = arg;
    sshtun_error err;

    if (sshtun_forward_stdio(s->jump, s->opts->hostname, options_port(s->opts),
                             s->bridge_fd, s->bridge_fd, &err)) {
        /* Say why, and let the handshake waiting on the other end see
         * EOF at once rather than time out. */
        pthread_mutex_lock(&s->mu);
        snprintf(s->proxy_error, sizeof s->proxy_error, "%.250s", err.msg);
        pthread_mutex_unlock(&s->mu);
        shutdown(s->bridge_fd, SHUT_RDWR);
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

/* Connect through ProxyJump: a session to the last jump host (itself
 * reached through the earlier ones), then a channel from it. */
static int start_jump(struct sshtun_session *s, int *fd, sshtun_error *err)
{
    char hops[1024], name[1024], *hop, *at, *host, *colon;
    sshtun_options *jo;
    int sp[2], rc;

    if (strlen(s->opts->proxy_jump) >= sizeof hops)
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: too long");
    snprintf(hops, sizeof hops, "%s", s->opts->proxy_jump);
    hop = last_hop(hops);
    snprintf(name, sizeof name, "%s", hop);     /* before hop is cut up */
    if (!(jo = sshtun_options_new()))
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    /* The hop's own user, host and port; the rest as for the target. */
    host = hop;
    if ((at = strrchr(hop, '@'))) {
        *at = '\0';
        sshtun_options_set(jo, "User", hop, NULL);
        host = at + 1;
    }
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close) {
            sshtun_options_free(jo);
            return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: bad host "
                             "'%s'", hop);
        }
        *close = '\0';
        colon = close[1] == ':' ? close + 1 : NULL;
        host++;
    } else {
        colon = strchr(host, ':');
    }
    if (colon) {
        *colon = '\0';
        if (sshtun_options_set(jo, "Port", colon + 1, err)) {
            sshtun_options_free(jo);
            return SSHTUN_ERR_INVAL;
        }
    }
    if (!*host || sshtun_options_set(jo, "HostName", host, err)) {
        sshtun_options_free(jo);
        return error_set(err, SSHTUN_ERR_INVAL, "ProxyJump: bad hop '%s'",
                         s->opts->proxy_jump);
    }
    if (hop != hops)                /* earlier hops: the jump's own jump */
        sshtun_options_set(jo, "ProxyJump", hops, NULL);
    {
        const sshtun_options *o = s->opts;
        char num[16];
        for (int i = 0; i < o->identity_files.n; i++)
            sshtun_options_set(jo, "IdentityFile", o->identity_files.v[i],
                               NULL);
        for (int i = 0; i < o->identity_data.n; i++)
            sshtun_options_add_identity(jo, o->identity_data.v[i], NULL);
        if (o->hash_known_hosts >= 0)
            sshtun_options_set(jo, "HashKnownHosts",
                               o->hash_known_hosts ? "yes" : "no", NULL);
        if (o->server_alive_count_max > 0) {
            snprintf(num, sizeof num, "%d", o->server_alive_count_max);
            sshtun_options_set(jo, "ServerAliveCountMax", num, NULL);
        }
        if (o->identities_only >= 0)
            sshtun_options_set(jo, "IdentitiesOnly",
                               o->identities_only ? "yes" : "no", NULL);
        if (o->strict >= 0)
            sshtun_options_set(jo, "StrictHostKeyChecking",
                               o->strict == 0 ? "no" : o->strict == 1 ? "yes"
                               : o->strict == 2 ? "ask" : "accept-new",
                               NULL);
        if (o->batch_mode >= 0)
            sshtun_options_set(jo, "BatchMode", o->batch_mode ? "yes" : "no",
                               NULL);
        if (o->connect_timeout > 0) {
            snprintf(num, sizeof num, "%d", o->connect_timeout);
            sshtun_options_set(jo, "ConnectTimeout", num, NULL);
        }
        if (o->user_known_hosts)
            sshtun_options_set(jo, "UserKnownHostsFile", o->user_known_hosts,
                               NULL);
        if (o->global_known_hosts)
            sshtun_options_set(jo, "GlobalKnownHostsFile",
                               o->global_known_hosts, NULL);
        if (o->identity_agent)
            sshtun_options_set(jo, "IdentityAgent", o->identity_agent, NULL);
        if (o->ciphers)
            sshtun_options_set(jo, "Ciphers", o->ciphers, NULL);
        if (o->macs)
            sshtun_options_set(jo, "MACs", o->macs, NULL);
        if (o->server_alive_interval > 0) {
            snprintf(num, sizeof num, "%d", o->server_alive_interval);
            sshtun_options_set(jo, "ServerAliveInterval", num, NULL);
        }
        sshtun_options_set_log(jo, o->log.fn, o->log.user);
        sshtun_options_set_passphrase(jo, o->pass_fn, o->pass_user);
        if (o->log.level >= 0)
            jo->log.level = o->log.level;
    }
    log_msg(s->opts, SSHTUN_LOG_VERBOSE, "Connecting to jump host %s.", name);
    s->jump = sshtun_session_connect(jo, err);
    sshtun_options_free(jo);
    if (!s->jump) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return error_set(err, err->code, "jump host %s: %s", name, why);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return error_set(err, SSHTUN_ERR_IO, "socketpair: %s", strerror(errno));
    s->bridge_fd = sp[1];
    if ((rc = pthread_create(&s->bridge, NULL, bridge_main, s))) {
        close(sp[0]);
        close(sp[1]);
        s->bridge_fd = -1;
        return error_set(err, SSHTUN_ERR_NOMEM, "cannot start thread: %s",
                         strerror(rc));
    }
    fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
    *fd = sp[0];
    return 0;
}

/* Connect through the configured proxy. */
int proxy_connect(struct sshtun_session *s, int *fd, sshtun_error *err)
{
    s->bridge_fd = -1;
    if (set_and_not_none(s->opts->proxy_jump))
        return start_jump(s, fd, err);
    return start_command(s, fd, err);
}

/* Reap the command, close the jump, join the bridge. */
void proxy_close(struct sshtun_session *s)
{
    if (s->proxy_pid > 0) {
        int64_t deadline = clock_now_ms() + REAP_GRACE_MS;
        int status;
        /* Its stdin is closed now; give it a moment, then insist. */
        while (waitpid(s->proxy_pid, &status, WNOHANG) == 0) {
            if (clock_now_ms() >= deadline) {
                /* SIGTERM, then (bounded) SIGKILL. */
                kill(s->proxy_pid, SIGTERM);
                for (int i = 0; i < 50; i++) {
                    if (waitpid(s->proxy_pid, &status, WNOHANG) != 0)
                        break;
                    if (i == 49) {
                        kill(s->proxy_pid, SIGKILL);
                        waitpid(s->proxy_pid, &status, 0);
                    }
                    poll(NULL, 0, 20);
                }
                break;
            }
            poll(NULL, 0, 20);
        }
        s->proxy_pid = 0;
    }
    if (s->jump) {
        sshtun_session_close(s->jump);  /* ends the bridge's channel */
        s->jump = NULL;
    }
    if (s->bridge_fd >= 0) {
        shutdown(s->bridge_fd, SHUT_RDWR);
        pthread_join(s->bridge, NULL);
        close(s->bridge_fd);
        s->bridge_fd = -1;
    }
}
