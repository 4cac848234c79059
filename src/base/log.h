/*
 * log.h - the library's log lines, delivered to the user's callback.
 *
 * The library never prints.  Each line goes to the sshtun_log_fn set in
 * the options, if its level is within the options' LogLevel.
 */
#ifndef SSHTUN_LOG_H
#define SSHTUN_LOG_H

#include "sshtun.h"

/* Format and deliver one line to opts' log callback. */
void log_msg(const sshtun_options *opts, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
