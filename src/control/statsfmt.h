/*
 * statsfmt.h - a session's statistics as text: one JSON object for
 * programs (`sshtun -O stats`) and a short table for people (`-O stats
 * -v`, SIGUSR1).
 */
#ifndef SSHTUN_STATSFMT_H
#define SSHTUN_STATSFMT_H

#include <stddef.h>

#include "sshtun.h"

/* The forwards shown at most (more are counted in "forwards_omitted"). */
#define STATSFMT_MAX_FORWARDS 256

/* The stalled connections listed per forward at most. */
#define STATSFMT_MAX_STALLED 16

/* Write the statistics of s and its forwards into buf (NUL-terminated,
 * cut short if it does not fit).  Returns the length written. */
size_t statsfmt_json(sshtun_session *s, char *buf, size_t size);
size_t statsfmt_table(sshtun_session *s, char *buf, size_t size);

#endif
