/*
 * log.c - formatting log lines for the user's callback (see log.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

/* Text from clients and servers (names in log lines, a server's prompts)
 * may hold no control characters by the time it reaches a terminal or a
 * log file: each becomes '?'. */
void log_strip_controls(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Deliver one formatted line if the level is enabled. */
void log_line(const struct log_sink *sink, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int max;

    if (!sink || !sink->fn)
        return;
    max = sink->level >= 0 ? sink->level : SSHTUN_LOG_INFO;
    if (level > max)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_strip_controls(line);
    sink->fn(level, line, sink->user);
}
