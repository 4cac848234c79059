/*
 * stats.h - a session's state changes as its counters record them, and
 * their report (sshtun_session_stats).  The counters are in counters.h.
 */
#ifndef SSHTUN_STATS_H
#define SSHTUN_STATS_H

#include <stdint.h>

#include "engine/counters.h"

struct sshtun_session;

/* The I/O thread: the connection came up (1) or went down (0). */
void stats_session_up(struct sshtun_session *s, int up);

/* The I/O thread: next reconnect attempt at clock_now_ms() value at_ms, and
 * why the session is down. */
void stats_session_retry(struct sshtun_session *s, int64_t at_ms,
                         const char *why);

/* The I/O thread: a keepalive probe came back after rtt_ms. */
void stats_keepalive(struct sshtun_session *s, int64_t rtt_ms);

#endif
