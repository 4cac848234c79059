/*
 * ssherr.h - reading libssh2's errors.
 *
 * libssh2 keeps the text of its last error in the session; every engine
 * file that reports one reads it here.
 */
#ifndef SSHTUN_SSHERR_H
#define SSHTUN_SSHERR_H

#include <libssh2.h>

/* libssh2's text for the session's last error ("" if none). */
const char *ssherr_text(LIBSSH2_SESSION *ssh);

/* Whether a libssh2 error code concerns one channel only (the session
 * can go on). */
int ssherr_is_channel(int rc);

#endif
