/*
 * bridge.h - joining a pair of file descriptors to a channel (-W, jump
 * hosts, the control socket's stdio forwarding).
 */
#ifndef SSHTUN_BRIDGE_H
#define SSHTUN_BRIDGE_H

#include "sshtun.h"

struct sshtun_channel;
struct sshtun_session;

/* Join in_fd/out_fd to an open channel until both sides end; the channel
 * stays the caller's.  On every return out_fd has been shut down, or
 * closed if it is not a socket.  0 or an error with err. */
int bridge_run(struct sshtun_channel *ch, int in_fd, int out_fd,
               sshtun_error *err);

/* Open a direct-tcpip channel to host:port on s (within ConnectTimeout,
 * else 60 s) and bridge_run it.  0 or an error with err. */
int bridge_stdio(struct sshtun_session *s, const char *host, int port,
                 int in_fd, int out_fd, sshtun_error *err);

#endif
