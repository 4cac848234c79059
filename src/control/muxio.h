/*
 * muxio.h - multiplexing messages on a Unix stream socket: whole frames
 * in and out, and descriptors passed beside them (SCM_RIGHTS).
 */
#ifndef SSHTUN_MUXIO_H
#define SSHTUN_MUXIO_H

#include <stddef.h>

#include "control/muxmsg.h"

/* Read one frame and parse it into m; *body (freed by the caller) holds
 * the bytes m's text points into.  Reads exactly the frame, never past
 * it, so descriptors sent after it stay in the socket.  timeout_ms -1:
 * none.  Returns 0, or -1 with err ("" when the peer closed cleanly). */
int muxio_read(int fd, struct mux_msg *m, unsigned char **body,
               int timeout_ms, char *err, size_t errsize);

/* Encode and send m whole.  Returns 0 or -1. */
int muxio_send(int fd, const struct mux_msg *m);

/* Pass one descriptor with a one-byte message (as ssh's mm_send_fd). */
int muxio_send_fd(int sock, int fd);

/* Receive one passed descriptor; -1 if none came. */
int muxio_recv_fd(int sock);

#endif
