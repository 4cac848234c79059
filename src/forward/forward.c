/*
 * forward.c - the machinery every forward kind shares (see forward.h).
 *
 * Threads: one accept thread per forward; per client a reader thread
 * (which runs the kind's connect step and reaps the writer) and a writer
 * thread, both with small stacks.  Closing a forward shuts down every
 * client socket and aborts every channel, which unblocks both threads of
 * each connection, then waits for them to finish.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/channel.h"
#include "engine/chanopen.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fdreserve.h"
#include "base/fdio.h"
#include "base/workers.h"
#include "forward/forward.h"
#include "forward/listener.h"
#include "base/log.h"
#include "config/options.h"
#include "engine/remote.h"
#include "engine/session.h"
#include "engine/stats.h"
#include "socks/socks_server.h"

#define OPEN_TIMEOUT_DEFAULT_MS 60000

/* A forward's counters (sshtun_forward_stats reads them). */
struct fwd_counters {
    uint64_t conns_total;
    uint64_t bytes_up;
    uint64_t bytes_down;
    uint64_t open_failed[SSHTUN_OPEN_FAILURE_KINDS];
    struct socks_counters socks;
};

struct forward_conn {
    struct sshtun_forward *fwd;
    int fd;
    char peer[80];
    struct sshtun_channel *ch;      /* [fwd->mu] once requested */
    int handshaking;                /* [fwd->mu] counted in nhandshakes */
    int writer_done;                /* [fwd->mu] the writer has finished */
    pthread_cond_t writer_cv;       /* signalled when it has */
    struct forward_conn *prev, *next;   /* [fwd->mu] */
};

struct sshtun_forward {
    struct sshtun_session *sess;
    const struct forward_kind *kind;
    void *cfg;
    struct listener lst;            /* local kinds */
    sshtun_listener *rl;            /* remote kinds */
    int remote_port;
    int accept_stopped;             /* accept thread joined */
    int stop_pipe[2];
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* a connection ended */
    struct forward_conn *conns;             /* [mu] */
    int nconns;                     /* [mu] */
    int nhandshakes;                /* [mu] conns still in kind->connect */
    int no_accept;                  /* [mu] accepting is being stopped */
    int64_t full_logged_ms;         /* [mu] last "at the limit" line */
    int stopping;                   /* [mu] */
    int refs;                       /* [mu] the user's handle, the hook */
    int closed_by_session;          /* [mu] the hook has closed it */
    struct session_hook hook;       /* the session tells us it closes */
    char spec[320];                 /* as started; "" until set */
    struct sshtun_forward *reg_next;    /* [registry_mu] */
    struct fwd_counters count;      /* atomic adds, no lock */
};

/* Writer: channel -> client.  EOF from the server becomes SHUT_WR. */
static void *writer_main(void *arg)
{
    struct forward_conn *c = arg;
    struct chunk *k;
    int rc;

    while ((rc = channel_recv_chunk(c->ch, &k, NULL)) == 1) {
        int bad = fdio_send_all(c->fd, k->data + k->off, k->len - k->off);
        if (!bad)
            stats_add(&c->fwd->count.bytes_down, k->len - k->off);
        chunk_put(k);
        if (bad) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        shutdown(c->fd, SHUT_WR);
        channel_wait_closed(c->ch);    /* the client may still be sending */
    } else {
        channel_abort(c->ch);          /* client gone or channel failed */
    }
    shutdown(c->fd, SHUT_RDWR);     /* wakes the reader */
    pthread_mutex_lock(&c->fwd->mu);
    c->writer_done = 1;
    pthread_cond_signal(&c->writer_cv);
    pthread_mutex_unlock(&c->fwd->mu);
    return NULL;
}

/* Wait for the connection's writer to finish. */
static void wait_writer(struct forward_conn *c)
{
    pthread_mutex_lock(&c->fwd->mu);
    while (!c->writer_done)
        pthread_cond_wait(&c->writer_cv, &c->fwd->mu);
    pthread_mutex_unlock(&c->fwd->mu);
}

/* Reader loop: client -> channel.  Client EOF becomes channel EOF. */
static void pump_client(struct forward_conn *c)
{
    int drained = 0;

    for (;;) {
        struct chunk *k;
        ssize_t n;

        /* A short read drained the socket: wait in poll() first rather
         * than pay for a recv that would only say EAGAIN.  Either way a
         * chunk is held only while there is data.  Out of memory (for
         * poll's table or a chunk): drop the connection, both ways. */
        if (drained) {
            struct pollfd p = { .fd = c->fd, .events = POLLIN };
            if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                channel_abort(c->ch);
                break;
            }
        }
        if (!(k = chunk_get())) {
            channel_abort(c->ch);
            break;
        }
        n = recv(c->fd, k->data, CHUNK_SIZE, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK
                      || errno == EINTR)) {
            chunk_put(k);
            drained = 1;
            continue;
        }
        if (n <= 0) {
            chunk_put(k);
            if (n == 0)
                sshtun_shutdown(c->ch);
            else
                channel_abort(c->ch);  /* reset by the client */
            break;
        }
        k->len = (size_t)n;
        stats_add(&c->fwd->count.bytes_up, (uint64_t)n);
        drained = (size_t)n < CHUNK_SIZE;
        if (channel_send_chunk(c->ch, k, NULL))
            break;
    }
}

/* Unlink a connection and signal the forward. */
static void conn_done(struct forward_conn *c)
{
    struct sshtun_forward *f = c->fwd;

    pthread_mutex_lock(&f->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        f->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    f->nconns--;
    if (c->handshaking)
        f->nhandshakes--;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (c->fd >= 0)
        close(c->fd);
    pthread_cond_destroy(&c->writer_cv);
    free(c);
}

/* Give a connection its local socket (remote kinds connect it late). */
void forward_conn_set_fd(struct forward_conn *c, int fd)
{
    pthread_mutex_lock(&c->fwd->mu);
    c->fd = fd;
    if (c->fwd->stopping)
        shutdown(fd, SHUT_RDWR);
    pthread_mutex_unlock(&c->fwd->mu);
}

/* The channel a remote kind's connection arrived on. */
struct sshtun_channel *forward_conn_channel(const struct forward_conn *c)
{
    return c->ch;
}

/* The connection's socket. */
int forward_conn_fd(const struct forward_conn *c)
{
    return c->fd;
}

/* The client's address. */
const char *forward_conn_peer(const struct forward_conn *c)
{
    return c->peer;
}

/* The connection's forward. */
struct sshtun_forward *forward_conn_forward(const struct forward_conn *c)
{
    return c->fwd;
}

/* The connection's session. */
struct sshtun_session *forward_conn_session(const struct forward_conn *c)
{
    return c->fwd->sess;
}

/* A forward's kind-specific configuration. */
void *forward_cfg(struct sshtun_forward *f)
{
    return f->cfg;
}

/* Open a channel for the client (to host:port, or to the server-side
 * socket path when host is NULL), cancellable by forward_stop. */
static struct sshtun_channel *conn_open(struct forward_conn *c,
                                        const char *host, int port,
                                        const char *path, sshtun_error *err)
{
    struct sshtun_forward *f = c->fwd;
    const sshtun_options *o = f->sess->opts;
    struct sshtun_channel *ch;
    char *colon, orig[80];
    int orig_port = 0, stopping;

    snprintf(orig, sizeof orig, "%s", c->peer[0] == '[' ? c->peer + 1
                                                        : c->peer);
    if ((colon = strrchr(orig, ':'))) {
        orig_port = atoi(colon + 1);
        *colon = '\0';
        if (colon > orig && colon[-1] == ']')
            colon[-1] = '\0';
    } else {
        snprintf(orig, sizeof orig, "127.0.0.1");   /* a Unix socket client */
    }
    if (path)
        ch = chanopen_streamlocal_start(f->sess, path, err);
    else
        ch = chanopen_direct_start(f->sess, host, port, orig, orig_port,
                                   err);
    if (!ch)
        return NULL;
    pthread_mutex_lock(&f->mu);
    c->ch = ch;
    stopping = f->stopping;
    pthread_mutex_unlock(&f->mu);
    if (stopping)
        channel_abort(ch);
    if (chanopen_wait(ch, o->connect_timeout > 0 ? o->connect_timeout * 1000
                                                  : OPEN_TIMEOUT_DEFAULT_MS,
                       err) == 0)
        return ch;
    forward_count_open_failure(f, err->code);
    pthread_mutex_lock(&f->mu);
    c->ch = NULL;
    pthread_mutex_unlock(&f->mu);
    sshtun_close(ch);
    return NULL;
}

/* Count a failed open (or a failed local connect of a remote kind) by
 * its SSHTUN_ERR_* code. */
void forward_count_open_failure(struct sshtun_forward *f, int code)
{
    int kind;

    switch (code) {
    case SSHTUN_ERR_PROHIBITED: kind = SSHTUN_OPEN_PROHIBITED; break;
    case SSHTUN_ERR_CONNECT_FAILED: case SSHTUN_ERR_CONNECT:
    case SSHTUN_ERR_RESOLVE:
        kind = SSHTUN_OPEN_CONNECT_FAILED;
        break;
    case SSHTUN_ERR_UNKNOWN_TYPE: kind = SSHTUN_OPEN_UNKNOWN_TYPE; break;
    case SSHTUN_ERR_RESOURCE: kind = SSHTUN_OPEN_RESOURCE; break;
    case SSHTUN_ERR_TIMEOUT: kind = SSHTUN_OPEN_TIMEOUT; break;
    default: kind = SSHTUN_OPEN_OTHER; break;
    }
    stats_add(&f->count.open_failed[kind], 1);
}

/* The SOCKS counters of a forward, for its kind's socks_io. */
struct socks_counters *forward_socks_counters(struct sshtun_forward *f)
{
    return &f->count.socks;
}

/* Open a direct-tcpip channel for the client. */
struct sshtun_channel *forward_conn_open(struct forward_conn *c,
                                         const char *host, int port,
                                         sshtun_error *err)
{
    return conn_open(c, host, port, NULL, err);
}

/* Open a direct-streamlocal channel for the client. */
struct sshtun_channel *forward_conn_open_path(struct forward_conn *c,
                                              const char *path,
                                              sshtun_error *err)
{
    return conn_open(c, NULL, 0, path, err);
}

/* Reader thread: connect, start the writer, pump, clean up. */
static void *reader_main(void *arg)
{
    struct forward_conn *c = arg;
    struct sshtun_forward *f = c->fwd;
    struct sshtun_channel *ch = f->kind->connect(c);

    pthread_mutex_lock(&f->mu);
    c->handshaking = 0;             /* room for the next one to start */
    f->nhandshakes--;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (ch) {
        pthread_mutex_lock(&f->mu);
        c->ch = ch;
        pthread_mutex_unlock(&f->mu);
        log_msg(f->sess->opts, SSHTUN_LOG_DEBUG, "Connection from %s "
                "forwarded to %s", c->peer, ch->target);
        if (workers_run(writer_main, c) == 0) {
            pump_client(c);
            wait_writer(c);
        }
    }
    /* Also an accepted channel whose connect step failed. */
    pthread_mutex_lock(&f->mu);
    ch = c->ch;
    c->ch = NULL;
    pthread_mutex_unlock(&f->mu);
    if (ch)
        sshtun_close(ch);
    conn_done(c);
    return NULL;
}

static void start_conn(struct sshtun_forward *f, int fd,
                       struct sshtun_channel *ch, const char *peer);

/* Accept one client and start its reader thread. */
static void accept_one(struct sshtun_forward *f, int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char peer[80];
    int fd = fdreserve_accept4(lfd, (struct sockaddr *)&ss, &len,
                               SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
            /* Out of descriptors: back off instead of spinning on poll. */
            log_msg(f->sess->opts, SSHTUN_LOG_ERROR, "port %d: accept: %s",
                    f->lst.port, strerror(errno));
            poll(NULL, 0, 100);
        }
        return;
    }
    listener_format_sockaddr(&ss, peer, sizeof peer);
    start_conn(f, fd, NULL, peer);
}

/* Register a connection (a client socket, or a channel the server
 * opened) and start its reader thread; takes fd and ch either way. */
static void start_conn(struct sshtun_forward *f, int fd,
                       struct sshtun_channel *ch, const char *peer)
{
    struct forward_conn *c = NULL;

    pthread_mutex_lock(&f->mu);
    if (f->nconns >= options_max_connections(f->sess->opts) || f->stopping
        || !(c = calloc(1, sizeof *c))) {
        int say = !f->stopping && clock_now_ms() - f->full_logged_ms >= 1000;
        if (say)
            f->full_logged_ms = clock_now_ms();
        pthread_mutex_unlock(&f->mu);
        if (say)                    /* at most a line a second */
            log_msg(f->sess->opts, SSHTUN_LOG_ERROR, "port %d: cannot take "
                    "another connection (%d open, ForwardMaxConnections "
                    "%d)", sshtun_forward_port(f), f->nconns,
                    options_max_connections(f->sess->opts));
        if (fd >= 0)
            close(fd);
        if (ch)
            sshtun_close(ch);
        return;
    }
    c->fwd = f;
    pthread_cond_init(&c->writer_cv, NULL);
    c->fd = fd;
    c->ch = ch;
    c->handshaking = 1;
    f->nhandshakes++;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->next = f->conns;
    if (f->conns)
        f->conns->prev = c;
    f->conns = c;
    f->nconns++;
    pthread_mutex_unlock(&f->mu);
    stats_add(&f->count.conns_total, 1);
    if (workers_run(reader_main, c)) {
        log_msg(f->sess->opts, SSHTUN_LOG_ERROR, "cannot start a thread "
                "for %s", c->peer);
        if (ch)
            sshtun_close(ch);
        conn_done(c);
    }
}

/* Accept threads: while ForwardMaxHandshakes connections are still in
 * their handshake, take no more (they wait in the listen backlog, or in
 * the remote listener's queue).  Each handshake has a deadline, so the
 * pause is bounded.  Returns 0, or -1 when accepting is being stopped. */
static int wait_handshake_room(struct sshtun_forward *f)
{
    int max = options_max_handshakes(f->sess->opts), rc;

    pthread_mutex_lock(&f->mu);
    if (f->nhandshakes >= max && !f->no_accept
        && clock_now_ms() - f->full_logged_ms >= 1000) {
        f->full_logged_ms = clock_now_ms();
        log_msg(f->sess->opts, SSHTUN_LOG_VERBOSE, "port %d: %d handshakes "
                "in progress (ForwardMaxHandshakes): accepting paused",
                sshtun_forward_port(f), f->nhandshakes);
    }
    while (f->nhandshakes >= max && !f->no_accept)
        pthread_cond_wait(&f->cv, &f->mu);
    rc = f->no_accept ? -1 : 0;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* Accept thread of a remote kind: take the channels the server opens. */
static void *accept_remote_main(void *arg)
{
    struct sshtun_forward *f = arg;

    for (;;) {
        sshtun_error err;
        struct sshtun_channel *ch;
        char peer[64];

        if (wait_handshake_room(f))
            break;
        ch = sshtun_accept(f->rl, -1, &err);

        if (!ch)
            break;                  /* listener closed or session lost */
        snprintf(peer, sizeof peer, "remote port %d", f->remote_port);
        start_conn(f, -1, ch, peer);
    }
    return NULL;
}

/* Accept thread: wait on the listeners and the stop pipe. */
static void *accept_main(void *arg)
{
    struct sshtun_forward *f = arg;
    struct pollfd p[LISTENER_MAX_FDS + 1];
    int n = f->lst.nfds;

    for (int i = 0; i < n; i++) {
        p[i].fd = f->lst.fds[i];
        p[i].events = POLLIN;
    }
    p[n].fd = f->stop_pipe[0];
    p[n].events = POLLIN;
    for (;;) {
        if (wait_handshake_room(f))
            break;
        if (poll(p, (nfds_t)n + 1, -1) < 0) {
            /* Out of memory, say: listeners stay open, so keep serving
             * them (after a pause); only the stop pipe ends this. */
            if (errno != EINTR) {
                log_msg(f->sess->opts, SSHTUN_LOG_ERROR, "port %d: poll: "
                        "%s", sshtun_forward_port(f), strerror(errno));
                poll(NULL, 0, 100);
            }
            continue;
        }
        if (p[n].revents)
            break;
        for (int i = 0; i < n; i++)
            if (p[i].revents & POLLIN)
                accept_one(f, p[i].fd);
    }
    return NULL;
}

static void registry_remove(struct sshtun_forward *f);

/* Free a forward's resources (threads already ended). */
static void forward_free(struct sshtun_forward *f)
{
    registry_remove(f);
    if (f->rl)
        sshtun_listener_close(f->rl);
    if (f->cfg && f->kind->free_cfg)
        f->kind->free_cfg(f->cfg);
    listener_close(&f->lst);
    if (f->stop_pipe[0] >= 0)
        close(f->stop_pipe[0]);
    if (f->stop_pipe[1] >= 0)
        close(f->stop_pipe[1]);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

static void forward_stop(struct sshtun_forward *f);
static void hook_stop(void *arg);
static void hook_close(void *arg);

/* Bind and start a forward of any kind. */
struct sshtun_forward *forward_start(struct sshtun_session *s,
                                     const struct forward_kind *kind, void *cfg,
                                     const char *bind_addr, int port,
                                     const char *path, sshtun_listener *rl,
                                     sshtun_error *err)
{
    struct sshtun_forward *f = calloc(1, sizeof *f);

    if (!f) {
        if (rl)
            sshtun_listener_close(rl);
        if (kind->free_cfg)
            kind->free_cfg(cfg);
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    f->sess = s;
    f->kind = kind;
    f->cfg = cfg;
    f->stop_pipe[0] = f->stop_pipe[1] = -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (rl) {
        f->rl = rl;
        f->remote_port = sshtun_listener_port(rl);
    } else if (path) {
        if (listener_open_unix(&f->lst, path, err)) {
            forward_free(f);
            return NULL;
        }
    } else if (listener_open(&f->lst, bind_addr, port,
                             options_flag(s->opts->gateway_ports),
                             s->opts->address_family, err)) {
        forward_free(f);
        return NULL;
    }
    if (f->lst.warning[0])
        log_msg(s->opts, SSHTUN_LOG_ERROR, "%s", f->lst.warning);
    if ((!rl && pipe2(f->stop_pipe, O_CLOEXEC) < 0)
        || pthread_create(&f->accept_thread, NULL,
                          rl ? accept_remote_main : accept_main, f)) {
        error_set(err, SSHTUN_ERR_IO, "cannot start forward: %s",
                  strerror(errno));
        forward_free(f);
        return NULL;
    }
    f->refs = 2;                    /* the user's handle + the hook */
    f->hook.stop = hook_stop;
    f->hook.close = hook_close;
    f->hook.arg = f;
    if (session_hook_add(s, &f->hook, err)) {
        forward_stop(f);
        forward_free(f);
        return NULL;
    }
    error_clear(err);
    return f;
}

/* The port a forward listens on (on the server for remote kinds). */
int sshtun_forward_port(sshtun_forward *f)
{
    return !f ? -1 : f->rl ? f->remote_port : f->lst.port;
}

/* Stop accepting: end the accept thread and close the listeners (once). */
static void forward_stop_accepting(struct sshtun_forward *f)
{
    char b = 1;

    if (f->accept_stopped)
        return;
    f->accept_stopped = 1;
    pthread_mutex_lock(&f->mu);
    f->no_accept = 1;               /* ends a wait_handshake_room */
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (f->rl) {
        remote_listener_cancel(f->rl);  /* ends the accept thread */
    } else {
        ssize_t n = write(f->stop_pipe[1], &b, 1);
        (void)n;
    }
    pthread_join(f->accept_thread, NULL);
    listener_close(&f->lst);
}

/* End every connection of a forward that no longer accepts. */
static void forward_stop(struct sshtun_forward *f)
{
    struct forward_conn *c;

    forward_stop_accepting(f);
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    for (c = f->conns; c; c = c->next) {
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
        if (c->ch)
            channel_abort(c->ch);
    }
    while (f->nconns > 0)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

/* Drop a reference (the user's handle or the session's hook). */
static void forward_put(struct sshtun_forward *f)
{
    int left;

    pthread_mutex_lock(&f->mu);
    left = --f->refs;
    pthread_mutex_unlock(&f->mu);
    if (left == 0)
        forward_free(f);
}

/* The session closes: first stop accepting (its connections still run). */
static void hook_stop(void *arg)
{
    forward_stop_accepting(arg);
}

/* The session's connections have ended: end ours, drop the hook's
 * reference (the user's handle may still hold the forward). */
static void hook_close(void *arg)
{
    struct sshtun_forward *f = arg;

    forward_stop(f);
    pthread_mutex_lock(&f->mu);
    f->closed_by_session = 1;
    pthread_mutex_unlock(&f->mu);
    forward_put(f);
}

/* Close one forward started by the caller: before, during or after the
 * session's close, from any thread. */
void sshtun_forward_close(sshtun_forward *f)
{
    struct sshtun_session *s = NULL;

    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    if (!f->closed_by_session) {
        s = f->sess;                /* alive: the hook holds it */
        session_ref(s);
    }
    pthread_mutex_unlock(&f->mu);
    if (s && session_hook_remove(s, &f->hook)) {
        forward_stop(f);
        forward_put(f);             /* the hook's */
    }
    forward_put(f);                 /* the handle's */
    if (s)
        session_unref(s);
}

/* ---------------------------------------------------------------- by spec */

/* Every forward with a spec, of every session, for listing and
 * cancelling by spec (the session does not know its forwards). */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sshtun_forward *registry;     /* [registry_mu] */

/* Unlink f if it was registered. */
static void registry_remove(struct sshtun_forward *f)
{
    pthread_mutex_lock(&registry_mu);
    for (struct sshtun_forward **pp = &registry; *pp; pp = &(*pp)->reg_next)
        if (*pp == f) {
            *pp = f->reg_next;
            break;
        }
    pthread_mutex_unlock(&registry_mu);
}

/* Record the spec a forward was started with, and register it. */
void forward_set_spec(struct sshtun_forward *f, const char *spec)
{
    pthread_mutex_lock(&registry_mu);
    snprintf(f->spec, sizeof f->spec, "%s", spec);
    f->reg_next = registry;
    registry = f;
    pthread_mutex_unlock(&registry_mu);
}

/* Whether the session still runs f (not closed by it or the user). */
static int forward_live(struct sshtun_forward *f)
{
    int live;

    pthread_mutex_lock(&f->mu);
    live = !f->closed_by_session && !f->stopping;
    pthread_mutex_unlock(&f->mu);
    return live;
}

/* Visit the session's live forwards under the registry's lock. */
int forward_each(struct sshtun_session *s,
                 int (*fn)(struct sshtun_forward *f, const char *kind,
                           const char *spec, void *arg),
                 void *arg)
{
    int rc = 0;

    pthread_mutex_lock(&registry_mu);
    for (struct sshtun_forward *f = registry; f && !rc; f = f->reg_next)
        if (f->sess == s && forward_live(f))
            rc = fn(f, f->kind->name, f->spec, arg);
    pthread_mutex_unlock(&registry_mu);
    return rc;
}

/* Find the first matching forward and close it. */
int forward_close_matching(struct sshtun_session *s,
                           int (*match)(struct sshtun_forward *f,
                                        const char *kind, const char *spec,
                                        void *arg),
                           void *arg)
{
    struct sshtun_forward *f;

    pthread_mutex_lock(&registry_mu);
    for (f = registry; f; f = f->reg_next)
        if (f->sess == s && forward_live(f)
            && match(f, f->kind->name, f->spec, arg))
            break;
    if (f) {
        pthread_mutex_lock(&f->mu);
        f->refs++;                  /* ours, while closing it */
        pthread_mutex_unlock(&f->mu);
    }
    pthread_mutex_unlock(&registry_mu);
    if (!f)
        return -1;
    if (session_hook_remove(s, &f->hook)) {
        forward_stop(f);
        forward_put(f);             /* the hook's */
    }
    forward_put(f);                 /* ours */
    return 0;
}

/* Let the session own a forward: the caller's handle is given up. */
void forward_release(struct sshtun_forward *f)
{
    forward_put(f);
}

/* What the connections of f hold now: stalled readers, queued bytes. */
static void conns_snapshot(struct sshtun_forward *f,
                           struct sshtun_forward_stats *v)
{
    pthread_mutex_lock(&f->mu);
    v->conns_open = (uint64_t)f->nconns;
    for (struct forward_conn *c = f->conns; c; c = c->next) {
        if (!c->ch)
            continue;
        pthread_mutex_lock(&c->ch->mu);
        v->queued_bytes += c->ch->in.bytes + c->ch->out.bytes;
        if (c->ch->in_stalled) {
            v->stalled++;
            v->stalled_window += stats_get(&c->ch->in_window);
        }
        pthread_mutex_unlock(&c->ch->mu);
    }
    pthread_mutex_unlock(&f->mu);
}

/* The connections of f whose client has stopped reading: peer, bytes
 * queued for it, the read window left (at most max).  Returns the count
 * filled. */
int forward_stalled(struct sshtun_forward *f, struct forward_stalled_conn *out,
                    int max)
{
    int n = 0;

    pthread_mutex_lock(&f->mu);
    for (struct forward_conn *c = f->conns; c && n < max; c = c->next) {
        if (!c->ch)
            continue;
        pthread_mutex_lock(&c->ch->mu);
        if (c->ch->in_stalled) {
            snprintf(out[n].peer, sizeof out[n].peer, "%s", c->peer);
            out[n].queued = c->ch->in.bytes;
            out[n].window = stats_get(&c->ch->in_window);
            n++;
        }
        pthread_mutex_unlock(&c->ch->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Fill the caller's struct, up to the size it has. */
int sshtun_forward_stats(sshtun_forward *f,
                         struct sshtun_forward_stats *st)
{
    struct sshtun_forward_stats v;
    size_t size;

    if (!f || !st || st->size < offsetof(struct sshtun_forward_stats, kind))
        return SSHTUN_ERR_INVAL;
    size = st->size < sizeof v ? st->size : sizeof v;
    memset(&v, 0, sizeof v);
    v.size = size;
    v.version = SSHTUN_STATS_VERSION;
    snprintf(v.kind, sizeof v.kind, "%s", f->kind->name);
    snprintf(v.spec, sizeof v.spec, "%s", f->spec);
    v.port = sshtun_forward_port(f);
    v.conns_total = stats_get(&f->count.conns_total);
    v.bytes_up = stats_get(&f->count.bytes_up);
    v.bytes_down = stats_get(&f->count.bytes_down);
    for (int i = 0; i < SSHTUN_OPEN_FAILURE_KINDS; i++)
        v.open_failed[i] = stats_get(&f->count.open_failed[i]);
    for (int i = 0; i < 9; i++)
        v.socks_replies[i] = stats_get(&f->count.socks.replies[i]);
    v.handshakes_timed_out = stats_get(&f->count.socks.handshakes_timed_out);
    conns_snapshot(f, &v);
    memcpy(st, &v, size);
    return 0;
}
