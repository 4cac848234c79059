/*
 * channel.c - the caller side of channels: open, send, recv, shutdown,
 * close (see channel.h for the mailbox model).
 *
 * None of this calls libssh2.  Callers put data in the channel's queues
 * and flag the channel dirty; the I/O thread of the connection that
 * carries it (chanio.c) does the SSH work and wakes them.  Opening is in
 * chanopen.c.  Wake-ups happen only on transitions
 * (empty to non-empty, full to not-full), and in whole chunks.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "engine/channel.h"
#include "engine/conn.h"
#include "engine/session.h"

/* Create a channel object (not registered anywhere yet). */
struct sshtun_channel *channel_new(struct sshtun_session *s,
                                       const char *type,
                                       const unsigned char *payload,
                                       size_t len, const char *target)
{
    struct sshtun_channel *ch = calloc(1, sizeof *ch);

    if (!ch)
        return NULL;
    ch->type = strdup(type);
    ch->target = strdup(target);
    ch->open_payload = malloc(len ? len : 1);
    if (!ch->type || !ch->target || !ch->open_payload) {
        free(ch->type);
        free(ch->target);
        free(ch->open_payload);
        free(ch);
        return NULL;
    }
    memcpy(ch->open_payload, payload, len);
    ch->open_payload_len = len;
    pthread_mutex_init(&ch->mu, NULL);
    ch->state = CS_QUEUED;
    ch->refs = 2;                   /* caller + owner */
    ch->sess = s;
    return ch;
}

/* Free the object itself. */
static void chan_destroy(struct sshtun_channel *ch)
{
    chunk_queue_clear(&ch->in);
    chunk_queue_clear(&ch->out);
    chunk_put(ch->out_cur);
    pthread_mutex_destroy(&ch->mu);
    free(ch->type);
    free(ch->target);
    free(ch->open_payload);
    free(ch);
}

/* Free a channel no session ever counted. */
void channel_discard(struct sshtun_channel *ch)
{
    chan_destroy(ch);
}

/* Free a channel whose last reference is gone. */
static void channel_free(struct sshtun_channel *ch)
{
    struct sshtun_session *s = ch->sess;
    struct conn *c = __atomic_load_n(&ch->conn, __ATOMIC_ACQUIRE);

    chan_destroy(ch);
    if (c)
        conn_unref(c);
    pthread_mutex_lock(&s->mu);
    s->nchannels--;
    pthread_mutex_unlock(&s->mu);
    session_unref(s);
}

/* Wake the connection that carries ch.  A channel still in the
 * session's open queue has none yet: the connection that takes it looks
 * at everything (a closed one is failed and dropped then). */
void channel_mark_dirty(struct sshtun_channel *ch)
{
    struct conn *c = __atomic_load_n(&ch->conn, __ATOMIC_ACQUIRE);

    __atomic_store_n(&ch->dirty, 1, __ATOMIC_RELEASE);
    if (c)
        conn_wake(c);
}

/* Take a reference. */
void channel_ref(struct sshtun_channel *ch)
{
    __atomic_add_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL);
}

/* Drop a reference; free at zero. */
void channel_unref(struct sshtun_channel *ch)
{
    if (__atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) == 0)
        channel_free(ch);
}

/* Move to a final state, keep the first reason, wake every waiter. */
void channel_finish(struct sshtun_channel *ch, enum chan_state st, int err,
                    const char *msg)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->state != CS_FAILED && ch->state != CS_CLOSED) {
        ch->state = st;
        ch->err = err;
        snprintf(ch->errmsg, sizeof ch->errmsg, "%s", msg ? msg : "");
    }
    waitq_wake_all(&ch->recv_waiters);
    waitq_wake_all(&ch->send_waiters);
    waitq_wake_all(&ch->state_waiters);
    pthread_mutex_unlock(&ch->mu);
}

/* Error to report for a channel that can no longer send. */
static int send_error_locked(struct sshtun_channel *ch)
{
    if (ch->user_closed || ch->out_eof)
        return SSHTUN_ERR_CLOSED;
    if (ch->state == CS_CLOSED || ch->state == CS_FAILED)
        return ch->err ? ch->err : SSHTUN_ERR_CLOSED;
    return 0;
}

/* Queue a chunk for sending; the channel owns it afterwards. */
int channel_send_chunk(struct sshtun_channel *ch, struct chunk *c,
                       const struct timespec *deadline)
{
    int rc, was_empty;

    pthread_mutex_lock(&ch->mu);
    for (;;) {
        if ((rc = send_error_locked(ch)))
            break;
        if (!chunk_queue_full(&ch->out, CHAN_OUT_CAP))
            break;
        if (waitq_wait(&ch->send_waiters, &ch->mu, deadline) == ETIMEDOUT
            && chunk_queue_full(&ch->out, CHAN_OUT_CAP)) {
            rc = SSHTUN_ERR_TIMEOUT;
            break;
        }
    }
    if (rc) {
        pthread_mutex_unlock(&ch->mu);
        chunk_put(c);
        return rc;
    }
    was_empty = ch->out.bytes == 0;
    chunk_queue_append(&ch->out, c);
    /* Space left: let the next blocked sender in too. */
    if (!chunk_queue_full(&ch->out, CHAN_OUT_CAP))
        waitq_wake_one(&ch->send_waiters);
    pthread_mutex_unlock(&ch->mu);
    if (was_empty)
        channel_mark_dirty(ch);
    return 0;
}

/* After taking data: wake the next reader if data is left, and restart
 * the I/O thread's reading if it had stopped on a full queue.  Returns 1
 * if the I/O thread must be told. */
static int after_take_locked(struct sshtun_channel *ch)
{
    if (ch->in.bytes > 0)
        waitq_wake_one(&ch->recv_waiters);
    if (ch->in_stalled && ch->in.held <= CHAN_IN_CAP / 2) {
        ch->in_stalled = 0;
        return 1;
    }
    return 0;
}

/* Wait until `in` has data, EOF, or an end; returns 1 if data is there,
 * 0 at EOF, or a negative error.  Called and returns with mu held. */
static int wait_readable_locked(struct sshtun_channel *ch,
                                const struct timespec *deadline)
{
    for (;;) {
        if (ch->in.bytes > 0)
            return 1;
        if (ch->user_closed)
            return SSHTUN_ERR_CLOSED;
        if (ch->in_eof)
            return 0;
        if (ch->state == CS_CLOSED || ch->state == CS_FAILED)
            return ch->err;         /* 0: closed cleanly, read as EOF */
        if (waitq_wait(&ch->recv_waiters, &ch->mu, deadline) == ETIMEDOUT
            && ch->in.bytes == 0 && !ch->in_eof
            && ch->state == CS_OPEN && !ch->user_closed)
            return SSHTUN_ERR_TIMEOUT;
    }
}

/* Take one whole received chunk. */
int channel_recv_chunk(struct sshtun_channel *ch, struct chunk **out,
                       const struct timespec *deadline)
{
    int rc, wake_io = 0;

    pthread_mutex_lock(&ch->mu);
    rc = wait_readable_locked(ch, deadline);
    if (rc == 1) {
        *out = chunk_queue_pop(&ch->in);
        wake_io = after_take_locked(ch);
    }
    pthread_mutex_unlock(&ch->mu);
    if (wake_io)
        channel_mark_dirty(ch);
    return rc;
}

/* Wait for the channel to reach its end. */
void channel_wait_closed(struct sshtun_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    while (ch->state != CS_CLOSED && ch->state != CS_FAILED
           && !ch->user_closed)
        waitq_wait(&ch->state_waiters, &ch->mu, NULL);
    pthread_mutex_unlock(&ch->mu);
}

/* I/O thread of c: wrap an accepted forwarded-tcpip channel. */
struct sshtun_channel *channel_new_accepted(struct conn *c,
                                            LIBSSH2_CHANNEL *lch,
                                            const char *target)
{
    struct sshtun_session *s = c->sess;
    struct sshtun_channel *ch;
    int full;

    pthread_mutex_lock(&s->mu);
    full = s->nchannels >= SESSION_MAX_CHANNELS;
    if (!full)
        s->nchannels++;
    pthread_mutex_unlock(&s->mu);
    if (full)
        return NULL;
    if (!(ch = channel_new(s, "forwarded-tcpip", (const unsigned char *)"", 0,
                           target))) {
        pthread_mutex_lock(&s->mu);
        s->nchannels--;
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    session_ref(s);
    conn_ref(c);
    __atomic_add_fetch(&c->nchannels, 1, __ATOMIC_RELAXED);
    ch->conn = c;
    ch->state = CS_OPEN;
    ch->lch = lch;
    return ch;
}

/* Queue bytes for sending, in chunks. */
ssize_t sshtun_send(sshtun_channel *ch, const void *buf, size_t len,
                    int timeout_ms)
{
    struct timespec ts, *dl = clock_deadline_after(&ts, timeout_ms);
    const unsigned char *p = buf;
    size_t done = 0;
    int rc = 0;

    if (!ch || (!buf && len))
        return SSHTUN_ERR_INVAL;
    channel_ref(ch);
    while (done < len) {
        struct chunk *c = chunk_get();
        size_t n = len - done < CHUNK_SIZE ? len - done : CHUNK_SIZE;

        if (!c) {
            rc = SSHTUN_ERR_NOMEM;
            break;
        }
        memcpy(c->data, p + done, n);
        c->len = n;
        if ((rc = channel_send_chunk(ch, c, dl)))
            break;
        done += n;
    }
    channel_unref(ch);
    if (rc && done == 0)
        return rc;
    return (ssize_t)done;
}

/* Receive bytes. */
ssize_t sshtun_recv(sshtun_channel *ch, void *buf, size_t len,
                    int timeout_ms)
{
    struct timespec ts, *dl = clock_deadline_after(&ts, timeout_ms);
    ssize_t rc;
    int wake_io = 0;

    if (!ch || (!buf && len))
        return SSHTUN_ERR_INVAL;
    if (len == 0)
        return 0;
    channel_ref(ch);
    pthread_mutex_lock(&ch->mu);
    rc = wait_readable_locked(ch, dl);
    if (rc == 1) {
        rc = (ssize_t)chunk_queue_read(&ch->in, buf, len);
        wake_io = after_take_locked(ch);
    }
    pthread_mutex_unlock(&ch->mu);
    if (wake_io)
        channel_mark_dirty(ch);
    channel_unref(ch);
    return rc;
}

/* Half-close: EOF after queued data. */
int sshtun_shutdown(sshtun_channel *ch)
{
    int rc;

    if (!ch)
        return SSHTUN_ERR_INVAL;
    pthread_mutex_lock(&ch->mu);
    rc = send_error_locked(ch);
    if (!rc)
        ch->out_eof = 1;
    waitq_wake_all(&ch->send_waiters);
    pthread_mutex_unlock(&ch->mu);
    if (!rc)
        channel_mark_dirty(ch);
    return rc;
}

/* Close the channel; blocked callers return SSHTUN_ERR_CLOSED. */
void channel_abort(struct sshtun_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    ch->user_closed = 1;
    waitq_wake_all(&ch->recv_waiters);
    waitq_wake_all(&ch->send_waiters);
    waitq_wake_all(&ch->state_waiters);
    pthread_mutex_unlock(&ch->mu);
    channel_mark_dirty(ch);
}

/* Close and release the caller's handle. */
void sshtun_close(sshtun_channel *ch)
{
    if (!ch)
        return;
    channel_abort(ch);
    channel_unref(ch);
}

/* The channel's last error text. */
const char *sshtun_channel_last_error(sshtun_channel *ch)
{
    return ch ? ch->errmsg : "";
}
