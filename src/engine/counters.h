/*
 * counters.h - a session's counters: cheap enough for the data path.
 *
 * Plain integers updated with relaxed atomic adds by the thread that
 * does the work (a connection's I/O thread for its bytes, the first
 * connection's for keepalives and reconnects);
 * readers take a snapshot without a lock.  Nothing here orders anything
 * else: a snapshot may mix values from slightly different moments.
 * Header only: the session embeds them; stats.c reports them.
 */
#ifndef SSHTUN_COUNTERS_H
#define SSHTUN_COUNTERS_H

#include <stdint.h>

struct session_stats {
    uint64_t bytes_in;              /* atomic: channel data read */
    uint64_t bytes_out;             /* atomic: channel data written */
    uint64_t reconnects;            /* atomic */
    int64_t up_since;               /* atomic: Unix time, 0 while down */
    int64_t keepalive_rtt_ms;       /* atomic: round trip + 1; 0 until
                                       measured */
    int64_t retry_at_ms;            /* atomic: clock_now_ms of the next
                                       reconnect attempt, 0 if none */
    char status[256];               /* [sess->mu] why it is down */
};

/* Add n to a counter. */
static inline void stats_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* Set a value. */
static inline void stats_set(int64_t *field, int64_t v)
{
    __atomic_store_n(field, v, __ATOMIC_RELAXED);
}

/* Read a counter or value. */
#define stats_get(field) __atomic_load_n(field, __ATOMIC_RELAXED)

#endif
