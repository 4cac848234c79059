/*
 * proxy.h - reaching the SSH server through something other than a
 * direct TCP connection: ProxyCommand (a program's stdin/stdout) and
 * ProxyJump (-J: a direct-tcpip channel of another session, hop by hop).
 *
 * Either way the connection gets one end of a socketpair as its socket, so
 * everything above (handshake, host keys, auth, the I/O loop) is the same.
 * Each jump hop is a full session of its own, with its own host key check
 * and authentication; its channel is bridged to the socketpair in a
 * thread (bridge.c, reached through the registered proxy_jump_ops).
 */
#ifndef SSHTUN_PROXY_H
#define SSHTUN_PROXY_H

#include "config/options.h"

struct conn;
struct sshtun_session;

/* What a jump host needs from the top of the engine, which registers it
 * (lifecycle.c): a session to the hop, its end, and a channel from it
 * joined to a descriptor (bridge.c).  A pointer, so that this file,
 * which runs below them, does not call up. */
struct proxy_jump_ops {
    struct sshtun_session *(*connect)(const sshtun_options *o,
                                      sshtun_error *err);
    void (*close)(struct sshtun_session *s);
    int (*stdio)(struct sshtun_session *s, const char *host, int port,
                 int in_fd, int out_fd, sshtun_error *err);
};

/* Register the jump host operations (once, before any session). */
void proxy_set_jump_ops(const struct proxy_jump_ops *ops);

/* Whether the options ask for a proxy. */
int proxy_wanted(const sshtun_options *o);

/* Connect through ProxyCommand or ProxyJump; *fd gets a non-blocking
 * socket.  Runs on the session's I/O thread during connect. */
int proxy_connect(struct conn *c, int *fd, sshtun_error *err);

/* Stop what proxy_connect started (after the session's socket is
 * closed): reap the command, close the jump session, join the bridge. */
void proxy_close(struct conn *c);

#endif
