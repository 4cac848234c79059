/*
 * log.c - formatting log lines for the user's callback (see log.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"
#include "config/options.h"

/* Deliver one formatted line if the level is enabled. */
void log_msg(const sshtun_options *opts, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (!opts || !opts->log_fn || level > opts_log_level(opts))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Lines carry names from clients and servers: no control characters
     * may reach a terminal or a log file. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    opts->log_fn(level, line, opts->log_user);
}
