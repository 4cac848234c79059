/*
 * connect.h - making a connection: TCP or proxy, key exchange, host key,
 * authentication; tearing it down; reconnecting the first connection.
 * Runs on the connection's I/O thread, with deadlines.
 */
#ifndef SSHTUN_CONNECT_H
#define SSHTUN_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "sshtun.h"

struct conn;

/* Connect, handshake, check the host key, authenticate.  0 or an error. */
int connect_run(struct conn *c, sshtun_error *err);

/* Wait until libssh2 can make progress (socket readable or our send
 * buffer flushed) or deadline_ms (clock_now_ms based) passes.  0, or
 * SSHTUN_ERR_TIMEOUT / _SESSION with err. */
int connect_wait_socket(struct conn *c, int64_t deadline_ms,
                        sshtun_error *err);

/* Disconnect (politely unless lost, bounded), free libssh2's session,
 * close the socket and any proxy. */
void connect_teardown(struct conn *c, int lost);

/* The first connection, lost with Reconnect=yes: connect again with
 * backoff.  Returns 1 when up again, 0 when asked to stop, -1 when giving
 * up (reason filled). */
int connect_again(struct conn *c, char *reason, size_t size);

#endif
