/*
 * stats.c - a session's statistics (see stats.h): the I/O threads' few
 * updates that are more than an add, and the snapshot for callers
 * (connections up are counted in the pool).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/clock.h"
#include "engine/session.h"
#include "engine/stats.h"

/* The connection came up or went down. */
void stats_session_up(struct sshtun_session *s, int up)
{
    stats_set(&s->stats.up_since, up ? (int64_t)time(NULL) : 0);
    if (up) {
        stats_set(&s->stats.retry_at_ms, 0);
        pthread_mutex_lock(&s->mu);
        s->stats.status[0] = '\0';
        pthread_mutex_unlock(&s->mu);
    }
}

/* A keepalive's round trip (stored plus one: 0 means none yet). */
void stats_keepalive(struct sshtun_session *s, int64_t rtt_ms)
{
    stats_set(&s->stats.keepalive_rtt_ms, rtt_ms < 0 ? 1 : rtt_ms + 1);
}

/* A reconnect attempt is scheduled. */
void stats_session_retry(struct sshtun_session *s, int64_t at_ms,
                         const char *why)
{
    stats_set(&s->stats.retry_at_ms, at_ms);
    pthread_mutex_lock(&s->mu);
    snprintf(s->stats.status, sizeof s->stats.status, "%.255s", why);
    pthread_mutex_unlock(&s->mu);
}

/* Fill the caller's struct, up to the size it has. */
int sshtun_session_stats(sshtun_session *s,
                         struct sshtun_session_stats *st)
{
    struct sshtun_session_stats v;
    size_t size;
    int64_t retry;

    if (!s || !st || st->size < offsetof(struct sshtun_session_stats, up))
        return SSHTUN_ERR_INVAL;
    size = st->size < sizeof v ? st->size : sizeof v;
    memset(&v, 0, sizeof v);
    v.size = size;
    v.version = SSHTUN_STATS_VERSION;
    v.up_since = stats_get(&s->stats.up_since);
    v.up = v.up_since != 0;
    v.reconnects = stats_get(&s->stats.reconnects);
    v.keepalive_rtt_ms = stats_get(&s->stats.keepalive_rtt_ms) - 1;
    v.bytes_in = stats_get(&s->stats.bytes_in);
    v.bytes_out = stats_get(&s->stats.bytes_out);
    v.connections_up = sshtun_session_connections(s);
    retry = stats_get(&s->stats.retry_at_ms);
    v.retry_in_ms = -1;
    pthread_mutex_lock(&s->mu);
    if (s->state == SS_RECONNECTING) {
        v.retry_in_ms = retry > clock_now_ms() ? retry - clock_now_ms() : 0;
        snprintf(v.status, sizeof v.status, "%.255s", s->stats.status);
    } else if (s->state == SS_LOST || s->state == SS_DONE) {
        v.up = 0;
        snprintf(v.status, sizeof v.status, "%.255s", s->last_error);
    }
    pthread_mutex_unlock(&s->mu);
    memcpy(st, &v, size);
    return 0;
}
