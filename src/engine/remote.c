/*
 * remote.c - remote listeners (see remote.h): the caller-side API and the
 * I/O thread's part.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "config/options.h"
#include "engine/chanio.h"
#include "engine/channel.h"
#include "engine/conn.h"
#include "engine/conn_io.h"
#include "engine/remote.h"
#include "engine/session.h"
#include "engine/ssherr.h"

#define LISTEN_ANSWER_MS 60000

/* Drop a reference; free at zero. */
static void listener_unref(struct sshtun_listener *l)
{
    struct sshtun_session *s = l->sess;

    if (__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL))
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->bind);
    if (l->conn)
        conn_unref(l->conn);
    free(l);
    session_unref(s);
}

/* Move to a final state with a reason, wake everyone. */
static void listener_finish(struct sshtun_listener *l, enum listener_state st,
                            int err, const char *msg)
{
    pthread_mutex_lock(&l->mu);
    if (l->state != LS_FAILED && l->state != LS_CLOSED) {
        l->state = st;
        l->err = err;
        snprintf(l->errmsg, sizeof l->errmsg, "%s", msg);
    }
    waitq_wake_all(&l->accept_waiters);
    waitq_wake_all(&l->state_waiters);
    pthread_mutex_unlock(&l->mu);
}

/* Close and drop every channel still queued on the listener. */
static void drain_queue(struct sshtun_listener *l)
{
    struct sshtun_channel *ch;

    pthread_mutex_lock(&l->mu);
    ch = l->q_head;
    l->q_head = l->q_tail = NULL;
    l->q_len = 0;
    pthread_mutex_unlock(&l->mu);
    while (ch) {
        struct sshtun_channel *next = ch->q_next;
        sshtun_close(ch);
        ch = next;
    }
}

/* Hand a new listener to the first connection, which carries remote
 * listeners (and asks for them again after a reconnect). */
static int attach(struct sshtun_session *s, struct sshtun_listener *l,
                  sshtun_error *err)
{
    struct conn *c = NULL;
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->pool.n; i++)
        if (s->pool.conns[i]->primary)
            c = s->pool.conns[i];
    if (s->forwarding_disabled)
        rc = error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED, "forwarding is "
                       "disabled: the host key has changed");
    else if (s->state != SS_UP || s->stop || !c)
        rc = error_set(err, SSHTUN_ERR_SESSION, "session is not up");
    else {
        s->refs++;
        conn_ref(c);
        l->conn = c;
        pthread_mutex_lock(&c->mu);
        l->new_next = c->listeners_new;
        c->listeners_new = l;
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Ask the server to listen on bind:port and wait for its answer. */
sshtun_listener *sshtun_listen_remote(sshtun_session *s, const char *bind,
                                      int port, int *bound_port,
                                      sshtun_error *err)
{
    struct sshtun_listener *l;
    struct timespec ts, *dl;
    int rc = 0;

    if (!s || port < 0 || port > 65535) {
        error_set(err, SSHTUN_ERR_INVAL, "bad remote listen port %d", port);
        return NULL;
    }
    if (!(l = calloc(1, sizeof *l))
        || !(l->bind = strdup(bind && strcmp(bind, "*") ? bind : ""))) {
        free(l);
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    l->sess = s;
    l->port = port;
    l->refs = 2;                    /* caller + I/O thread */
    pthread_mutex_init(&l->mu, NULL);
    if ((rc = attach(s, l, err))) {
        pthread_mutex_destroy(&l->mu);
        free(l->bind);
        free(l);
        return NULL;
    }
    conn_wake(l->conn);

    dl = clock_deadline_after(&ts, LISTEN_ANSWER_MS);
    pthread_mutex_lock(&l->mu);
    while (l->state == LS_REQUESTED)
        if (waitq_wait(&l->state_waiters, &l->mu, dl) == ETIMEDOUT
            && l->state == LS_REQUESTED) {
            rc = error_set(err, SSHTUN_ERR_TIMEOUT, "no answer from the "
                           "server to the remote forward request for port "
                           "%d", port);
            break;
        }
    if (!rc && l->state != LS_ACTIVE)
        rc = error_set(err, l->err ? l->err : SSHTUN_ERR_CLOSED, "%s",
                       l->errmsg);
    if (!rc && bound_port)
        *bound_port = l->bound_port;
    pthread_mutex_unlock(&l->mu);
    if (rc) {
        sshtun_listener_close(l);
        return NULL;
    }
    error_clear(err);
    return l;
}

/* Take the next connection the server forwarded. */
sshtun_channel *sshtun_accept(sshtun_listener *l, int timeout_ms,
                              sshtun_error *err)
{
    struct timespec ts, *dl = clock_deadline_after(&ts, timeout_ms);
    struct sshtun_channel *ch = NULL;

    if (!l) {
        error_set(err, SSHTUN_ERR_INVAL, "no listener");
        return NULL;
    }
    int was_full = 0;

    /* A reference for the duration: sshtun_listener_close may run in
     * another thread meanwhile. */
    __atomic_add_fetch(&l->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (l->q_head && !l->user_closed) {
            was_full = l->q_len >= LISTENER_QUEUE_MAX;
            ch = l->q_head;
            l->q_head = ch->q_next;
            if (!l->q_head)
                l->q_tail = NULL;
            l->q_len--;
            if (l->q_head)
                waitq_wake_one(&l->accept_waiters);
            break;
        }
        if (l->user_closed || (l->state != LS_ACTIVE
                               && !(l->state == LS_REQUESTED && l->bound_port))) {
            error_set(err, l->err ? l->err : SSHTUN_ERR_CLOSED, "%s",
                      l->errmsg[0] ? l->errmsg : "listener closed");
            break;
        }
        if (waitq_wait(&l->accept_waiters, &l->mu, dl) == ETIMEDOUT
            && !l->q_head && !l->user_closed
            && (l->state == LS_ACTIVE || l->state == LS_REQUESTED)) {
            error_set(err, SSHTUN_ERR_TIMEOUT, "no connection within %d ms",
                      timeout_ms);
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    /* The I/O thread stopped accepting at a full queue: room again. */
    if (was_full)
        conn_wake(l->conn);
    listener_unref(l);
    if (ch)
        error_clear(err);
    return ch;
}

/* The port the server listens on. */
int sshtun_listener_port(sshtun_listener *l)
{
    int port;

    if (!l)
        return -1;
    pthread_mutex_lock(&l->mu);
    port = l->bound_port;
    pthread_mutex_unlock(&l->mu);
    return port;
}

/* Cancel the forward; blocked sshtun_accept calls return.  The handle
 * stays valid. */
void remote_listener_cancel(struct sshtun_listener *l)
{
    pthread_mutex_lock(&l->mu);
    l->user_closed = 1;
    waitq_wake_all(&l->accept_waiters);
    waitq_wake_all(&l->state_waiters);
    pthread_mutex_unlock(&l->mu);
    if (l->conn)
        conn_wake(l->conn);
}

/* Cancel the forward and release the handle. */
void sshtun_listener_close(sshtun_listener *l)
{
    if (!l)
        return;
    remote_listener_cancel(l);
    listener_unref(l);
}

/* I/O thread: move newly asked-for listeners onto the I/O list, in
 * request order. */
void remote_take_new(struct conn *c)
{
    struct sshtun_listener *l, *rev = NULL, **tail;

    pthread_mutex_lock(&c->mu);
    l = c->listeners_new;
    c->listeners_new = NULL;
    pthread_mutex_unlock(&c->mu);
    while (l) {                     /* the list was built newest first */
        struct sshtun_listener *next = l->new_next;
        l->new_next = rev;
        rev = l;
        l = next;
    }
    for (tail = &c->io->listeners; *tail; tail = &(*tail)->io_next)
        ;
    for (l = rev; l; l = l->new_next) {
        l->io_next = NULL;
        *tail = l;
        tail = &l->io_next;
    }
}

/* Send the request of a listener at the head of the queue.  Returns 1
 * when decided, 0 while pending, -1 if the session is lost. */
static int request(struct conn *c, struct sshtun_listener *l)
{
    int bound = 0, e;
    char msg[256];

    /* After a reconnect, ask for the port we had (even if it was 0). */
    int port = l->bound_port ? l->bound_port : l->port;

    l->ll = libssh2_channel_forward_listen_ex(c->io->ssh, l->bind, port,
                                              &bound, LIBSSH2_QUEUE_MAX);
    if (l->ll) {
        pthread_mutex_lock(&l->mu);
        l->state = LS_ACTIVE;
        l->bound_port = port ? port : bound;
        l->retry_delay_ms = 0;
        waitq_wake_all(&l->state_waiters);
        waitq_wake_all(&l->accept_waiters);
        pthread_mutex_unlock(&l->mu);
        log_msg(c->sess->opts, SSHTUN_LOG_DEBUG, "remote forward listening on "
                "port %d", l->port ? l->port : bound);
        return 1;
    }
    e = libssh2_session_last_errno(c->io->ssh);
    if (e == LIBSSH2_ERROR_EAGAIN) {
        l->started = 1;
        return 0;
    }
    if (e != LIBSSH2_ERROR_REQUEST_DENIED && e != LIBSSH2_ERROR_PROTO
        && e != LIBSSH2_ERROR_TIMEOUT)
        return -1;
    l->started = 0;
    if (l->bound_port) {
        /* Re-asking after a reconnect: the dead session may still hold
         * the port on the server for a while.  Try again, with backoff. */
        l->retry_delay_ms = l->retry_delay_ms ? l->retry_delay_ms * 2 : 1000;
        if (l->retry_delay_ms > 30000)
            l->retry_delay_ms = 30000;
        l->retry_at = clock_now_ms() + l->retry_delay_ms;
        log_msg(c->sess->opts, SSHTUN_LOG_ERROR, "remote port %d: the server "
                "refused it again (still held by the old connection?); "
                "retrying in %d s", l->bound_port, l->retry_delay_ms / 1000);
        return 1;
    }
    snprintf(msg, sizeof msg, "remote port forwarding failed for listen "
             "port %d: the server refused (%s)", l->port, ssherr_text(c->io->ssh));
    listener_finish(l, LS_FAILED, SSHTUN_ERR_PROHIBITED, msg);
    return 1;
}

/* Accept what the server has opened, up to the queue's bound.  Returns 1
 * on progress, 0, or -1 if the session is lost. */
static int accept_channels(struct conn *c, struct sshtun_listener *l)
{
    long window = options_window_size(c->sess->opts);
    int progress = 0;

    for (;;) {
        LIBSSH2_CHANNEL *lch;
        struct sshtun_channel *ch;
        char target[64];
        int full, e;

        pthread_mutex_lock(&l->mu);
        full = l->q_len >= LISTENER_QUEUE_MAX;
        pthread_mutex_unlock(&l->mu);
        if (full)
            return progress;
        lch = libssh2_channel_forward_accept(l->ll);
        if (!lch) {
            e = libssh2_session_last_errno(c->io->ssh);
            return e == LIBSSH2_ERROR_EAGAIN || e == 0 ? progress : -1;
        }
        libssh2_channel_handle_extended_data2(
            lch, LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE);
        snprintf(target, sizeof target, "remote port %d", l->bound_port);
        ch = channel_new_accepted(c, lch, target);
        if (!ch) {
            libssh2_channel_free(lch);
            continue;
        }
        /* libssh2 gives accepted channels a 2 MiB floor of its own. */
        window_init(&ch->win, LIBSSH2_CHANNEL_WINDOW_DEFAULT, window);
        chanio_add(c, ch);
        pthread_mutex_lock(&l->mu);
        ch->q_next = NULL;
        if (l->q_tail)
            l->q_tail->q_next = ch;
        else
            l->q_head = ch;
        l->q_tail = ch;
        if (l->q_len++ == 0)
            waitq_wake_one(&l->accept_waiters);
        pthread_mutex_unlock(&l->mu);
        progress = 1;
    }
}

/* Serve every listener. */
int remote_serve(struct conn *c)
{
    struct sshtun_listener **pp = &c->io->listeners;
    int progress = 0, requesting = 0;

    while (*pp) {
        struct sshtun_listener *l = *pp;
        int closed, r;
        enum listener_state st;

        pthread_mutex_lock(&l->mu);
        closed = l->user_closed;
        st = l->state;
        pthread_mutex_unlock(&l->mu);
        /* One request at a time; one libssh2 has started must finish
         * even if its caller gave up. */
        if (st == LS_REQUESTED && !requesting && (!closed || l->started)
            && (l->started || clock_now_ms() >= l->retry_at)
            && !c->sess->forwarding_disabled) {
            if ((r = request(c, l)) < 0)
                return -1;
            progress |= r;
            pthread_mutex_lock(&l->mu);
            st = l->state;
            pthread_mutex_unlock(&l->mu);
            if (st == LS_REQUESTED) {
                requesting = 1;
                pp = &l->io_next;
                continue;
            }
        }
        if (st == LS_REQUESTED && !closed) {
            pp = &l->io_next;       /* waits its turn */
            continue;
        }
        if (st == LS_ACTIVE && !closed) {
            if ((r = accept_channels(c, l)) < 0)
                return -1;
            progress |= r;
            pp = &l->io_next;
            continue;
        }
        if (l->ll) {
            /* EAGAIN while libssh2 still holds unaccepted channels: they
             * are accepted and closed, then it is tried again. */
            if (libssh2_channel_forward_cancel(l->ll) == LIBSSH2_ERROR_EAGAIN) {
                LIBSSH2_CHANNEL *lch;
                while ((lch = libssh2_channel_forward_accept(l->ll)))
                    libssh2_channel_free(lch);
                pp = &l->io_next;
                continue;
            }
            l->ll = NULL;
        }
        listener_finish(l, LS_CLOSED, SSHTUN_ERR_CLOSED, "listener closed");
        drain_queue(l);
        *pp = l->io_next;
        listener_unref(l);
        progress = 1;
    }
    return progress;
}

/* Whether a listener will read the socket on the next pass. */
int remote_can_accept(struct conn *c)
{
    struct sshtun_listener *l;
    int room = 0;

    for (l = c->io->listeners; l && !room; l = l->io_next) {
        pthread_mutex_lock(&l->mu);
        room = l->ll && l->q_len < LISTENER_QUEUE_MAX;
        pthread_mutex_unlock(&l->mu);
    }
    return room;
}

/* Forget libssh2's listeners; ask again once reconnected. */
void remote_reset_all(struct conn *c)
{
    struct sshtun_listener *l;

    remote_take_new(c);
    for (l = c->io->listeners; l; l = l->io_next) {
        l->ll = NULL;               /* freed with the old session */
        l->started = 0;
        l->retry_at = 0;
        pthread_mutex_lock(&l->mu);
        if (l->state == LS_ACTIVE)
            l->state = LS_REQUESTED;
        pthread_mutex_unlock(&l->mu);
        drain_queue(l);
    }
}

/* Fail every listener: the session is ending. */
void remote_fail_all(struct conn *c, int code, const char *msg)
{
    struct sshtun_listener *l;

    remote_take_new(c);
    while ((l = c->io->listeners)) {
        c->io->listeners = l->io_next;
        l->ll = NULL;               /* freed with the session */
        listener_finish(l, LS_CLOSED, code, msg);
        drain_queue(l);
        listener_unref(l);
    }
}
