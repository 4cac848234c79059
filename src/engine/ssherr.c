/*
 * ssherr.c - reading libssh2's errors (see ssherr.h).
 */
#include "config.h"

#include "engine/ssherr.h"

/* libssh2's text for the last error. */
const char *ssherr_text(LIBSSH2_SESSION *ssh)
{
    char *msg = NULL;

    if (!ssh)
        return "";
    libssh2_session_last_error(ssh, &msg, NULL, 0);
    return msg ? msg : "";
}

/* Whether a libssh2 error concerns one channel only. */
int ssherr_is_channel(int rc)
{
    switch (rc) {
    case LIBSSH2_ERROR_CHANNEL_FAILURE:
    case LIBSSH2_ERROR_CHANNEL_CLOSED:
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
    case LIBSSH2_ERROR_CHANNEL_UNKNOWN:
    case LIBSSH2_ERROR_CHANNEL_WINDOW_EXCEEDED:
    case LIBSSH2_ERROR_CHANNEL_PACKET_EXCEEDED:
    case LIBSSH2_ERROR_CHANNEL_OUTOFORDER:
    case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
        return 1;
    default:
        return 0;
    }
}
