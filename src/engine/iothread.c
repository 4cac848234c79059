/*
 * iothread.c - a connection's I/O thread: the only code that calls
 * libssh2 for that connection once it exists.
 *
 * It first connects (connect.c); then it loops: poll() the socket and the
 * wake eventfd, take the next channel open from the session's queue when
 * it has none in flight (libssh2 allows one pending open per connection,
 * so a slow one holds only this connection's opens: see pool.h), serve
 * every channel (chanio.c) and remote listener (remote.c), and check that
 * the server is alive.
 *
 * libssh2 only reads the socket inside calls made on some channel, so an
 * idle "session" channel (never used for anything) is kept open as a
 * pump: reading 0 bytes from it processes whatever the server sent.
 * Servers that refuse session channels (MaxSessions 0, accounts for
 * forwarding only) get a probe instead when there is something to read
 * or a liveness check is due: a channel open of a type no server knows,
 * which sshd answers at once with a failure, and which makes libssh2
 * read until that answer.  It uses the connection's one open slot, so it
 * goes out only when no real open is in flight (and takes one round
 * trip).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fdreserve.h"
#include "base/waitq.h"
#include "config/options.h"
#include "engine/chanio.h"
#include "engine/channel.h"
#include "engine/conn.h"
#include "engine/connect.h"
#include "engine/conn_io.h"
#include "engine/iothread.h"
#include "engine/pool.h"
#include "engine/remote.h"
#include "engine/session.h"
#include "engine/ssherr.h"
#include "engine/stats.h"

#define STOP_DRAIN_MS 2000
#define PROBE_TYPE "liveness-probe@invalid"

/* Set the connection's state; the first connection's is the session's. */
static void set_state(struct conn *c, enum conn_state st)
{
    static const enum session_state mirror[] = {
        [CONN_CONNECTING] = SS_CONNECTING, [CONN_UP] = SS_UP,
        [CONN_RECONNECTING] = SS_RECONNECTING, [CONN_LOST] = SS_LOST,
        [CONN_DONE] = SS_LOST,
    };

    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->state, st, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&c->mu);
    if (c->primary)
        session_set_state(c->sess, mirror[st]);
}

/* The open in flight has been answered (or failed): this connection is
 * free for the next; the pool learns the round trip. */
static void open_done(struct conn *c, struct sshtun_channel *ch)
{
    int took = (int)(clock_now_ms() - ch->open_sent_ms);

    pool_note_rtt(c, took > 0 ? took : 1);
    c->io->stuck_told = 0;
    c->io->opening = NULL;
    __atomic_store_n(&c->opening_since, 0, __ATOMIC_RELEASE);
}

/* The open failed: say why, from libssh2's text. */
static void open_failed(struct conn *c, struct sshtun_channel *ch, int e)
{
    char msg[512];
    int code;

    /* libssh2 gives up on an answer after 60 s: that open fails, the
     * connection does not. */
    code = e == LIBSSH2_ERROR_TIMEOUT
               ? SSHTUN_ERR_TIMEOUT
               : error_from_open_failure(ssherr_text(c->io->ssh));
    snprintf(msg, sizeof msg, "channel open to %s failed: %s", ch->target,
             error_open_reason(code));
    open_done(c, ch);
    channel_finish(ch, CS_FAILED, code, msg);
    chanio_release(c, ch);
}

/* The open succeeded: the channel joins the served list. */
static void open_succeeded(struct conn *c, struct sshtun_channel *ch,
                           LIBSSH2_CHANNEL *lch)
{
    open_done(c, ch);
    libssh2_channel_handle_extended_data2(lch,
                                          LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE);
    ch->lch = lch;
    chanio_add(c, ch);
    pthread_mutex_lock(&ch->mu);
    if (ch->state == CS_OPENING)
        ch->state = CS_OPEN;
    waitq_wake_all(&ch->state_waiters);
    pthread_mutex_unlock(&ch->mu);
    log_msg(c->sess->opts, SSHTUN_LOG_DEBUG2, "channel to %s open (connection "
            "%d)", ch->target, c->id);
}

/* Take the next open from the session's queue and send it.  Returns the
 * channel, or NULL if none was to be sent (or it was closed already). */
static struct sshtun_channel *start_open(struct conn *c)
{
    struct sshtun_channel *ch = pool_take_open(c);
    int closed;

    if (!ch)
        return NULL;
    pthread_mutex_lock(&ch->mu);
    closed = ch->user_closed;
    if (!closed && ch->state == CS_QUEUED)
        ch->state = CS_OPENING;
    pthread_mutex_unlock(&ch->mu);
    if (closed) {
        channel_finish(ch, CS_FAILED, SSHTUN_ERR_CLOSED, "closed");
        chanio_release(c, ch);
        return NULL;
    }
    ch->open_sent_ms = clock_now_ms();
    c->io->opening = ch;
    __atomic_store_n(&c->opening_since, ch->open_sent_ms, __ATOMIC_RELEASE);
    return ch;
}

/* Send or continue a probe open.  Returns 1 while it is in flight, 0
 * once answered, -1 if the connection is lost. */
static int serve_probe(struct conn *c)
{
    struct conn_io *io = c->io;
    LIBSSH2_CHANNEL *lch;
    int e;

    lch = libssh2_channel_open_ex(io->ssh, PROBE_TYPE,
                                  (unsigned)strlen(PROBE_TYPE), 32768,
                                  IO_MAX_PACKET, NULL, 0);
    if (lch) {
        libssh2_channel_free(lch);  /* a server that took it */
    } else if ((e = libssh2_session_last_errno(io->ssh))
               == LIBSSH2_ERROR_EAGAIN) {
        io->probing = 1;
        return 1;
    } else if (!ssherr_is_channel(e) && e != LIBSSH2_ERROR_TIMEOUT) {
        return -1;
    }
    io->probing = io->probe_wanted = 0;
    return 0;
}

/* Advance channel opens, one in flight at a time (a probe counts as
 * one).  Returns 1 on progress, 0, or -1 if the connection is lost. */
static int serve_opens(struct conn *c)
{
    int progress = 0;

    if (!c->io->opening && (c->io->probing || c->io->probe_wanted)) {
        int r = serve_probe(c);
        if (r != 0)
            return r < 0 ? -1 : 0;  /* lost, or in flight: no progress */
        progress = 1;
    }
    for (;;) {
        struct sshtun_channel *ch = c->io->opening;
        LIBSSH2_CHANNEL *lch;
        int e;

        if (!ch && (conn_stopping(c) || !(ch = start_open(c))))
            return progress;
        if (!ch->win.floor)
            window_init(&ch->win, window_floor(),
                        options_window_size(c->sess->opts));
        lch = libssh2_channel_open_ex(c->io->ssh, ch->type,
                                      (unsigned)strlen(ch->type),
                                      (unsigned)ch->win.floor, IO_MAX_PACKET,
                                      (const char *)ch->open_payload,
                                      (unsigned)ch->open_payload_len);
        if (lch) {
            open_succeeded(c, ch, lch);
        } else {
            e = libssh2_session_last_errno(c->io->ssh);
            if (e == LIBSSH2_ERROR_EAGAIN)
                return progress;
            if (!ssherr_is_channel(e) && e != LIBSSH2_ERROR_TIMEOUT)
                return -1;
            open_failed(c, ch, e);
        }
        progress = 1;
    }
}

/* Let libssh2 read and process what the server sent.  Returns -1 if the
 * connection is lost. */
static int pump(struct conn *c)
{
    LIBSSH2_CHANNEL *via = c->io->pump;
    char dummy[1];
    ssize_t n;

    for (struct sshtun_channel *ch = c->io->channels; ch && !via;
         ch = ch->io_next)
        if (!ch->close_deadline)
            via = ch->lch;
    if (!via) {
        /* Nothing to read through: notice a closed connection, and let
         * a probe open make libssh2 read what is there. */
        if (transport_rx_buffered(&c->io->out)) {
            c->io->probe_wanted = 1;
            return 0;
        }
        n = recv(c->io->sock, dummy, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
                       && errno != EINTR))
            return -1;
        if (n > 0)
            c->io->probe_wanted = 1;
        return 0;
    }
    n = libssh2_channel_read(via, dummy, 0);
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN && !ssherr_is_channel((int)n))
        return -1;
    return 0;
}

/* Sleep in poll() until the socket or the wake fd needs us (timeout 0:
 * just look).  Returns 1 if the socket is readable, 0, or -1 if the
 * connection is lost. */
static int wait_events(struct conn *c, int timeout)
{
    struct pollfd p[2];
    int rc;

    p[0].fd = c->wakefd;
    p[0].events = POLLIN;
    p[1].fd = c->io->sock;
    p[1].events = POLLIN;           /* pump() or a probe reads it */
    if (transport_pending(&c->io->out))
        p[1].events |= POLLOUT;
    if (transport_rx_buffered(&c->io->out))
        timeout = 0;                /* read ahead, still to hand over */
    rc = poll(p, 2, chanio_poll_timeout(c, timeout));
    if (rc < 0 && errno != EINTR) {
        snprintf(c->io->lost_msg, sizeof c->io->lost_msg, "poll: %s",
                 strerror(errno));
        return -1;
    }
    if (rc <= 0)                    /* idle: check the socket anyway */
        return (rc == 0 && timeout > 0)
               || transport_rx_buffered(&c->io->out) > 0;
    if (p[0].revents & POLLIN)
        conn_wake_consume(c);
    if ((p[1].revents & POLLOUT) && transport_flush(&c->io->out) < 0)
        return -1;
    return (p[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0
           || transport_rx_buffered(&c->io->out) > 0;
}

/* Send a liveness probe: an "env" request with want-reply on the pump
 * channel, whose answer (success or failure) libssh2 does match up, or
 * without a pump a probe open when the open slot is free.  Returns 1 if
 * a probe is out, 0 if none could go, -1 if the connection is lost. */
static int send_probe(struct conn *c)
{
    struct conn_io *io = c->io;
    int rc;

    if (!io->pump) {
        if (io->opening)
            return 0;               /* a stuck open holds the slot */
        io->probe_wanted = 1;
        return serve_probe(c) < 0 ? -1 : 1;
    }
    rc = libssh2_channel_setenv(io->pump, "SSHTUN_ALIVE", "1");
    io->alive_pending = rc == LIBSSH2_ERROR_EAGAIN;
    if (!io->alive_pending && rc != LIBSSH2_ERROR_TIMEOUT && c->primary)
        stats_keepalive(c->sess, clock_now_ms() - io->alive_sent_ms);
    if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN && !ssherr_is_channel(rc)
        && rc != LIBSSH2_ERROR_TIMEOUT)
        return -1;
    return 1;
}

/* Dead-peer detection (ServerAliveInterval/CountMax).  libssh2's own
 * keepalive never reads replies, so the probe is one whose answer
 * libssh2 reads (send_probe); any bytes from the server count as life.
 * Returns -1 once the server has been silent for interval x count with a
 * probe out. */
static int check_alive(struct conn *c)
{
    const sshtun_options *o = c->sess->opts;
    struct conn_io *io = c->io;
    int64_t interval = (int64_t)o->server_alive_interval * 1000;
    int64_t now = clock_now_ms(), silent = now - io->out.last_rx_ms;
    int r;

    if (interval <= 0)
        return 0;
    if (silent < interval)
        io->probed = 0;
    if (io->alive_pending || (silent >= interval
                              && now - io->alive_sent_ms >= interval)) {
        if (!io->alive_pending)
            io->alive_sent_ms = now;
        if ((r = send_probe(c)) < 0)
            return -1;
        io->probed |= r;
    }
    if (silent >= interval * options_server_alive_count(o) && io->probed) {
        snprintf(io->lost_msg, sizeof io->lost_msg, "Timeout, server %s not "
                 "responding.", o->hostname);
        return -1;
    }
    return 0;
}

/* The open in flight has waited past the grace: have the pool make a
 * connection ready for the next open now, not when someone waits behind
 * it.  Otherwise shortens *timeout to when the grace ends. */
static void check_stuck_open(struct conn *c, int *timeout)
{
    int64_t age, grace;
    struct conn *n;

    if (!c->io->opening || c->io->stuck_told)
        return;
    age = clock_now_ms() - c->io->opening->open_sent_ms;
    grace = pool_grace_ms(c->sess);
    if (age < grace) {
        if (*timeout < 0 || grace - age < *timeout)
            *timeout = (int)(grace - age);
        return;
    }
    c->io->stuck_told = 1;
    if ((n = pool_grow_for_stuck(c)) && iothread_start(n, NULL))
        pool_start_failed(n);
}

/* An extra connection with no channel for PoolIdleTime closes.  Returns 1
 * when it leaves; otherwise shortens *timeout to its deadline. */
static int idle_expired(struct conn *c, int *timeout)
{
    int64_t idle = options_pool_idle_ms(c->sess->opts), left;

    if (c->primary || !idle || !c->io->idle_since || c->io->opening
        || c->io->channels)
        return 0;
    left = c->io->idle_since + idle - clock_now_ms();
    if (left > 0) {
        if (*timeout < 0 || left < *timeout)
            *timeout = (int)left;
        return 0;
    }
    c->io->idle_since = clock_now_ms();   /* stays only if the pool needs it */
    return pool_leave_if_idle(c);
}

/* One pass over everything.  Returns 1 on progress, 0, or -1 if lost. */
static int serve_pass(struct conn *c, int readable)
{
    uint64_t rx_before = c->io->out.rx_bytes;
    int progress = 0, r;

    /* Reading the socket is only worth a syscall when poll said so;
     * channel reads and writes pump libssh2 themselves too. */
    if (readable && pump(c) < 0)
        return -1;
    remote_take_new(c);
    if ((r = serve_opens(c)) < 0)
        return -1;
    progress |= r;
    if ((r = chanio_serve_all(c)) < 0)
        return -1;
    progress |= r;
    if ((r = remote_serve(c)) < 0)
        return -1;
    progress |= r;
    if (check_alive(c) < 0 || transport_flush(&c->io->out) < 0)
        return -1;
    /* Any libssh2 call may have read the socket into its buffers, where
     * poll() cannot see the data: that counts as progress. */
    return progress || c->io->out.rx_bytes != rx_before;
}

/* One pass, reading at most a slice from the server for each channel
 * that was read last time (the rest stays in the socket, so poll() sees
 * it).  Returns as serve_pass. */
static int serve_once(struct conn *c, int readable)
{
    int slices = c->io->readers, rc;

    if (slices < 1)
        slices = 1;
    else if (slices > IO_RX_SLICES)
        slices = IO_RX_SLICES;
    c->io->out.rx_budget = (size_t)slices * IO_RX_SLICE;
    c->io->out.rx_paced = 1;
    rc = serve_pass(c, readable);
    c->io->out.rx_paced = 0;
    return rc;
}

/* The main loop.  Returns 0 when asked to stop (or idle), -1 when the
 * connection was lost.  Asked to stop, it first lets channels send what
 * they were given (like close() on sockets before exit), for at most
 * STOP_DRAIN_MS. */
static int io_loop(struct conn *c)
{
    int readable = 1, progress;
    int64_t drain_deadline = 0;

    for (;;) {
        int timeout = -1;

        if ((progress = serve_once(c, readable)) < 0)
            return -1;
        if (conn_stopping(c)) {
            if (!drain_deadline)
                drain_deadline = clock_now_ms() + STOP_DRAIN_MS;
            if (!chanio_output_pending(c) || clock_now_ms() >= drain_deadline)
                return 0;
        } else if (idle_expired(c, &timeout)) {
            return 0;
        }
        check_stuck_open(c, &timeout);
        /* After progress, data may still wait inside libssh2 where poll()
         * cannot see it: look again without sleeping. */
        if (progress)
            timeout = 0;
        else if (timeout < 0 || timeout > 1000)
            timeout = 1000;
        if ((readable = wait_events(c, timeout)) < 0)
            return -1;
    }
}

/* Describe why the connection was lost. */
static void lost_reason(struct conn *c, char *buf, size_t size)
{
    const char *host = c->sess->opts->hostname;

    if (c->io->lost_msg[0])
        snprintf(buf, size, "%s", c->io->lost_msg);
    else if (c->io->out.error)
        snprintf(buf, size, "Connection to %s lost: %s", host,
                 strerror(c->io->out.error));
    else
        snprintf(buf, size, "Connection to %s closed by remote host%s%s",
                 host, *ssherr_text(c->io->ssh) ? ": " : ".",
                 ssherr_text(c->io->ssh));
}

/* Serve until stopped or lost; the first connection reconnects if asked
 * to.  Returns 0 (stopped), or -1 (lost, reason filled). */
static int serve(struct conn *c, char *reason, size_t size)
{
    const sshtun_options *o = c->sess->opts;

    for (;;) {
        int rc;

        if (c->primary)
            stats_session_up(c->sess, 1);
        set_state(c, CONN_UP);
        c->io->out.last_rx_ms = clock_now_ms();
        if (!c->io->channels && !c->io->opening)
            c->io->idle_since = clock_now_ms();
        if (io_loop(c) == 0) {
            snprintf(reason, size, "session closed");
            return 0;
        }
        lost_reason(c, reason, size);
        if (!c->primary || !options_flag(o->reconnect))
            return -1;
        /* Lost, and asked to come back: in-flight connections end (never
         * silently corrupted), listeners stay. */
        log_msg(o, SSHTUN_LOG_ERROR, "Connection down: %s", reason);
        stats_session_up(c->sess, 0);
        set_state(c, CONN_RECONNECTING);
        remote_reset_all(c);
        chanio_fail_all(c, SSHTUN_ERR_SESSION, reason);
        connect_teardown(c, 1);
        if ((rc = connect_again(c, reason, size)) <= 0)
            return rc < 0 ? -1 : 0;
    }
}

/* The end: fail what is left, tear down, leave the pool.  rc: 0 stopped,
 * -1 lost, -2 never connected (the caller reports that). */
static void finish(struct conn *c, int rc, const char *reason)
{
    struct sshtun_session *s = c->sess;

    if (c->primary) {
        if (rc == -1)
            log_msg(s->opts, SSHTUN_LOG_ERROR, "%s", reason);
        pthread_mutex_lock(&s->mu);
        session_set_error_locked(s, reason);
        pthread_mutex_unlock(&s->mu);
    } else if (rc == -1) {
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "pool: connection %d lost: %s",
                c->id, reason);
    }
    set_state(c, CONN_LOST);
    if (c->primary) {
        /* The session ends with its first connection: the others stop,
         * and opens nobody took fail. */
        pool_fail_queued(s, rc < 0 ? SSHTUN_ERR_SESSION : SSHTUN_ERR_CLOSED,
                         reason);
        pool_stop_others(c);
    }
    remote_fail_all(c, rc < 0 ? SSHTUN_ERR_SESSION : SSHTUN_ERR_CLOSED,
                    reason);
    chanio_fail_all(c, rc < 0 ? SSHTUN_ERR_SESSION : SSHTUN_ERR_CLOSED,
                    reason);
    connect_teardown(c, rc < 0 || !c->io->ssh);
    set_state(c, CONN_DONE);
    pool_conn_finished(c);
}

/* Thread entry: connect, report, serve until stopped or lost. */
static void *iothread_main(void *arg)
{
    struct conn *c = arg;
    char reason[512];
    sshtun_error err;
    int rc;

    fdreserve_privileged();         /* reconnects work at EMFILE too */
    error_clear(&err);
    rc = connect_run(c, &err);
    if (c->primary) {
        struct sshtun_session *s = c->sess;
        pthread_mutex_lock(&s->mu);
        s->connect_err = err;
        pthread_mutex_unlock(&s->mu);
    } else {
        pool_connect_result(c, rc, err.msg);
    }
    if (rc) {
        snprintf(reason, sizeof reason, "%s", err.msg);
        finish(c, -2, reason);
        return NULL;
    }
    rc = serve(c, reason, sizeof reason);
    finish(c, rc, reason);
    return NULL;
}

/* Start the I/O thread. */
int iothread_start(struct conn *c, sshtun_error *err)
{
    int rc;

    conn_ref(c);                    /* the I/O thread's */
    rc = pthread_create(&c->thread, NULL, iothread_main, c);
    if (rc) {
        conn_unref(c);
        return error_set(err, SSHTUN_ERR_NOMEM, "cannot start an I/O "
                         "thread: %s", strerror(rc));
    }
    return 0;
}
