/*
 * clock.h - monotonic time in milliseconds, and deadlines.
 *
 * Every timeout in sshtun (connect, handshake, keepalive, SOCKS, reconnect
 * back-off) is a deadline on CLOCK_MONOTONIC, so a wall-clock step never
 * shortens or stretches one.  Deadlines are kept as milliseconds from
 * clock_now_ms() and turned into timespecs only for pthread_cond_timedwait.
 */
#ifndef SSHTUN_CLOCK_H
#define SSHTUN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t clock_now_ms(void);

/* Fill ts with now + timeout_ms and return it, or NULL if timeout_ms < 0. */
struct timespec *clock_deadline_after(struct timespec *ts, int timeout_ms);

/* Convert a clock_now_ms()-based deadline to a timespec. */
void clock_ms_to_timespec(int64_t ms, struct timespec *ts);

#endif
