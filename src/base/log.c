/*
 * log.c - formatting log lines for the user's callback (see log.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

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
    /* Lines carry names from clients and servers: no control characters
     * may reach a terminal or a log file. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    sink->fn(level, line, sink->user);
}
