/*
 * chanopen.c - opening channels: building the open request, queueing it
 * with the session's pool, and waiting for the answer.
 *
 * Nothing here waits behind another client's open: the open waits in the
 * session's queue, and a waiter whose open has not been taken by any
 * connection within the pool's grace asks the pool for another
 * connection (started here, on this thread, but connecting on its own).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/waitq.h"
#include "engine/chanopen.h"
#include "engine/channel.h"
#include "engine/iothread.h"
#include "engine/pool.h"
#include "engine/session.h"

/* A waiter's open is still queued past the grace: grow the pool. */
static void open_waiting(struct sshtun_session *s)
{
    struct conn *c = pool_grow_for_waiting(s);

    if (c && iothread_start(c, NULL))
        pool_start_failed(c);
}

/* Wait for the open's outcome. */
int chanopen_wait(struct sshtun_channel *ch, int timeout_ms,
                  sshtun_error *err)
{
    struct timespec ts, *dl = clock_deadline_after(&ts, timeout_ms);
    int64_t end = timeout_ms >= 0 ? clock_now_ms() + timeout_ms : 0;
    int grace = pool_grace_ms(ch->sess);
    int rc = 0;

    pthread_mutex_lock(&ch->mu);
    while ((ch->state == CS_QUEUED || ch->state == CS_OPENING)
           && !ch->user_closed) {
        /* Waiting in the queue past the grace: slow opens hold every
         * connection, so ask the pool for another, and look again after
         * another grace. */
        struct timespec gts;
        int64_t next = clock_now_ms() + grace;
        int queued = ch->state == CS_QUEUED, late;

        clock_ms_to_timespec(next, &gts);
        late = waitq_wait(&ch->state_waiters, &ch->mu,
                          end && end <= next ? dl : &gts) == ETIMEDOUT;

        if (!late || !(ch->state == CS_QUEUED || ch->state == CS_OPENING))
            continue;
        if (end && clock_now_ms() >= end) {
            pthread_mutex_unlock(&ch->mu);
            return error_set(err, SSHTUN_ERR_TIMEOUT,
                             "channel open to %s: no answer from the server "
                             "within %d ms", ch->target, timeout_ms);
        }
        if (queued && ch->state == CS_QUEUED) {
            pthread_mutex_unlock(&ch->mu);
            open_waiting(ch->sess);
            pthread_mutex_lock(&ch->mu);
        }
    }
    if (ch->user_closed && ch->state != CS_FAILED) {
        rc = error_set(err, SSHTUN_ERR_CLOSED, "channel to %s closed",
                       ch->target);
    } else if (ch->state != CS_OPEN) {
        rc = ch->err ? ch->err : SSHTUN_ERR_OPEN_FAILED;
        error_set(err, rc, "%s", ch->errmsg);
    }
    pthread_mutex_unlock(&ch->mu);
    return rc;
}

/* Build an SSH string (uint32 length + bytes) at p; returns bytes used. */
static size_t put_string(unsigned char *p, const char *s)
{
    size_t n = strlen(s);

    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    memcpy(p + 4, s, n);
    return 4 + n;
}

/* Build an SSH uint32 at p. */
static size_t put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/* Create a channel and queue its open with the session's pool. */
static struct sshtun_channel *open_start(struct sshtun_session *s,
                                         const char *type,
                                         const unsigned char *payload,
                                         size_t len, const char *target,
                                         sshtun_error *err)
{
    struct sshtun_channel *ch = channel_new(s, type, payload, len, target);

    if (!ch) {
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (pool_submit_open(s, ch, err)) {
        channel_discard(ch);
        return NULL;
    }
    if (pool_queue_deep(s))
        open_waiting(s);
    return ch;
}

/* Request a direct-tcpip channel to host:port without waiting. */
struct sshtun_channel *chanopen_direct_start(struct sshtun_session *s,
                                             const char *host, int port,
                                             const char *orig_host,
                                             int orig_port,
                                             sshtun_error *err)
{
    unsigned char payload[2 * 4 + 2 * 4 + 2 * 256];
    char target[300];
    size_t n = 0;

    if (!s || !host || !*host || strlen(host) > 255 || port <= 0
        || port > 65535) {
        error_set(err, SSHTUN_ERR_INVAL, "bad channel target '%s:%d'",
                  host ? host : "(null)", port);
        return NULL;
    }
    if (!orig_host || strlen(orig_host) > 255)
        orig_host = "127.0.0.1";
    if (orig_port < 0 || orig_port > 65535)
        orig_port = 0;
    n += put_string(payload + n, host);
    n += put_u32(payload + n, (uint32_t)port);
    n += put_string(payload + n, orig_host);
    n += put_u32(payload + n, (uint32_t)orig_port);
    snprintf(target, sizeof target, strchr(host, ':') ? "[%s]:%d" : "%s:%d",
             host, port);
    return open_start(s, "direct-tcpip", payload, n, target, err);
}

/* Request a direct-streamlocal channel to a server-side socket path. */
struct sshtun_channel *chanopen_streamlocal_start(struct sshtun_session *s,
                                                  const char *path,
                                                  sshtun_error *err)
{
    unsigned char payload[4 + 4096 + 4 + 4];
    size_t n = 0;

    if (!s || !path || !*path || strlen(path) > 4096) {
        error_set(err, SSHTUN_ERR_INVAL, "bad socket path");
        return NULL;
    }
    /* RFC-less OpenSSH extension: string path, string reserved, uint32
     * reserved. */
    n += put_string(payload + n, path);
    n += put_string(payload + n, "");
    n += put_u32(payload + n, 0);
    return open_start(s, "direct-streamlocal@openssh.com", payload, n, path,
                      err);
}

/* Open a channel to a Unix socket on the server and wait for the answer. */
sshtun_channel *sshtun_channel_open_streamlocal(sshtun_session *s,
                                                const char *path,
                                                int timeout_ms,
                                                sshtun_error *err)
{
    struct sshtun_channel *ch = chanopen_streamlocal_start(s, path, err);

    if (!ch)
        return NULL;
    if (chanopen_wait(ch, timeout_ms, err)) {
        sshtun_close(ch);
        return NULL;
    }
    error_clear(err);
    return ch;
}

/* Open a direct-tcpip channel to host:port and wait for the answer. */
sshtun_channel *sshtun_channel_open_direct(sshtun_session *s,
                                           const char *host, int port,
                                           const char *orig_host,
                                           int orig_port, int timeout_ms,
                                           sshtun_error *err)
{
    struct sshtun_channel *ch;

    ch = chanopen_direct_start(s, host, port, orig_host, orig_port, err);
    if (!ch)
        return NULL;
    if (chanopen_wait(ch, timeout_ms, err)) {
        sshtun_close(ch);
        return NULL;
    }
    error_clear(err);
    return ch;
}

