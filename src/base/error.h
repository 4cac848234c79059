/*
 * error.h - filling sshtun_error values and mapping libssh2's results.
 *
 * Every failing library call reports a negative SSHTUN_ERR_* code plus a
 * message.  libssh2 reports why a channel open was refused only as text in
 * its last-error string, so the mapping from that text to our codes lives
 * here, apart from any I/O, where it can be unit-tested.
 */
#ifndef SSHTUN_ERROR_H
#define SSHTUN_ERROR_H

#include "sshtun.h"

/* Set err (if not NULL) to code and a printf-style message; returns code. */
int error_set(sshtun_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear err to SSHTUN_OK and an empty message. */
void error_clear(sshtun_error *err);

/* Map libssh2's channel-open failure text ("Channel open failure (connect
 * failed)") to an SSHTUN_ERR_* code. */
int error_from_open_failure(const char *libssh2_msg);

/* The reason part of an open-failure code, as RFC 4254 names it. */
const char *error_open_reason(int code);

#endif
