/*
 * forward.h - forwards that run by themselves on a session.
 *
 * A forward owns its listening sockets and one accept thread.  Each
 * accepted client gets its own reader thread, which runs the forward
 * kind's connect step (for -L: open the channel; for -D: the SOCKS
 * handshake, then open) so that a slow client or a slow open never holds
 * up another client, and then starts a writer thread: reader = client
 * socket -> channel, writer = channel -> client socket.  Half-closes
 * pass through both ways.
 */
#ifndef SSHTUN_FORWARD_H
#define SSHTUN_FORWARD_H

#include <stdint.h>

#include "sshtun.h"

struct forward_conn;
struct socks_counters;
struct sshtun_channel;

/* What differs between forward kinds. */
struct forward_kind {
    const char *name;               /* "local", "dynamic" */
    /* In the client's reader thread: return an open channel, or NULL
     * after telling the client (and the log) why. */
    struct sshtun_channel *(*connect)(struct forward_conn *c);
    void (*free_cfg)(void *cfg);
};

/* Start serving: with rl NULL, listen locally on the Unix socket path, or
 * else on bind_addr:port (bind_addr NULL: default loopback); otherwise
 * take the connections the server forwards to rl.
 * The forward owns cfg and rl afterwards, even on failure. */
struct sshtun_forward *forward_start(struct sshtun_session *s,
                                     const struct forward_kind *kind, void *cfg,
                                     const char *bind_addr, int port,
                                     const char *path, sshtun_listener *rl,
                                     sshtun_error *err);

/* The kind's configuration. */
void *forward_cfg(struct sshtun_forward *f);

/* A connection's socket, peer ("addr:port"), forward and session. */
int forward_conn_fd(const struct forward_conn *c);
const char *forward_conn_peer(const struct forward_conn *c);
struct sshtun_forward *forward_conn_forward(const struct forward_conn *c);
struct sshtun_session *forward_conn_session(const struct forward_conn *c);

/* Remote kinds: the channel the connection arrived on, and setting the
 * local socket once connected. */
struct sshtun_channel *forward_conn_channel(const struct forward_conn *c);
void forward_conn_set_fd(struct forward_conn *c, int fd);

/* Open a direct-tcpip channel for this client and wait for it (bounded by
 * ConnectTimeout, else 60 s); closing the forward cancels the wait.
 * Returns the channel or NULL with err. */
struct sshtun_channel *forward_conn_open(struct forward_conn *c,
                                         const char *host, int port,
                                         sshtun_error *err);

/* The same to a Unix socket on the server (direct-streamlocal). */
struct sshtun_channel *forward_conn_open_path(struct forward_conn *c,
                                              const char *path,
                                              sshtun_error *err);

/* Count a failed channel open (or a remote kind's failed local connect)
 * by its SSHTUN_ERR_* code. */
void forward_count_open_failure(struct sshtun_forward *f, int code);

/* The counters a SOCKS kind hands to its socks_io. */
struct socks_counters *forward_socks_counters(struct sshtun_forward *f);

/* Record the spec a forward was started with (its identity for
 * statistics and for cancelling by spec). */
void forward_set_spec(struct sshtun_forward *f, const char *spec);

/* Call fn for each of the session's live forwards that has a spec, with
 * the forwards' registry locked (fn may read the forward, e.g. with
 * sshtun_forward_stats, but not close or start one).  Stops at the first
 * non-zero return and returns it. */
int forward_each(struct sshtun_session *s,
                 int (*fn)(struct sshtun_forward *f, const char *kind,
                           const char *spec, void *arg),
                 void *arg);

/* Close the first forward for which match returns non-zero (called as
 * in forward_each).  Returns 0, or -1 if none matched. */
int forward_close_matching(struct sshtun_session *s,
                           int (*match)(struct sshtun_forward *f,
                                        const char *kind, const char *spec,
                                        void *arg),
                           void *arg);

/* A connection whose client has stopped reading. */
struct forward_stalled_conn {
    char peer[80];
    uint64_t queued;                /* received, not yet taken */
    uint64_t window;                /* what the server may still send */
};

/* Fill out with up to max of f's stalled connections; returns how many. */
int forward_stalled(struct sshtun_forward *f, struct forward_stalled_conn *out,
                    int max);

/* Give up the caller's handle: the session owns the forward from now on
 * (it ends with the session, or by forward_close_matching). */
void forward_release(struct sshtun_forward *f);

#endif
