/*
 * muxserver.c - the multiplexing master (see muxserver.h).
 *
 * Speaks PROTOCOL.mux version 4 as OpenSSH's ssh does when it is a
 * ControlMaster: hello, alive check, terminate, stop listening, opening
 * and closing -L/-R/-D forwards (with the allocated port for -R 0), and
 * stdio forwarding with the client's descriptors (ssh -W through the
 * master).  Sessions (running commands) are refused: sshtun runs none.
 *
 * Threads: one accept thread; one thread per client, which reads its
 * requests one at a time.  Forward changes and statistics are serialised
 * by ops_mu, so a forward is never closed while statistics read it.
 * Only the socket's owner and root may connect (SO_PEERCRED), as ssh
 * allows.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "engine/bridge.h"
#include "config/fwdspec.h"
#include "config/options.h"
#include "control/ctlpath.h"
#include "control/muxio.h"
#include "control/muxserver.h"
#include "control/statsfmt.h"
#include "engine/channel.h"
#include "engine/chanopen.h"
#include "engine/session.h"
#include "forward/forward.h"

#define MUX_MAX_CLIENTS 64
#define STATS_TEXT_MAX (MUX_BODY_MAX - 1024)

struct mux_client {
    struct muxserver *srv;
    int fd;                         /* the thread's; -1 once it closed it
                                       (written under srv->mu) */
    pthread_t thread;
    int finished;                   /* [srv->mu] thread is ending */
    struct sshtun_channel *ch;      /* [srv->mu] stdio channel, or NULL */
    struct mux_client *next;        /* [srv->mu] */
};

struct muxserver {
    sshtun_session *sess;
    struct muxserver_hooks hooks;
    char path[CTLPATH_MAX + 1];
    int lfd;                        /* listening socket */
    int listening;                  /* [mu] the path is ours and served */
    int stop_pipe[2];
    pthread_t accept_thread;
    pthread_mutex_t mu;
    struct mux_client *clients;     /* [mu] */
    int nclients;                   /* [mu] */
    int stopping;                   /* [mu] */
    pthread_mutex_t ops_mu;         /* forward changes and statistics */
};

/* Whether path is a stale socket. */
int muxserver_path_stale(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)
        || strlen(path) >= sizeof sa.sun_path)
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    rc = rc < 0 && errno == ECONNREFUSED ? 1 : 0;
    close(fd);
    return rc;
}

/* A temporary name in path's directory, no longer than path allows. */
static int temp_name(const char *path, char *tmp, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    unsigned r = (unsigned)getpid() * 2654435761u ^ (unsigned)clock_now_ms();
    int n = snprintf(tmp, size, "%.*s.sshtun%08x", dirlen, path, r);

    return n < 0 || (size_t)n >= size || n > CTLPATH_MAX ? -1 : 0;
}

/* Bind a socket at a temporary name with mode 0600 from the start, then
 * link it into place: the path never exists with wider permissions. */
static int bind_socket(const char *path, int replace_stale, sshtun_error *err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char tmp[sizeof sa.sun_path];
    mode_t old;
    int fd, rc;

    if (strlen(path) > CTLPATH_MAX || temp_name(path, tmp, sizeof tmp))
        return error_set(err, SSHTUN_ERR_INVAL, "ControlPath '%.200s' too "
                         "long: a Unix socket path holds at most %d bytes",
                         path, CTLPATH_MAX);
    memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return error_set(err, SSHTUN_ERR_IO, "socket: %s", strerror(errno));
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(fd, 64) < 0) {
        error_set(err, SSHTUN_ERR_BIND, "control socket %s: %s", tmp,
                  strerror(errno));
        close(fd);
        return err->code;
    }
    rc = link(tmp, path);
    if (rc < 0 && errno == EEXIST && replace_stale
        && muxserver_path_stale(path) == 1 && unlink(path) == 0)
        rc = link(tmp, path);
    if (rc < 0) {
        error_set(err, SSHTUN_ERR_BIND, "control socket %s: %s", path,
                  errno == EEXIST ? "already exists (another master is "
                  "running, or remove the stale socket)" : strerror(errno));
        unlink(tmp);
        close(fd);
        return err->code;
    }
    unlink(tmp);
    return fd;
}

/* Send a reply with a request id and a reason text. */
static int reply_text(int fd, uint32_t type, uint32_t rid, const char *text)
{
    struct mux_msg r = { .type = type, .rid = rid, .text = text,
                         .text_len = strlen(text) };

    return muxio_send(fd, &r);
}

/* Send a reply with a request id and a number. */
static int reply_value(int fd, uint32_t type, uint32_t rid, uint32_t value)
{
    struct mux_msg r = { .type = type, .rid = rid, .value = value };

    return muxio_send(fd, &r);
}

/* Append "host" to a spec, bracketed when it is an IPv6 address. */
static void spec_host(char *spec, size_t size, const char *host)
{
    size_t len = strlen(spec);

    snprintf(spec + len, size - len, strchr(host, ':') ? "[%s]" : "%s",
             host);
}

/* Build the -L/-R/-D spec a forward request stands for. */
static int spec_from_msg(const struct mux_msg *m, char *spec, size_t size)
{
    int has_connect = m->fwd_type != MUX_FWD_DYNAMIC
                      && (m->connect_host[0] || m->connect_port);

    spec[0] = '\0';
    if (m->listen_port == MUX_PORT_PATH) {
        spec_host(spec, size, m->listen_host);
    } else {
        if (m->listen_port > 65535)
            return -1;
        if (m->listen_host[0]) {
            spec_host(spec, size, m->listen_host);
            strncat(spec, ":", size - strlen(spec) - 1);
        }
        snprintf(spec + strlen(spec), size - strlen(spec), "%u",
                 m->listen_port);
    }
    if (m->fwd_type == MUX_FWD_LOCAL && !has_connect)
        return -1;
    if (has_connect) {
        strncat(spec, ":", size - strlen(spec) - 1);
        spec_host(spec, size, m->connect_host);
        if (m->connect_port != MUX_PORT_PATH) {
            if (m->connect_port < 1 || m->connect_port > 65535)
                return -1;
            snprintf(spec + strlen(spec), size - strlen(spec), ":%u",
                     m->connect_port);
        }
    }
    return strlen(spec) + 1 >= size ? -1 : 0;
}

/* Parse a spec of either shape into fs. */
static int spec_parse(const char *spec, int dynamic, struct fwdspec *fs)
{
    memset(fs, 0, sizeof *fs);
    if (!dynamic && fwdspec_parse_local(spec, fs, NULL) == 0)
        return 0;
    memset(fs, 0, sizeof *fs);
    return fwdspec_parse_dynamic(spec, fs, NULL);
}

/* What a forward request is matched against. */
struct fwd_match {
    uint32_t type;
    struct fwdspec want;
    int found;
    int port;                       /* the found one's */
};

/* forward_each callback: the same kind and the same spec fields. */
static int match_forward(struct sshtun_forward *f, const char *kind,
                         const char *spec, void *arg)
{
    struct fwd_match *mt = arg;
    struct fwdspec have;
    int kind_ok = mt->type == MUX_FWD_LOCAL ? !strcmp(kind, "local")
                  : mt->type == MUX_FWD_DYNAMIC ? !strcmp(kind, "dynamic")
                  : !strncmp(kind, "remote", 6);

    if (!kind_ok || spec_parse(spec, mt->type == MUX_FWD_DYNAMIC, &have))
        return 0;
    if (have.has_bind != mt->want.has_bind
        || (have.has_bind && strcmp(have.bind, mt->want.bind))
        || have.listen_port != mt->want.listen_port
        || strcmp(have.host, mt->want.host) || have.port != mt->want.port
        || strcmp(have.listen_path, mt->want.listen_path)
        || strcmp(have.target_path, mt->want.target_path))
        return 0;
    mt->found = 1;
    mt->port = sshtun_forward_port(f);
    return 1;
}

/* Start the forward a request asks for; returns it or NULL with err. */
static sshtun_forward *start_forward(sshtun_session *s, uint32_t type,
                                     const char *spec, sshtun_error *err)
{
    if (s->forwarding_disabled) {
        error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED, "Port forwarding is "
                  "disabled to avoid man-in-the-middle attacks (the host key "
                  "has changed).");
        return NULL;
    }
    switch (type) {
    case MUX_FWD_LOCAL: return sshtun_forward_local(s, spec, err);
    case MUX_FWD_REMOTE: return sshtun_forward_remote(s, spec, err);
    default: return sshtun_forward_dynamic(s, spec, err);
    }
}

/* MUX_C_OPEN_FWD and MUX_C_CLOSE_FWD. */
static int handle_fwd(struct mux_client *c, const struct mux_msg *m)
{
    struct muxserver *srv = c->srv;
    struct fwd_match mt = { .type = m->fwd_type };
    char spec[2 * MUX_HOST_MAX + 32];
    sshtun_error e;
    sshtun_forward *f;
    int rc = 0;

    if (spec_from_msg(m, spec, sizeof spec)
        || spec_parse(spec, m->fwd_type == MUX_FWD_DYNAMIC, &mt.want))
        return reply_text(c->fd, MUX_S_FAILURE, m->rid, "bad forwarding "
                          "specification");
    pthread_mutex_lock(&srv->ops_mu);
    if (m->type == MUX_C_CLOSE_FWD) {
        rc = forward_close_matching(srv->sess, match_forward, &mt);
        pthread_mutex_unlock(&srv->ops_mu);
        log_msg(srv->sess->opts, SSHTUN_LOG_VERBOSE, "control: %s forward "
                "%s %s", m->fwd_type == MUX_FWD_REMOTE ? "remote" : "local",
                spec, rc ? "not found" : "cancelled");
        return rc ? reply_text(c->fd, MUX_S_FAILURE, m->rid, "port not "
                               "forwarded")
                  : reply_value(c->fd, MUX_S_OK, m->rid, 0);
    }
    forward_each(srv->sess, match_forward, &mt);
    f = NULL;
    if (mt.found) {
        rc = mt.port;
    } else if ((f = start_forward(srv->sess, m->fwd_type, spec, &e))) {
        rc = sshtun_forward_port(f);
        forward_release(f);         /* the session owns it now */
    }
    pthread_mutex_unlock(&srv->ops_mu);
    if (!mt.found && !f)
        return reply_text(c->fd, e.code == SSHTUN_ERR_HOSTKEY_CHANGED
                                     ? MUX_S_PERMISSION_DENIED : MUX_S_FAILURE,
                          m->rid, e.msg);
    log_msg(srv->sess->opts, SSHTUN_LOG_INFO, "control: forward %s %s",
            spec, mt.found ? "already running" : "started");
    if (m->fwd_type == MUX_FWD_REMOTE && m->listen_port == 0)
        return reply_value(c->fd, MUX_S_REMOTE_PORT, m->rid, (uint32_t)rc);
    return reply_value(c->fd, MUX_S_OK, m->rid, 0);
}

/* Set or clear the client's stdio channel; 1 if the server is stopping. */
static int set_channel(struct mux_client *c, struct sshtun_channel *ch)
{
    int stopping;

    pthread_mutex_lock(&c->srv->mu);
    c->ch = ch;
    stopping = c->srv->stopping;
    pthread_mutex_unlock(&c->srv->mu);
    return stopping;
}

/* Open the stdio forward's channel; NULL with err. */
static struct sshtun_channel *open_stdio(struct mux_client *c,
                                         const struct mux_msg *m,
                                         sshtun_error *err)
{
    const sshtun_options *o = c->srv->sess->opts;
    struct sshtun_channel *ch;

    if (m->connect_port < 1 || m->connect_port > 65535) {
        error_set(err, SSHTUN_ERR_INVAL, "bad port %u", m->connect_port);
        return NULL;
    }
    ch = chanopen_direct_start(c->srv->sess, m->connect_host,
                               (int)m->connect_port, NULL, 0, err);
    if (!ch)
        return NULL;
    if (set_channel(c, ch))
        channel_abort(ch);
    if (chanopen_wait(ch, o->connect_timeout > 0 ? o->connect_timeout * 1000
                                                  : 60000, err) == 0)
        return ch;
    set_channel(c, NULL);
    sshtun_close(ch);
    return NULL;
}

/* MUX_C_NEW_STDIO_FWD: the client's stdin and stdout joined to a
 * channel.  Ends the client's connection when done (ssh waits for that). */
static int handle_stdio(struct mux_client *c, const struct mux_msg *m)
{
    int in_fd = muxio_recv_fd(c->fd), out_fd = -1, out_is_sock = 0;
    struct sshtun_channel *ch = NULL;
    sshtun_error e;
    socklen_t len = sizeof out_is_sock;

    if (in_fd >= 0)
        out_fd = muxio_recv_fd(c->fd);
    if (out_fd >= 0)
        out_is_sock = getsockopt(out_fd, SOL_SOCKET, SO_TYPE, &out_is_sock,
                                 &len) == 0;
    if (out_fd < 0)
        reply_text(c->fd, MUX_S_FAILURE, m->rid, "did not receive the "
                   "client's descriptors");
    else if (!(ch = open_stdio(c, m, &e)))
        reply_text(c->fd, MUX_S_FAILURE, m->rid, e.msg);
    else if (reply_value(c->fd, MUX_S_SESSION_OPENED, m->rid, 1) == 0) {
        if (bridge_run(ch, in_fd, out_fd, &e))
            log_msg(c->srv->sess->opts, SSHTUN_LOG_VERBOSE, "control: stdio "
                    "forward to %s:%u: %s", m->connect_host, m->connect_port,
                    e.msg);
        if (!out_is_sock)
            out_fd = -1;            /* closed by bridge_run */
    }
    if (ch) {
        set_channel(c, NULL);
        sshtun_close(ch);
    }
    if (in_fd >= 0)
        close(in_fd);
    if (out_fd >= 0)
        close(out_fd);
    return -1;
}

/* Take (and close) the descriptors a refused session request carries, so
 * the client is not cut off while sending them; bounded in time. */
static void drain_fds(int fd, int count)
{
    for (int i = 0; i < count; i++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int got;
        if (poll(&p, 1, 2000) <= 0 || (got = muxio_recv_fd(fd)) < 0)
            return;
        close(got);
    }
}

/* MUX_C_STATS. */
static int handle_stats(struct mux_client *c, const struct mux_msg *m)
{
    char *text = malloc(STATS_TEXT_MAX);
    int rc;

    if (!text)
        return reply_text(c->fd, MUX_S_FAILURE, m->rid, "out of memory");
    muxserver_stats(c->srv, (int)m->value, text, STATS_TEXT_MAX);
    rc = reply_text(c->fd, MUX_S_STATS, m->rid, text);
    free(text);
    return rc;
}

static void stop_listening(struct muxserver *srv);

/* Answer one request.  Returns 0 to go on, -1 to end the connection. */
static int dispatch(struct mux_client *c, const struct mux_msg *m)
{
    switch (m->type) {
    case MUX_C_ALIVE_CHECK:
        return reply_value(c->fd, MUX_S_ALIVE, m->rid, (uint32_t)getpid());
    case MUX_C_TERMINATE:
        if (reply_value(c->fd, MUX_S_OK, m->rid, 0) == 0)
            log_msg(c->srv->sess->opts, SSHTUN_LOG_INFO, "control: exit "
                    "requested");
        c->srv->hooks.terminate(c->srv->hooks.arg);
        return 0;
    case MUX_C_STOP_LISTENING:
        stop_listening(c->srv);
        return reply_value(c->fd, MUX_S_OK, m->rid, 0);
    case MUX_C_OPEN_FWD: case MUX_C_CLOSE_FWD:
        return handle_fwd(c, m);
    case MUX_C_NEW_STDIO_FWD:
        return handle_stdio(c, m);
    case MUX_C_STATS:
        return handle_stats(c, m);
    case MUX_C_NEW_SESSION:
        drain_fds(c->fd, 3);        /* stdin, stdout, stderr follow */
        reply_text(c->fd, MUX_S_FAILURE, m->rid, "sshtun runs no commands "
                   "or shells: use -O forward, -O cancel or -W");
        return -1;
    case MUX_C_PROXY:
        return reply_text(c->fd, MUX_S_FAILURE, m->rid, "proxy mode is not "
                          "supported by sshtun");
    default:
        return reply_text(c->fd, MUX_S_FAILURE, m->rid, "unsupported "
                          "multiplexing request");
    }
}

/* Client thread: hello, then requests until the client goes. */
static void *client_main(void *arg)
{
    struct mux_client *c = arg;
    const sshtun_options *o = c->srv->sess->opts;
    struct mux_msg hello = { .type = MUX_MSG_HELLO, .version = MUX_VERSION,
                             .has_stats_ext = 1 };
    int said_hello = 0;

    if (muxio_send(c->fd, &hello) == 0)
        for (;;) {
            struct mux_msg m;
            unsigned char *body;
            char err[200];
            int rc = muxio_read(c->fd, &m, &body, -1, err, sizeof err);

            if (rc && err[0])
                log_msg(o, SSHTUN_LOG_ERROR, "control: %s", err);
            else if (!rc && !said_hello && (m.type != MUX_MSG_HELLO
                                            || m.version != MUX_VERSION)) {
                log_msg(o, SSHTUN_LOG_ERROR, "control: expected hello "
                        "version %d, got %s", MUX_VERSION,
                        muxmsg_type_name(m.type));
                rc = -1;
            } else if (!rc) {
                rc = said_hello ? dispatch(c, &m) : 0;
                said_hello = 1;
            }
            free(body);
            if (rc)
                break;
        }
    /* Closed now, not when reaped: the client waits for it, and
     * descriptors still queued in the socket (a refused session's) stay
     * open until it is closed. */
    pthread_mutex_lock(&c->srv->mu);
    close(c->fd);
    c->fd = -1;
    c->finished = 1;
    pthread_mutex_unlock(&c->srv->mu);
    return NULL;
}

/* Join and free clients whose thread has ended (all when all is set). */
static void reap_clients(struct muxserver *srv, int all)
{
    for (;;) {
        struct mux_client **pp, *c = NULL;

        pthread_mutex_lock(&srv->mu);
        for (pp = &srv->clients; *pp; pp = &(*pp)->next)
            if (all || (*pp)->finished) {
                c = *pp;
                *pp = c->next;
                srv->nclients--;
                break;
            }
        pthread_mutex_unlock(&srv->mu);
        if (!c)
            return;
        pthread_join(c->thread, NULL);
        if (c->fd >= 0)
            close(c->fd);
        free(c);
    }
}

/* Whether the peer is this user or root. */
static int peer_allowed(struct muxserver *srv, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    if (cred.uid == 0 || cred.uid == getuid())
        return 1;
    log_msg(srv->sess->opts, SSHTUN_LOG_ERROR, "control: connection from "
            "uid %u refused (only uid %u and root may use %s)",
            (unsigned)cred.uid, (unsigned)getuid(), srv->path);
    return 0;
}

/* Accept one client and start its thread. */
static void accept_client(struct muxserver *srv)
{
    int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
    struct mux_client *c;

    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE)
            poll(NULL, 0, 100);
        return;
    }
    reap_clients(srv, 0);
    if (!peer_allowed(srv, fd) || !(c = calloc(1, sizeof *c))) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    pthread_mutex_lock(&srv->mu);
    if (srv->nclients >= MUX_MAX_CLIENTS
        || pthread_create(&c->thread, NULL, client_main, c)) {
        pthread_mutex_unlock(&srv->mu);
        log_msg(srv->sess->opts, SSHTUN_LOG_ERROR, "control: too many "
                "clients");
        close(fd);
        free(c);
        return;
    }
    c->next = srv->clients;
    srv->clients = c;
    srv->nclients++;
    pthread_mutex_unlock(&srv->mu);
}

/* Accept thread. */
static void *accept_main(void *arg)
{
    struct muxserver *srv = arg;

    for (;;) {
        struct pollfd p[2] = { { .fd = srv->lfd, .events = POLLIN },
                               { .fd = srv->stop_pipe[0], .events = POLLIN } };
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN)
            accept_client(srv);
    }
    return NULL;
}

/* Stop accepting and remove the socket (once).  The listening socket
 * itself is closed after the accept thread is joined. */
static void stop_listening(struct muxserver *srv)
{
    int was;

    pthread_mutex_lock(&srv->mu);
    was = srv->listening;
    srv->listening = 0;
    pthread_mutex_unlock(&srv->mu);
    if (!was)
        return;
    if (write(srv->stop_pipe[1], "x", 1) != 1)
        shutdown(srv->lfd, SHUT_RDWR);
    unlink(srv->path);
}

/* Start serving. */
struct muxserver *muxserver_start(sshtun_session *s, const char *path,
                                  int replace_stale,
                                  const struct muxserver_hooks *hooks,
                                  sshtun_error *err)
{
    struct muxserver *srv = calloc(1, sizeof *srv);
    int fd;

    if (!srv) {
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if ((fd = bind_socket(path, replace_stale, err)) < 0) {
        free(srv);
        return NULL;
    }
    srv->sess = s;
    srv->hooks = *hooks;
    srv->lfd = fd;
    srv->listening = 1;
    snprintf(srv->path, sizeof srv->path, "%s", path);
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->ops_mu, NULL);
    if (pipe2(srv->stop_pipe, O_CLOEXEC) < 0
        || pthread_create(&srv->accept_thread, NULL, accept_main, srv)) {
        error_set(err, SSHTUN_ERR_IO, "cannot start the control socket: %s",
                  strerror(errno));
        unlink(path);
        close(fd);
        pthread_mutex_destroy(&srv->mu);
        pthread_mutex_destroy(&srv->ops_mu);
        free(srv);
        return NULL;
    }
    log_msg(s->opts, SSHTUN_LOG_VERBOSE, "control socket listening on %s",
            path);
    return srv;
}

/* Statistics, serialised with forward changes. */
size_t muxserver_stats(struct muxserver *m, int format, char *buf,
                       size_t size)
{
    size_t n;

    pthread_mutex_lock(&m->ops_mu);
    n = format == 1 ? statsfmt_table(m->sess, buf, size)
                    : statsfmt_json(m->sess, buf, size);
    pthread_mutex_unlock(&m->ops_mu);
    return n;
}

/* Stop everything and free. */
void muxserver_stop(struct muxserver *srv)
{
    if (!srv)
        return;
    stop_listening(srv);
    pthread_join(srv->accept_thread, NULL);
    close(srv->lfd);
    pthread_mutex_lock(&srv->mu);
    srv->stopping = 1;
    for (struct mux_client *c = srv->clients; c; c = c->next) {
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
        if (c->ch)
            channel_abort(c->ch);
    }
    pthread_mutex_unlock(&srv->mu);
    reap_clients(srv, 1);
    close(srv->stop_pipe[0]);
    close(srv->stop_pipe[1]);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->ops_mu);
    free(srv);
}
