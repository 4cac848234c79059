/*
 * proxy.h - reaching the SSH server through something other than a
 * direct TCP connection: ProxyCommand (a program's stdin/stdout) and
 * ProxyJump (-J: a direct-tcpip channel of another session, hop by hop).
 *
 * Either way the connection gets one end of a socketpair as its socket, so
 * everything above (handshake, host keys, auth, the I/O loop) is the same.
 * Each jump hop is a full session of its own, with its own host key check
 * and authentication; its channel is bridged to the socketpair by
 * sshtun_forward_stdio in a thread.
 */
#ifndef SSHTUN_PROXY_H
#define SSHTUN_PROXY_H

#include "config/options.h"

struct conn;

/* Whether the options ask for a proxy. */
int proxy_wanted(const sshtun_options *o);

/* Connect through ProxyCommand or ProxyJump; *fd gets a non-blocking
 * socket.  Runs on the session's I/O thread during connect. */
int proxy_connect(struct conn *c, int *fd, sshtun_error *err);

/* Stop what proxy_connect started (after the session's socket is
 * closed): reap the command, close the jump session, join the bridge. */
void proxy_close(struct conn *c);

#endif
