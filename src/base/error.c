/*
 * error.c - error codes, their descriptions, and libssh2 result mapping.
 *
 * The library never prints: each failure becomes a code plus a message
 * that the caller (the CLI, or a program) may show.  See error.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

/* Short fixed description of an error code. */
const char *sshtun_strerror(int code)
{
    switch (code) {
    case SSHTUN_OK: return "success";
    case SSHTUN_ERR_INVAL: return "invalid argument";
    case SSHTUN_ERR_NOMEM: return "out of memory";
    case SSHTUN_ERR_RESOLVE: return "could not resolve host name";
    case SSHTUN_ERR_CONNECT: return "could not connect to server";
    case SSHTUN_ERR_TIMEOUT: return "timed out";
    case SSHTUN_ERR_HANDSHAKE: return "SSH handshake failed";
    case SSHTUN_ERR_HOSTKEY_UNKNOWN: return "host key is not known";
    case SSHTUN_ERR_HOSTKEY_CHANGED: return "host key has changed";
    case SSHTUN_ERR_AUTH: return "authentication failed";
    case SSHTUN_ERR_PROHIBITED: return "administratively prohibited";
    case SSHTUN_ERR_CONNECT_FAILED: return "connect failed";
    case SSHTUN_ERR_UNKNOWN_TYPE: return "unknown channel type";
    case SSHTUN_ERR_RESOURCE: return "resource shortage";
    case SSHTUN_ERR_OPEN_FAILED: return "channel open failed";
    case SSHTUN_ERR_CLOSED: return "channel closed";
    case SSHTUN_ERR_SESSION: return "session lost";
    case SSHTUN_ERR_BIND: return "could not bind listener";
    case SSHTUN_ERR_IO: return "I/O error";
    case SSHTUN_ERR_UNSUPPORTED: return "not supported";
    case SSHTUN_ERR_KEY: return "key file unusable";
    default: return "unknown error";
    }
}

/* Set err to code and a formatted message; returns code. */
int error_set(sshtun_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Clear err to success. */
void error_clear(sshtun_error *err)
{
    if (err) {
        err->code = SSHTUN_OK;
        err->msg[0] = '\0';
    }
}

/* Map libssh2's open-failure text to a code (see libssh2 channel.c). */
int error_from_open_failure(const char *msg)
{
    if (!msg)
        return SSHTUN_ERR_OPEN_FAILED;
    if (strstr(msg, "administratively prohibited"))
        return SSHTUN_ERR_PROHIBITED;
    if (strstr(msg, "connect failed"))
        return SSHTUN_ERR_CONNECT_FAILED;
    if (strstr(msg, "unknown channel type"))
        return SSHTUN_ERR_UNKNOWN_TYPE;
    if (strstr(msg, "resource shortage"))
        return SSHTUN_ERR_RESOURCE;
    if (strstr(msg, "Timed out") || strstr(msg, "timed out"))
        return SSHTUN_ERR_TIMEOUT;
    return SSHTUN_ERR_OPEN_FAILED;
}

/* RFC 4254 name of an open-failure code. */
const char *error_open_reason(int code)
{
    switch (code) {
    case SSHTUN_ERR_PROHIBITED: return "administratively prohibited";
    case SSHTUN_ERR_CONNECT_FAILED: return "connect failed";
    case SSHTUN_ERR_UNKNOWN_TYPE: return "unknown channel type";
    case SSHTUN_ERR_RESOURCE: return "resource shortage";
    default: return sshtun_strerror(code);
    }
}
