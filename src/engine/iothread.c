/*
 * iothread.c - the session's I/O thread: the only code that calls
 * libssh2 once a session exists.
 *
 * It first connects, verifies the host key and authenticates; then it
 * loops: poll() the socket and the wake eventfd, adopt channels other
 * threads flagged dirty, run the queue of channel opens (libssh2 allows
 * one pending open per session), and for every open channel move data
 * between libssh2 and the channel's bounded queues.  When a channel's
 * inbound queue is full it is simply not read, so libssh2 sends no window
 * adjust and the server stops; when our send buffer passes OUTBUF_HIGH
 * no channel is written until the socket drains.
 *
 * libssh2 only reads the socket inside calls made on some channel, so an
 * idle "session" channel (never used for anything) is kept open as a
 * pump: reading 0 bytes from it processes whatever the server sent.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/auth.h"
#include "engine/channel.h"
#include "base/clock.h"
#include "base/error.h"
#include "engine/knownhosts.h"
#include "base/log.h"
#include "engine/proxy.h"
#include "engine/remote.h"
#include "engine/session.h"
#include "engine/ssherr.h"

#define HANDSHAKE_DEFAULT_MS 120000
#define STOP_DRAIN_MS 2000
#define TEARDOWN_FLUSH_MS 1000
#define PUMP_WINDOW (64 * 1024)
#define MAX_PACKET 32768

/* Connect phase: wait until libssh2 can progress or the deadline. */
int iothread_wait_socket(struct sshtun_session *s, int64_t deadline_ms,
                         sshtun_error *err)
{
    for (;;) {
        struct pollfd p = { .fd = s->sock, .events = POLLIN };
        int timeout = 1000, rc, stop;

        /* A reconnect attempt must not outlive sshtun_session_close. */
        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return error_set(err, SSHTUN_ERR_CLOSED, "session closed");

        if (transport_pending(&s->out))
            p.events |= POLLOUT;
        if (deadline_ms) {
            int64_t left = deadline_ms - clock_now_ms();
            if (left <= 0)
                return error_set(err, SSHTUN_ERR_TIMEOUT,
                                 "Connection timed out during banner "
                                 "exchange or authentication with %s",
                                 s->opts->hostname);
            if (left < timeout)
                timeout = (int)left;
        }
        rc = poll(&p, 1, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            continue;
        if ((p.revents & POLLOUT) && transport_flush(&s->out) < 0)
            return error_set(err, SSHTUN_ERR_SESSION, "Connection to %s "
                             "lost: %s", s->opts->hostname,
                             strerror(s->out.error));
        if (p.revents & (POLLIN | POLLERR | POLLHUP))
            return 0;
        if (!transport_pending(&s->out))
            return 0;
    }
}

/* Set one method preference, explaining a refusal. */
static int set_method(struct sshtun_session *s, int method, const char *list,
                      const char *what, sshtun_error *err)
{
    const char **algs = NULL;
    char supported[512] = "";
    int n;

    if (!list)
        return 0;
    if (strchr("+-^", list[0]))
        return error_set(err, SSHTUN_ERR_INVAL, "%s '%s': the +, - and ^ "
                         "modifiers are not supported; give the full list",
                         what, list);
    if (libssh2_session_method_pref(s->ssh, method, list) == 0)
        return 0;
    n = libssh2_session_supported_algs(s->ssh, method, &algs);
    for (int i = 0; i < n; i++) {
        if (strlen(supported) + strlen(algs[i]) + 2 >= sizeof supported)
            break;
        if (i)
            strcat(supported, ",");
        strcat(supported, algs[i]);
    }
    if (algs)
        libssh2_free(s->ssh, algs);
    return error_set(err, SSHTUN_ERR_INVAL, "Unsupported %s '%s' (supported: "
                     "%s)", what, list, supported);
}

/* Apply -c, -m and host key preferences. */
static int set_methods(struct sshtun_session *s, sshtun_error *err)
{
    const sshtun_options *o = s->opts;
    char *known = NULL;
    int rc;

    if ((rc = set_method(s, LIBSSH2_METHOD_CRYPT_CS, o->ciphers, "cipher",
                         err))
        || (rc = set_method(s, LIBSSH2_METHOD_CRYPT_SC, o->ciphers,
                            "cipher", err))
        || (rc = set_method(s, LIBSSH2_METHOD_MAC_CS, o->macs, "MAC", err))
        || (rc = set_method(s, LIBSSH2_METHOD_MAC_SC, o->macs, "MAC", err)))
        return rc;
    if (o->hostkey_algorithms)
        return set_method(s, LIBSSH2_METHOD_HOSTKEY, o->hostkey_algorithms,
                          "host key algorithm", err);
    /* libssh2 prefers ECDSA; ask first for the types known_hosts holds. */
    known = knownhosts_preferred_algs(s->ssh, o, o->hostname, options_port(o));
    if (known) {
        log_msg(o, SSHTUN_LOG_DEBUG, "host key algorithms from known_hosts: "
                "%s", known);
        libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY, known);
        free(known);
    } else {
        libssh2_session_method_pref(s->ssh, LIBSSH2_METHOD_HOSTKEY,
                                    "ssh-ed25519,ecdsa-sha2-nistp256,"
                                    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
                                    "ssh-rsa");
    }
    return 0;
}

/* Run the key exchange until done or the deadline. */
static int handshake(struct sshtun_session *s, int64_t deadline,
                     sshtun_error *err)
{
    int rc;

    while ((rc = libssh2_session_handshake(s->ssh, s->sock))
           == LIBSSH2_ERROR_EAGAIN) {
        if ((rc = iothread_wait_socket(s, deadline, err)))
            return rc;
    }
    if (rc == 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (s->proxy_error[0])
        rc = error_set(err, SSHTUN_ERR_CONNECT, "jump host %s: %s",
                       s->opts->proxy_jump, s->proxy_error);
    pthread_mutex_unlock(&s->mu);
    if (rc == SSHTUN_ERR_CONNECT)
        return rc;
    return error_set(err, SSHTUN_ERR_HANDSHAKE, "SSH handshake with %s port "
                     "%d failed: %s. (sshtun uses libssh2 1.10: no rsa-sha2 "
                     "host keys, no chacha20 or GCM ciphers; a server with "
                     "only an RSA host key cannot be verified.)",
                     s->opts->hostname, options_port(s->opts),
                     ssherr_text(s->ssh));
}

/* Open the idle "session" channel used as a read pump. */
static void open_pump(struct sshtun_session *s)
{
    int64_t deadline = clock_now_ms() + 10000;
    sshtun_error err;

    for (;;) {
        s->pump = libssh2_channel_open_ex(s->ssh, "session", 7, PUMP_WINDOW,
                                          MAX_PACKET, NULL, 0);
        if (s->pump || libssh2_session_last_errno(s->ssh)
                           != LIBSSH2_ERROR_EAGAIN)
            break;
        if (iothread_wait_socket(s, deadline, &err))
            break;
    }
    if (!s->pump) {
        s->pump_unavailable = 1;
        log_msg(s->opts, SSHTUN_LOG_DEBUG, "no idle pump channel (%s); "
                "idle sessions are checked once a second", ssherr_text(s->ssh));
    }
}

/* auth_ctx's wait: the connect phase's socket wait. */
static int auth_wait(void *arg, int64_t deadline_ms, sshtun_error *err)
{
    return iothread_wait_socket(arg, deadline_ms, err);
}

/* Connect, handshake, verify the host key, authenticate. */
static int io_connect(struct sshtun_session *s, sshtun_error *err)
{
    const sshtun_options *o = s->opts;
    int port = options_port(o), rc;
    int64_t deadline = o->connect_timeout > 0
                           ? clock_now_ms() + (int64_t)o->connect_timeout * 1000
                           : 0;
    int family = o->address_family >= 0 ? o->address_family : 0;

    log_msg(o, SSHTUN_LOG_VERBOSE, "Connecting to %s port %d.", o->hostname,
            port);
    if (proxy_wanted(o))
        rc = proxy_connect(s, &s->sock, err);
    else
        rc = transport_connect(o->hostname, port, family, deadline,
                               &s->sock, NULL, err);
    if (rc)
        return rc;
    s->out.fd = s->sock;
    s->out.owner = s;
    s->ssh = libssh2_session_init_ex(NULL, NULL, NULL, &s->out);
    if (!s->ssh)
        return error_set(err, SSHTUN_ERR_NOMEM, "libssh2 session init failed");
    libssh2_session_set_blocking(s->ssh, 0);
    libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_SEND,
                                 (void *)transport_send_cb);
    libssh2_session_callback_set(s->ssh, LIBSSH2_CALLBACK_RECV,
                                 (void *)transport_recv_cb);
    if ((rc = set_methods(s, err)))
        return rc;
    if ((rc = handshake(s, deadline ? deadline
                                    : clock_now_ms() + HANDSHAKE_DEFAULT_MS, err)))
        return rc;
    log_msg(o, SSHTUN_LOG_DEBUG, "SSH handshake done, host key %s",
            libssh2_session_methods(s->ssh, LIBSSH2_METHOD_HOSTKEY));
    if ((rc = knownhosts_verify(s->ssh, o, o->hostname, port,
                                &s->forwarding_disabled, err)))
        return rc;
    {
        struct auth_ctx a = { s->ssh, o, s->forwarding_disabled,
                              auth_wait, s };
        if ((rc = auth_run(&a, o->user, err)))
            return rc;
    }
    open_pump(s);
    log_msg(o, SSHTUN_LOG_VERBOSE, "Authenticated to %s ([%s]:%d).",
            o->hostname, o->hostname, port);
    return 0;
}

/* The I/O thread drops its reference on a channel it is done with. */
static void io_release(struct sshtun_channel *ch)
{
    ch->io = IO_DONE;
    ch->lch = NULL;
    channel_unref(ch);
}

/* Take the dirty list and adopt new channels into the open queue.  A
 * channel's io state leaves IO_NEW only under s->mu, so that a caller
 * marking it while the session ends and this thread never both act. */
static void take_dirty(struct sshtun_session *s)
{
    struct sshtun_channel *batch = NULL, *ch, **tail = &batch;

    pthread_mutex_lock(&s->mu);
    for (ch = s->dirty_head; ch; ch = ch->dirty_next) {
        ch->dirty = 0;
        ch->adopt = ch->io == IO_NEW;
        if (ch->adopt)
            ch->io = IO_QUEUED;
        *tail = ch;
        tail = &ch->batch_next;
    }
    *tail = NULL;
    s->dirty_head = s->dirty_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    remote_take_new(s);

    while ((ch = batch)) {
        batch = ch->batch_next;
        if (ch->adopt) {
            ch->io_next = NULL;
            if (s->open_tail)
                s->open_tail->io_next = ch;
            else
                s->open_head = ch;
            s->open_tail = ch;
        }
        channel_unref(ch);             /* the dirty list's reference */
    }
}

/* Pop the head of the open queue. */
static struct sshtun_channel *open_pop(struct sshtun_session *s)
{
    struct sshtun_channel *ch = s->open_head;

    s->open_head = ch->io_next;
    if (!s->open_head)
        s->open_tail = NULL;
    ch->io_next = NULL;
    return ch;
}

/* Advance the open queue.  Returns 1 on progress, 0, or -1 if the session
 * is lost. */
static int serve_opens(struct sshtun_session *s)
{
    int progress = 0;
    long window = options_window_size(s->opts);

    while (s->open_head) {
        struct sshtun_channel *ch = s->open_head;
        LIBSSH2_CHANNEL *lch;
        int closed, e;

        pthread_mutex_lock(&ch->mu);
        closed = ch->user_closed;
        if (!closed && ch->state == CS_QUEUED)
            ch->state = CS_OPENING;
        pthread_mutex_unlock(&ch->mu);
        if (closed && !ch->open_started) {
            open_pop(s);
            channel_finish(ch, CS_FAILED, SSHTUN_ERR_CLOSED, "closed");
            io_release(ch);
            progress = 1;
            continue;
        }
        ch->open_started = 1;
        lch = libssh2_channel_open_ex(s->ssh, ch->type,
                                      (unsigned)strlen(ch->type),
                                      (unsigned)window, MAX_PACKET,
                                      (const char *)ch->open_payload,
                                      (unsigned)ch->open_payload_len);
        if (!lch) {
            char msg[512];
            int code;
            e = libssh2_session_last_errno(s->ssh);
            if (e == LIBSSH2_ERROR_EAGAIN)
                return progress;
            /* libssh2 gives up on an answer after 60 s: that open fails,
             * the session does not. */
            if (!ssherr_is_channel(e) && e != LIBSSH2_ERROR_TIMEOUT)
                return -1;
            code = e == LIBSSH2_ERROR_TIMEOUT
                       ? SSHTUN_ERR_TIMEOUT
                       : error_from_open_failure(ssherr_text(s->ssh));
            snprintf(msg, sizeof msg, "channel open to %s failed: %s",
                     ch->target, error_open_reason(code));
            open_pop(s);
            channel_finish(ch, CS_FAILED, code, msg);
            io_release(ch);
            progress = 1;
            continue;
        }
        open_pop(s);
        libssh2_channel_handle_extended_data2(lch,
                                              LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE);
        ch->lch = lch;
        ch->io = IO_ACTIVE;
        ch->io_next = s->io_list;
        s->io_list = ch;
        pthread_mutex_lock(&ch->mu);
        if (ch->state == CS_OPENING)
            ch->state = CS_OPEN;
        waitq_wake_all(&ch->state_waiters);
        pthread_mutex_unlock(&ch->mu);
        log_msg(s->opts, SSHTUN_LOG_DEBUG2, "channel to %s open", ch->target);
        progress = 1;
    }
    return progress;
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
static int continue_close(struct sshtun_session *s, struct sshtun_channel *ch)
{
    int rc = libssh2_channel_close(ch->lch);

    if (rc == LIBSSH2_ERROR_EAGAIN) {
        if (clock_now_ms() < ch->close_deadline)
            return 0;
        /* The server never answered: leave the libssh2 channel to be
         * freed with the session, and let the caller's side go. */
        log_msg(s->opts, SSHTUN_LOG_DEBUG, "channel to %s: no CLOSE from "
                "server in %d ms, abandoned", ch->target,
                CHAN_CLOSE_GRACE_MS);
        return 1;
    }
    libssh2_channel_free(ch->lch);
    return 1;
}

/* Read available data into the channel's inbound queue, handing the
 * chunks over in one batch so the reader is woken at most once.  Returns
 * bytes moved, or a negative libssh2 error. */
static long read_channel(struct sshtun_channel *ch, size_t room)
{
    struct chunkq batch = { NULL, NULL, 0 };
    long total = 0, rc = 0;

    while (room > 0) {
        struct chunk *c = chunk_get();
        size_t limit = room < CHUNK_SIZE ? room : CHUNK_SIZE;
        ssize_t n = 0;

        if (!c)
            break;
        while (c->len < limit) {
            n = libssh2_channel_read(ch->lch, (char *)c->data + c->len,
                                     limit - c->len);
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
    if (batch.head) {
        int was_empty;
        pthread_mutex_lock(&ch->mu);
        was_empty = ch->in.bytes == 0;
        if (ch->in.tail)
            ch->in.tail->next = batch.head;
        else
            ch->in.head = batch.head;
        ch->in.tail = batch.tail;
        ch->in.bytes += batch.bytes;
        if (was_empty)
            waitq_wake_one(&ch->recv_waiters);
        pthread_mutex_unlock(&ch->mu);
    }
    return total ? total : rc;
}

/* Write queued data while the window and our send buffer allow.  Returns
 * bytes written or a negative libssh2 error. */
static long write_channel(struct sshtun_session *s, struct sshtun_channel *ch)
{
    long total = 0;

    while (transport_pending(&s->out) < OUTBUF_HIGH) {
        struct chunk *c = ch->out_cur;
        ssize_t n;

        if (!c) {
            pthread_mutex_lock(&ch->mu);
            c = chunk_queue_pop(&ch->out);
            /* Senders wait while the mailbox is full; let one in once it
             * is half empty rather than on every chunk. */
            if (c && ch->out.bytes <= CHAN_OUT_CAP / 2)
                waitq_wake_one(&ch->send_waiters);
            pthread_mutex_unlock(&ch->mu);
            if (!c)
                break;
            ch->out_cur = c;
        }
        n = libssh2_channel_write(ch->lch, (const char *)c->data + c->off,
                                  c->len - c->off);
        if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
            break;
        if (n < 0)
            return (long)n;
        c->off += (size_t)n;
        total += (long)n;
        if (c->off == c->len) {
            chunk_put(c);
            ch->out_cur = NULL;
        }
    }
    return total;
}

/* A channel-level error: close the channel with the reason. */
static void channel_failed(struct sshtun_session *s, struct sshtun_channel *ch,
                           int rc)
{
    char msg[512];

    snprintf(msg, sizeof msg, "channel to %s: %s", ch->target,
             ssherr_text(s->ssh));
    channel_finish(ch, CS_CLOSED, rc == LIBSSH2_ERROR_CHANNEL_CLOSED
                                   ? SSHTUN_ERR_CLOSED : SSHTUN_ERR_SESSION,
                msg);
    begin_close(ch);
}

/* Serve one active channel.  Returns 1 on progress, 0, 2 when the
 * channel is finished with, or -1 if the session is lost. */
static int serve_channel(struct sshtun_session *s, struct sshtun_channel *ch)
{
    size_t room;
    int user_closed, out_eof, progress = 0;
    long n;

    if (ch->close_deadline)
        return continue_close(s, ch) ? 2 : 0;
    pthread_mutex_lock(&ch->mu);
    user_closed = ch->user_closed;
    room = ch->in.bytes < CHAN_IN_CAP ? CHAN_IN_CAP - ch->in.bytes : 0;
    if (!room)
        ch->in_stalled = 1;
    pthread_mutex_unlock(&ch->mu);
    if (user_closed) {
        /* Like close() on a socket: what was sent before goes out first
         * (bounded by the grace period), then EOF and CLOSE. */
        int pending;
        if (!ch->flush_deadline)
            ch->flush_deadline = clock_now_ms() + CHAN_CLOSE_GRACE_MS;
        n = write_channel(s, ch);
        if (n < 0 && !ssherr_is_channel((int)n))
            return -1;
        pthread_mutex_lock(&ch->mu);
        pending = ch->out.bytes > 0;
        pthread_mutex_unlock(&ch->mu);
        if (n >= 0 && (pending || ch->out_cur)
            && clock_now_ms() < ch->flush_deadline)
            return n > 0;
        begin_close(ch);
        return continue_close(s, ch) ? 2 : 1;
    }

    if (!ch->in_eof_seen && room) {
        unsigned long avail = 0;
        libssh2_channel_window_read_ex(ch->lch, &avail, NULL);
        if (avail) {
            n = read_channel(ch, room);
            if (n < 0) {
                if (!ssherr_is_channel((int)n))
                    return -1;
                channel_failed(s, ch, (int)n);
                return 1;
            }
            progress |= n > 0;
        }
        if (libssh2_channel_eof(ch->lch)) {
            ch->in_eof_seen = 1;
            pthread_mutex_lock(&ch->mu);
            ch->in_eof = 1;
            waitq_wake_all(&ch->recv_waiters);
            pthread_mutex_unlock(&ch->mu);
            progress = 1;
        }
    }

    n = write_channel(s, ch);
    if (n < 0) {
        if (!ssherr_is_channel((int)n))
            return -1;
        channel_failed(s, ch, (int)n);
        return 1;
    }
    progress |= n > 0;

    pthread_mutex_lock(&ch->mu);
    out_eof = ch->out_eof && ch->out.bytes == 0;
    pthread_mutex_unlock(&ch->mu);
    if (out_eof && !ch->out_cur && !ch->eof_sent) {
        int rc = libssh2_channel_send_eof(ch->lch);
        if (rc == 0)
            ch->eof_sent = progress = 1;
        else if (rc != LIBSSH2_ERROR_EAGAIN && !ssherr_is_channel(rc))
            return -1;
        else if (rc != LIBSSH2_ERROR_EAGAIN)
            ch->eof_sent = 1;       /* peer closed already */
    }

    if (ch->in_eof_seen && libssh2_channel_wait_closed(ch->lch) == 0) {
        /* The server closed: data received stays readable, then EOF. */
        channel_finish(ch, CS_CLOSED, 0, "closed by server");
        begin_close(ch);
        return continue_close(s, ch) ? 2 : 1;
    }
    return progress;
}

/* Serve every active channel, unlinking finished ones. */
static int serve_channels(struct sshtun_session *s)
{
    struct sshtun_channel **pp = &s->io_list;
    int progress = 0;

    while (*pp) {
        struct sshtun_channel *ch = *pp;
        int r = serve_channel(s, ch);

        if (r < 0)
            return -1;
        if (r == 2) {
            *pp = ch->io_next;
            io_release(ch);
            progress = 1;
            continue;
        }
        progress |= r;
        pp = &ch->io_next;
    }
    return progress;
}

/* Let libssh2 read and process what the server sent.  Returns -1 if the
 * session is lost. */
static int pump(struct sshtun_session *s)
{
    LIBSSH2_CHANNEL *via = s->pump;
    char dummy[1];
    ssize_t n;

    if (!via) {
        struct sshtun_channel *ch;
        for (ch = s->io_list; ch && !via; ch = ch->io_next)
            if (!ch->close_deadline)
                via = ch->lch;
    }
    if (!via) {
        /* Nothing to read through: just notice a closed connection. */
        n = recv(s->sock, dummy, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
                       && errno != EINTR))
            return -1;
        return 0;
    }
    n = libssh2_channel_read(via, dummy, 0);
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN && !ssherr_is_channel((int)n))
        return -1;
    return 0;
}

/* Whether a pump is available for poll()ing the socket for input. */
static int can_pump(struct sshtun_session *s)
{
    return s->pump || s->io_list || s->open_head
           || remote_can_accept(s);
}

/* Sleep in poll() until the socket or the wake fd needs us (timeout 0:
 * just look).  Returns 1 if the socket is readable, 0, or -1 if the
 * session is lost. */
static int wait_events(struct sshtun_session *s, int timeout)
{
    struct pollfd p[2];
    int rc;
    int64_t now = clock_now_ms();
    struct sshtun_channel *ch;

    p[0].fd = s->wakefd;
    p[0].events = POLLIN;
    p[1].fd = s->sock;
    p[1].events = can_pump(s) ? POLLIN : 0;
    if (transport_pending(&s->out))
        p[1].events |= POLLOUT;
    if (timeout < 0)
        timeout = 1000;
    for (ch = s->io_list; ch; ch = ch->io_next)
        if (ch->close_deadline || ch->flush_deadline) {
            int64_t left = (ch->close_deadline ? ch->close_deadline
                                               : ch->flush_deadline) - now;
            if (left < timeout)
                timeout = left > 0 ? (int)left : 0;
        }
    rc = poll(p, 2, timeout);
    if (rc < 0 && errno != EINTR)
        return -1;
    if (rc <= 0)
        return rc == 0 && timeout > 0;  /* idle: check the socket anyway */
    if (p[0].revents & POLLIN) {
        uint64_t v;
        ssize_t n = read(s->wakefd, &v, sizeof v);
        (void)n;
    }
    if ((p[1].revents & POLLOUT) && transport_flush(&s->out) < 0)
        return -1;
    return (p[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

/* Fail every channel the I/O thread still holds (and the remote
 * listeners too, unless they are to be asked for again). */
static void fail_all(struct sshtun_session *s, int code, const char *msg,
                     int keep_listeners)
{
    struct sshtun_channel *ch;

    take_dirty(s);
    if (keep_listeners)
        remote_reset_all(s);
    else
        remote_fail_all(s, code, msg);
    while (s->open_head) {
        ch = open_pop(s);
        channel_finish(ch, CS_FAILED, code, msg);
        io_release(ch);
    }
    while ((ch = s->io_list)) {
        s->io_list = ch->io_next;
        chunk_put(ch->out_cur);
        ch->out_cur = NULL;
        channel_finish(ch, CS_CLOSED, code, msg);
        io_release(ch);
    }
}

/* Dead-peer detection (ServerAliveInterval/CountMax).  libssh2's own
 * keepalive never reads replies, so the probe is an "env" request with
 * want-reply on the idle pump channel, whose answer (success or failure)
 * libssh2 does match up; any bytes from the server count as life.
 * Returns -1 once the server has been silent for interval x count. */
static int check_alive(struct sshtun_session *s)
{
    const sshtun_options *o = s->opts;
    int64_t interval = (int64_t)o->server_alive_interval * 1000;
    int64_t now = clock_now_ms(), silent = now - s->out.last_rx_ms;
    int rc;

    if (interval <= 0 || !s->pump)
        return 0;
    if (s->alive_pending || (silent >= interval
                             && now - s->alive_sent_ms >= interval)) {
        if (!s->alive_pending)
            s->alive_sent_ms = now;
        rc = libssh2_channel_setenv(s->pump, "SSHTUN_ALIVE", "1");
        s->alive_pending = rc == LIBSSH2_ERROR_EAGAIN;
        if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN && !ssherr_is_channel(rc)
            && rc != LIBSSH2_ERROR_TIMEOUT)
            return -1;
    }
    if (silent >= interval * options_server_alive_count(o)) {
        snprintf(s->lost_msg, sizeof s->lost_msg, "Timeout, server %s not "
                 "responding.", o->hostname);
        return -1;
    }
    return 0;
}

/* Whether any channel still has data (or an EOF or CLOSE) to send. */
static int output_pending(struct sshtun_session *s)
{
    struct sshtun_channel *ch;
    int pending = transport_pending(&s->out) > 0;

    for (ch = s->io_list; ch && !pending; ch = ch->io_next) {
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

/* The main loop.  Returns 0 when asked to stop, -1 when the session was
 * lost.  Asked to stop, it first lets channels send what they were given
 * (like close() on sockets before exit), for at most STOP_DRAIN_MS. */
static int io_loop(struct sshtun_session *s)
{
    int readable = 1, progress = 0;
    int64_t drain_deadline = 0;

    for (;;) {
        int stop;
        uint64_t rx_before = s->out.rx_bytes;

        take_dirty(s);
        /* Reading the socket is only worth a syscall when poll said so;
         * channel reads and writes pump libssh2 themselves too. */
        if (readable && pump(s) < 0)
            return -1;
        if (serve_opens(s) < 0 || (progress = serve_channels(s)) < 0)
            return -1;
        switch (remote_serve(s)) {
        case -1: return -1;
        case 1: progress = 1; break;
        default: break;
        }
        if (check_alive(s) < 0 || transport_flush(&s->out) < 0)
            return -1;
        /* Any libssh2 call may have read the socket into its buffers,
         * where poll() cannot see the data: that counts as progress. */
        if (s->out.rx_bytes != rx_before)
            progress = 1;
        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) {
            if (!drain_deadline)
                drain_deadline = clock_now_ms() + STOP_DRAIN_MS;
            if (!output_pending(s) || clock_now_ms() >= drain_deadline)
                return 0;
        }
        /* After progress, data may still wait inside libssh2 where poll()
         * cannot see it: look again without sleeping. */
        if ((readable = wait_events(s, progress ? 0 : -1)) < 0)
            return -1;
    }
}

/* Describe why the session was lost. */
static void lost_reason(struct sshtun_session *s, char *buf, size_t size)
{
    if (s->lost_msg[0])
        snprintf(buf, size, "%s", s->lost_msg);
    else if (s->out.error)
        snprintf(buf, size, "Connection to %s lost: %s", s->opts->hostname,
                 strerror(s->out.error));
    else
        snprintf(buf, size, "Connection to %s closed by remote host%s%s",
                 s->opts->hostname, *ssherr_text(s->ssh) ? ": " : ".",
                 ssherr_text(s->ssh));
}

/* Disconnect politely (bounded) and free libssh2's session. */
static void io_teardown(struct sshtun_session *s, int lost)
{
    if (s->ssh) {
        if (!lost) {
            int64_t deadline = clock_now_ms() + TEARDOWN_FLUSH_MS;
            libssh2_session_disconnect(s->ssh, "sshtun closing");
            while (transport_pending(&s->out) && clock_now_ms() < deadline) {
                struct pollfd p = { .fd = s->sock, .events = POLLOUT };
                if (poll(&p, 1, 100) > 0 && transport_flush(&s->out) < 0)
                    break;
            }
            /* Close with FIN, not RST: a close() with unread input would
             * reset the connection and the server could lose what it had
             * not read yet.  Read (and drop) until it closes too. */
            shutdown(s->sock, SHUT_WR);
            while (clock_now_ms() < deadline) {
                struct pollfd p = { .fd = s->sock, .events = POLLIN };
                char sink[4096];
                if (poll(&p, 1, 100) <= 0)
                    continue;
                if (recv(s->sock, sink, sizeof sink, 0) <= 0)
                    break;
            }
        }
        s->out.closing = 1;         /* libssh2 must not wait for replies */
        for (int i = 0; i < 16; i++)
            if (libssh2_session_free(s->ssh) != LIBSSH2_ERROR_EAGAIN)
                break;
        s->ssh = NULL;
        s->pump = NULL;
    }
    if (s->sock >= 0)
        close(s->sock);
    s->sock = -1;
    transport_free(&s->out);
    proxy_close(s);
}

/* Sleep up to ms, waking early if the session is closed.  Returns 1 if
 * asked to stop. */
static int sleep_unless_stopped(struct sshtun_session *s, int64_t ms)
{
    int64_t until = clock_now_ms() + ms;

    for (;;) {
        struct pollfd p = { .fd = s->wakefd, .events = POLLIN };
        int64_t left = until - clock_now_ms();
        int stop;

        pthread_mutex_lock(&s->mu);
        stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return 1;
        if (left <= 0)
            return 0;
        if (poll(&p, 1, (int)left) > 0) {
            uint64_t v;
            ssize_t n = read(s->wakefd, &v, sizeof v);
            (void)n;
            take_dirty(s);          /* opens queue up until we are back */
        }
    }
}

/* Reset the per-connection state before connecting again. */
static void reset_connection_state(struct sshtun_session *s)
{
    memset(&s->out, 0, sizeof s->out);
    s->sock = -1;
    s->pump = NULL;
    s->pump_unavailable = 0;
    s->alive_pending = 0;
    s->alive_sent_ms = 0;
    s->lost_msg[0] = '\0';
    s->proxy_error[0] = '\0';
}

/* Set the state and wake whoever waits on it. */
static void set_state(struct sshtun_session *s, enum session_state st)
{
    pthread_mutex_lock(&s->mu);
    s->state = st;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Thread entry: connect, report, serve until stopped or lost; with
 * Reconnect=yes, a lost session is made again (backoff with jitter)
 * while forwards keep listening. */
void *iothread_main(void *arg)
{
    struct sshtun_session *s = arg;
    const sshtun_options *o = s->opts;
    struct sshtun_channel *dirty, *next;
    char reason[512];
    int rc, attempts = 0;
    int64_t delay = 1000;
    unsigned seed = (unsigned)clock_now_ms() ^ (unsigned)getpid();
    int64_t max_delay = (o->reconnect_max_delay > 0
                             ? o->reconnect_max_delay : 30) * 1000L;

    rc = io_connect(s, &s->connect_err);
    if (rc) {
        io_teardown(s, 1);
        set_state(s, SS_DONE);
        return NULL;
    }
    for (;;) {
        set_state(s, SS_UP);
        s->out.last_rx_ms = clock_now_ms();
        rc = io_loop(s);
        if (rc < 0)
            lost_reason(s, reason, sizeof reason);
        else
            snprintf(reason, sizeof reason, "session closed");
        if (rc == 0 || !options_flag(o->reconnect))
            break;
        /* Lost, and asked to come back: in-flight connections end (never
         * silently corrupted), listeners stay. */
        log_msg(o, SSHTUN_LOG_ERROR, "Connection down: %s", reason);
        set_state(s, SS_RECONNECTING);
        fail_all(s, SSHTUN_ERR_SESSION, reason, 1);
        io_teardown(s, 1);
        for (;;) {
            int64_t jittered = delay / 2
                               + (int64_t)(rand_r(&seed) % (unsigned)(delay / 2 + 1));
            if (o->reconnect_count > 0 && attempts >= o->reconnect_count) {
                snprintf(reason, sizeof reason, "%.400s (gave up after %d "
                         "reconnect attempts)", s->connect_err.msg[0]
                         ? s->connect_err.msg : "connection lost", attempts);
                rc = -1;
                break;
            }
            log_msg(o, SSHTUN_LOG_ERROR, "Reconnecting in %.1f s.",
                    (double)jittered / 1000);
            if (sleep_unless_stopped(s, jittered)) {
                rc = 0;
                snprintf(reason, sizeof reason, "session closed");
                break;
            }
            attempts++;
            reset_connection_state(s);
            if (io_connect(s, &s->connect_err) == 0) {
                log_msg(o, SSHTUN_LOG_ERROR, "Connection up again after %d "
                        "attempt%s; forwards restored.", attempts,
                        attempts == 1 ? "" : "s");
                attempts = 0;
                delay = 1000;
                rc = 1;
                break;
            }
            log_msg(o, SSHTUN_LOG_ERROR, "Reconnect failed: %s",
                    s->connect_err.msg);
            io_teardown(s, 1);
            if ((delay *= 2) > max_delay)
                delay = max_delay;
        }
        if (rc != 1)
            break;
    }
    if (rc < 0)
        log_msg(o, SSHTUN_LOG_ERROR, "%s", reason);
    pthread_mutex_lock(&s->mu);
    session_set_error_locked(s, reason);
    s->state = SS_LOST;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);

    fail_all(s, rc < 0 ? SSHTUN_ERR_SESSION : SSHTUN_ERR_CLOSED, reason, 0);
    io_teardown(s, rc < 0 || !s->ssh);

    /* No more dirty marks from now on; drop the references queued. */
    pthread_mutex_lock(&s->mu);
    s->state = SS_DONE;
    dirty = s->dirty_head;
    s->dirty_head = s->dirty_tail = NULL;
    for (next = dirty; next; next = next->dirty_next) {
        next->dirty = 0;
        next->adopt = next->io == IO_NEW;
        if (next->adopt)
            next->io = IO_DONE;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    while (dirty) {
        next = dirty->dirty_next;
        if (dirty->adopt) {
            channel_finish(dirty, CS_FAILED, SSHTUN_ERR_SESSION, reason);
            channel_unref(dirty);      /* the I/O thread's reference */
        }
        channel_unref(dirty);
        dirty = next;
    }
    return NULL;
}
