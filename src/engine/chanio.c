/*
 * chanio.c - the I/O thread's side of channels (see chanio.h).
 *
 * Each pass of the loop serves every channel the connection carries, in
 * four small steps as OpenSSH's channel_post_open does: a close the user
 * asked for, data from the server, data and EOF to the server, and a
 * close from the server.  When a channel's inbound queue is full it is
 * simply not read, so libssh2 sends no window adjust and the server stops
 * sending; when our send buffer passes OUTBUF_HIGH no channel is written
 * until the socket drains.
 *
 * A pass skips a channel that has settled (nothing left to write, time
 * or close when it was last served) while neither side has acted since:
 * its caller did not flag it dirty, and libssh2 holds no data, EOF or
 * CLOSE for it.  Those checks take no lock and only walk libssh2's list
 * of unread packets (short, as every pass reads them), so thousands of
 * idle channels cost each pass little.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/waitq.h"
#include "config/options.h"
#include "engine/chanio.h"
#include "engine/channel.h"
#include "engine/conn.h"
#include "engine/conn_io.h"
#include "engine/session.h"
#include "engine/ssherr.h"

/* What serving a channel came to. */
enum step { STEP_IDLE, STEP_PROGRESS, STEP_FINISHED, STEP_LOST };

/* Put ch on c's list. */
void chanio_add(struct conn *c, struct sshtun_channel *ch)
{
    ch->io_next = c->io->channels;
    c->io->channels = ch;
    c->io->idle_since = 0;
}

/* The I/O thread is done with ch. */
void chanio_release(struct conn *c, struct sshtun_channel *ch)
{
    window_release(&ch->win);
    ch->lch = NULL;
    if (__atomic_sub_fetch(&c->nchannels, 1, __ATOMIC_RELAXED) == 0)
        c->io->idle_since = clock_now_ms();
    channel_unref(ch);
}

/* Start closing: drop queued data, tell waiters, send CLOSE. */
static void begin_close(struct sshtun_channel *ch)
{
    pthread_mutex_lock(&ch->mu);
    chunk_queue_clear(&ch->out);
    if (ch->user_closed)
        chunk_queue_clear(&ch->in);
    pthread_mutex_unlock(&ch->mu);
    chunk_put(ch->out_cur);
    ch->out_cur = NULL;
    channel_finish(ch, CS_CLOSED, SSHTUN_ERR_CLOSED, "channel closed");
    ch->close_deadline = clock_now_ms() + CHAN_CLOSE_GRACE_MS;
}

/* Continue closing.  Returns 1 when the channel is finished with. */
static int continue_close(struct conn *c, struct sshtun_channel *ch)
{
    int rc = libssh2_channel_close(ch->lch);

    if (rc == LIBSSH2_ERROR_EAGAIN) {
        if (clock_now_ms() < ch->close_deadline)
            return 0;
        /* The server never answered: leave the libssh2 channel to be
         * freed with the session, and let the caller's side go. */
        log_msg(c->sess->opts, SSHTUN_LOG_DEBUG, "channel to %s: no CLOSE "
                "from server in %d ms, abandoned", ch->target,
                CHAN_CLOSE_GRACE_MS);
        return 1;
    }
    libssh2_channel_free(ch->lch);
    return 1;
}

/* Close now and report how far it got. */
static enum step close_now(struct conn *c, struct sshtun_channel *ch)
{
    begin_close(ch);
    return continue_close(c, ch) ? STEP_FINISHED : STEP_PROGRESS;
}

/* Hand a batch of received chunks to the channel, waking a reader once. */
static void deliver(struct sshtun_channel *ch, struct chunkq *batch)
{
    int was_empty;
    struct chunk *k;

    pthread_mutex_lock(&ch->mu);
    was_empty = ch->in.bytes == 0;
    /* Small reads fill the tail chunk rather than hold a chunk each. */
    while ((k = chunk_queue_pop(batch)))
        chunk_queue_append(&ch->in, k);
    if (was_empty)
        waitq_wake_one(&ch->recv_waiters);
    pthread_mutex_unlock(&ch->mu);
}

/* Read available data (up to room bytes, per_call at a time) into the
 * inbound queue.  Returns bytes moved, or a negative libssh2 error (even
 * when some bytes were moved first). */
static long read_channel(struct sshtun_channel *ch, size_t room,
                         size_t per_call)
{
    struct chunkq batch = { NULL, NULL, 0, 0 };
    long total = 0, rc = 0;

    while (room > 0) {
        struct chunk *c = chunk_get();
        size_t limit = room < CHUNK_SIZE ? room : CHUNK_SIZE;
        ssize_t n = 0;

        if (!c)
            break;
        while (c->len < limit) {
            size_t want = limit - c->len < per_call ? limit - c->len
                                                    : per_call;
            n = libssh2_channel_read(ch->lch, (char *)c->data + c->len,
                                     want);
            if (n <= 0)
                break;
            c->len += (size_t)n;
        }
        if (c->len == 0) {
            chunk_put(c);
        } else {
            total += (long)c->len;
            room -= c->len;
            chunk_queue_push(&batch, c);
        }
        if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
            rc = (long)n;
        if (n <= 0)
            break;
    }
    if (batch.head)
        deliver(ch, &batch);
    if (total)
        stats_add(&ch->sess->stats.bytes_in, (uint64_t)total);
    /* What came before an error is good; the error is still reported
     * (libssh2 may have lost a packet, e.g. out of memory, and reading
     * on would hand over the bytes after the gap). */
    return rc ? rc : total;
}

/* The next chunk to write, letting a blocked sender in once the mailbox
 * is half empty rather than on every chunk. */
static struct chunk *next_out(struct sshtun_channel *ch)
{
    struct chunk *c;

    pthread_mutex_lock(&ch->mu);
    c = chunk_queue_pop(&ch->out);
    if (c && ch->out.held <= CHAN_OUT_CAP / 2)
        waitq_wake_one(&ch->send_waiters);
    pthread_mutex_unlock(&ch->mu);
    return c;
}

/* Write queued data while the window and our send buffer allow.  Returns
 * bytes written or a negative libssh2 error. */
static long write_channel(struct conn *c, struct sshtun_channel *ch)
{
    long total = 0;

    ch->out_blocked = 0;
    for (;;) {
        struct chunk *k = ch->out_cur;
        ssize_t n;

        if (transport_pending(&c->io->out) >= OUTBUF_HIGH) {
            ch->out_blocked = 1;    /* the queue may hold more */
            break;
        }
        if (!k && !(k = ch->out_cur = next_out(ch)))
            break;
        n = libssh2_channel_write(ch->lch, (const char *)k->data + k->off,
                                  k->len - k->off);
        if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
            break;
        if (n < 0)
            return (long)n;
        k->off += (size_t)n;
        total += (long)n;
        if (k->off == k->len) {
            chunk_put(k);
            ch->out_cur = NULL;
        }
    }
    if (total)
        stats_add(&c->sess->stats.bytes_out, (uint64_t)total);
    return total;
}

/* A libssh2 error on ch: the connection is lost, or only ch is. */
static enum step channel_error(struct conn *c, struct sshtun_channel *ch,
                               int rc)
{
    char msg[512];

    if (!ssherr_is_channel(rc))
        return STEP_LOST;
    snprintf(msg, sizeof msg, "channel to %s: %s", ch->target,
             ssherr_text(c->io->ssh));
    channel_finish(ch, CS_CLOSED, rc == LIBSSH2_ERROR_CHANNEL_CLOSED
                                   ? SSHTUN_ERR_CLOSED : SSHTUN_ERR_SESSION,
                msg);
    begin_close(ch);
    return STEP_PROGRESS;
}

/* Step 1: the user closed ch.  Like close() on a socket: what was sent
 * before goes out first (bounded by the grace period), then EOF and
 * CLOSE. */
static enum step serve_user_close(struct conn *c, struct sshtun_channel *ch)
{
    long n;
    int pending;

    if (!ch->flush_deadline)
        ch->flush_deadline = clock_now_ms() + CHAN_CLOSE_GRACE_MS;
    n = write_channel(c, ch);
    if (n < 0 && !ssherr_is_channel((int)n))
        return STEP_LOST;
    pthread_mutex_lock(&ch->mu);
    pending = ch->out.bytes > 0;
    pthread_mutex_unlock(&ch->mu);
    if (n >= 0 && (pending || ch->out_cur)
        && clock_now_ms() < ch->flush_deadline)
        return n > 0 ? STEP_PROGRESS : STEP_IDLE;
    return close_now(c, ch);
}

/* The window after reading: grown while the local reader keeps up,
 * back to its floor once it has stalled (its queue full for
 * CHAN_STALL_MS: a burst can fill it for a moment). */
static enum step update_window(struct conn *c, struct sshtun_channel *ch,
                               long nread, size_t room)
{
    int rc, full, stalled = 0;

    pthread_mutex_lock(&ch->mu);
    full = chunk_queue_full(&ch->in, CHAN_IN_CAP);
    pthread_mutex_unlock(&ch->mu);
    if (room)
        ch->full_since = 0;
    else if (!ch->full_since)
        ch->full_since = clock_now_ms();
    else
        stalled = clock_now_ms() - ch->full_since >= CHAN_STALL_MS;
    rc = window_update(&ch->win, ch->lch, nread, !full, stalled);
    return rc < 0 ? channel_error(c, ch, rc) : STEP_IDLE;
}

/* Step 2: data and EOF from the server, while the inbound queue has room
 * (room 0: not read, so the window stays closed). */
static enum step serve_inbound(struct conn *c, struct sshtun_channel *ch,
                               size_t room)
{
    enum step st = STEP_IDLE;
    unsigned long avail = 0;
    long n = 0;

    if (ch->in_eof_seen)
        return STEP_IDLE;
    if (room)
        libssh2_channel_window_read_ex(ch->lch, &avail, NULL);
    if (avail) {
        /* Several busy channels: each after the first may pull in a
         * slice of its own, or a pass shared by all would hand each a few
         * KiB at a time (and wake its writer for each). */
        if (++c->io->readers > 1 && c->io->out.rx_paced
            && c->io->out.rx_budget < IO_RX_SLICE)
            c->io->out.rx_budget = IO_RX_SLICE;
        n = read_channel(ch, room, window_read_size(&ch->win));
        if (n < 0)
            return channel_error(c, ch, (int)n);
        if (n > 0)
            st = STEP_PROGRESS;
    }
    if (update_window(c, ch, n, room) == STEP_PROGRESS)
        return STEP_PROGRESS;       /* failed: closing */
    if (libssh2_channel_eof(ch->lch)) {
        ch->in_eof_seen = 1;
        pthread_mutex_lock(&ch->mu);
        ch->in_eof = 1;
        waitq_wake_all(&ch->recv_waiters);
        pthread_mutex_unlock(&ch->mu);
        st = STEP_PROGRESS;
    }
    return st;
}

/* Step 3: data to the server, then EOF once the user shut down and
 * everything queued went out. */
static enum step serve_outbound(struct conn *c, struct sshtun_channel *ch)
{
    enum step st = STEP_IDLE;
    long n = write_channel(c, ch);
    int out_eof;

    if (n < 0)
        return channel_error(c, ch, (int)n);
    if (n > 0)
        st = STEP_PROGRESS;
    pthread_mutex_lock(&ch->mu);
    out_eof = ch->out_eof && ch->out.bytes == 0;
    pthread_mutex_unlock(&ch->mu);
    if (out_eof && !ch->out_cur && !ch->eof_sent) {
        int rc = libssh2_channel_send_eof(ch->lch);
        if (rc == 0) {
            ch->eof_sent = 1;
            st = STEP_PROGRESS;
        } else if (rc != LIBSSH2_ERROR_EAGAIN && !ssherr_is_channel(rc)) {
            return STEP_LOST;
        } else if (rc != LIBSSH2_ERROR_EAGAIN) {
            ch->eof_sent = 1;       /* peer closed already */
        } else {
            ch->out_blocked = 1;    /* the EOF is still to go */
        }
    }
    return st;
}

/* Step 4: the server closed ch; what it sent stays readable, then EOF. */
static enum step serve_server_close(struct conn *c, struct sshtun_channel *ch)
{
    if (!ch->in_eof_seen || libssh2_channel_wait_closed(ch->lch) != 0)
        return STEP_IDLE;
    channel_finish(ch, CS_CLOSED, 0, "closed by server");
    return close_now(c, ch);
}

/* Serve one channel through the four steps. */
static enum step serve_channel(struct conn *c, struct sshtun_channel *ch)
{
    enum step st, any = STEP_IDLE;
    size_t room;
    int user_closed;

    if (ch->close_deadline)
        return continue_close(c, ch) ? STEP_FINISHED : STEP_IDLE;
    pthread_mutex_lock(&ch->mu);
    user_closed = ch->user_closed;
    room = chunk_queue_room(&ch->in, CHAN_IN_CAP);
    if (!room)
        ch->in_stalled = 1;
    pthread_mutex_unlock(&ch->mu);
    if (!room)                      /* for statistics: what may still come */
        __atomic_store_n(&ch->in_window, (uint64_t)
                         libssh2_channel_window_read_ex(ch->lch, NULL, NULL),
                         __ATOMIC_RELAXED);
    if (user_closed)
        return serve_user_close(c, ch);
    if ((st = serve_inbound(c, ch, room)) == STEP_LOST || ch->close_deadline)
        return st;
    any = st;
    if ((st = serve_outbound(c, ch)) == STEP_LOST || ch->close_deadline)
        return st;
    if (st == STEP_PROGRESS)
        any = st;
    st = serve_server_close(c, ch);
    return st == STEP_IDLE ? any : st;
}

/* After serving: whether ch waits only for its caller or the server. */
static void note_settled(struct sshtun_channel *ch)
{
    ch->settled = !ch->out_blocked && !ch->out_cur
                  && !ch->full_since && !ch->flush_deadline
                  && !ch->close_deadline && !ch->in_eof_seen
                  && !ch->win.adjust_pending;
}

/* Keep the earliest deadline of the pass (a settled channel has none),
 * so that the poll timeout needs no walk of its own. */
static void note_deadline(struct conn *c, struct sshtun_channel *ch)
{
    int64_t d = ch->close_deadline ? ch->close_deadline : ch->flush_deadline;

    if (d && (!c->io->next_deadline || d < c->io->next_deadline))
        c->io->next_deadline = d;
}

/* Whether a pass may leave ch alone (see the top of this file).  Takes
 * the caller's dirty flag: what it flagged after this is seen next pass. */
static int can_skip(struct sshtun_channel *ch)
{
    unsigned long unread = 1;

    /* Looking first keeps the cache line shared while nothing changed. */
    if (__atomic_load_n(&ch->dirty, __ATOMIC_ACQUIRE)
        && __atomic_exchange_n(&ch->dirty, 0, __ATOMIC_ACQ_REL))
        return 0;
    if (!ch->settled || libssh2_channel_eof(ch->lch))
        return 0;
    libssh2_channel_window_read_ex(ch->lch, &unread, NULL);
    return unread == 0;
}

/* Serve every channel, unlinking finished ones. */
int chanio_serve_all(struct conn *c)
{
    struct sshtun_channel **pp = &c->io->channels;
    int progress = 0;

    c->io->next_deadline = 0;
    c->io->readers = 0;

    while (*pp) {
        struct sshtun_channel *ch = *pp;
        enum step st;

        if (can_skip(ch)) {
            pp = &ch->io_next;
            continue;
        }
        st = serve_channel(c, ch);
        if (st != STEP_FINISHED && st != STEP_LOST) {
            note_settled(ch);
            note_deadline(c, ch);
        }

        if (st == STEP_LOST)
            return -1;
        if (st == STEP_FINISHED) {
            *pp = ch->io_next;
            chanio_release(c, ch);
            progress = 1;
            continue;
        }
        progress |= st == STEP_PROGRESS;
        pp = &ch->io_next;
    }
    return progress;
}

/* Fail every channel c holds. */
void chanio_fail_all(struct conn *c, int code, const char *msg)
{
    struct sshtun_channel *ch;

    if ((ch = c->io->opening)) {
        c->io->opening = NULL;
        __atomic_store_n(&c->opening_since, 0, __ATOMIC_RELEASE);
        channel_finish(ch, CS_FAILED, code, msg);
        chanio_release(c, ch);
    }
    while ((ch = c->io->channels)) {
        c->io->channels = ch->io_next;
        chunk_put(ch->out_cur);
        ch->out_cur = NULL;
        channel_finish(ch, CS_CLOSED, code, msg);
        chanio_release(c, ch);
    }
}

/* Whether any channel still has data (or an EOF or CLOSE) to send. */
int chanio_output_pending(struct conn *c)
{
    struct sshtun_channel *ch;
    int pending = transport_pending(&c->io->out) > 0;

    for (ch = c->io->channels; ch && !pending; ch = ch->io_next) {
        pthread_mutex_lock(&ch->mu);
        /* A channel still closing counts too: the server's CLOSE answer
         * shows it has taken everything before. */
        pending = ch->out.bytes > 0 || ch->out_cur
                  || (ch->out_eof && !ch->eof_sent)
                  || ch->user_closed || ch->close_deadline;
        pthread_mutex_unlock(&ch->mu);
    }
    return pending;
}

/* The poll timeout, shortened to the nearest close or flush deadline. */
int chanio_poll_timeout(struct conn *c, int timeout)
{
    int64_t left;

    if (!c->io->next_deadline)
        return timeout;
    left = c->io->next_deadline - clock_now_ms();
    if (timeout < 0 || left < timeout)
        timeout = left > 0 ? (int)left : 0;
    return timeout;
}
