/*
 * log.h - the library's log lines, delivered to the user's callback.
 *
 * The library never prints.  Each line goes to a sink: the user's
 * sshtun_log_fn and the highest level it wants (the options hold one;
 * config/options.h has log_msg() to log through it).
 */
#ifndef SSHTUN_LOG_H
#define SSHTUN_LOG_H

#include "sshtun.h"

struct log_sink {
    sshtun_log_fn fn;               /* NULL: lines are dropped */
    void *user;
    int level;                      /* highest level delivered; -1: INFO */
};

/* Format and deliver one line to the sink (which may be NULL). */
/* Replace every control character of s with '?'. */
void log_strip_controls(char *s);

void log_line(const struct log_sink *sink, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
