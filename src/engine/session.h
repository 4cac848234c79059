/*
 * session.h - the session: what a user connects, and what owns the SSH
 * connections that carry it.
 *
 * A session holds what outlives any one connection: the options, the
 * host key the first connection accepted, the statistics, the cleanup
 * hooks of the layers above (forwards), and a pool of connections
 * (pool.h).  A connection (conn.h) is one libssh2 session with its own
 * socket, I/O thread and channels; the first one is made by
 * sshtun_session_connect and reconnects when asked to, the others come
 * and go with the load.  The session's state is its first connection's:
 * it is up while that one is up or reconnecting.
 *
 * Lock order: a session's mu before a connection's mu before a
 * channel's mu; no lock is held while joining or waiting for a thread.
 */
#ifndef SSHTUN_SESSION_H
#define SSHTUN_SESSION_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "config/options.h"
#include "engine/counters.h"
#include "sshtun.h"

struct auth_memo;
struct sshtun_channel;
struct conn;

enum session_state {
    SS_CONNECTING,      /* the first connection is being made */
    SS_UP,              /* serving */
    SS_RECONNECTING,    /* the first connection was lost and is being made
                           again (Reconnect=yes); forwards stay */
    SS_LOST,            /* ended; connections finishing */
    SS_DONE             /* every connection's thread has finished */
};

/* A layer above registers one of these to be told when the session
 * closes (forwards do): first stop, while the connections still run (no
 * new clients), then close, once they have ended.  Neither is called
 * with a lock held. */
struct session_hook {
    void (*stop)(void *arg);
    void (*close)(void *arg);
    void *arg;
    struct session_hook *next;      /* [sess->mu] */
};

/* The most connections a pool may have (PoolMax's upper bound). */
#define POOL_LIMIT OPTS_POOL_LIMIT

/* The pool of connections (pool.c keeps it; fields [mu]). */
struct pool {
    struct conn *conns[POOL_LIMIT];  /* [mu] live connections */
    int n;                          /* [mu] entries used */
    int threads;                    /* [mu] I/O threads not yet finished */
    int connecting;                 /* [mu] extra connections being made */
    int64_t retry_at;               /* [mu] no new connection before */
    int retry_delay_ms;             /* [mu] backoff after a failure */
    int exhausted_logged;           /* [mu] said once that max is reached */
    int single_only;                /* [mu] logins cannot be repeated */
    int next_id;                    /* [mu] names connections in logs */
    int rtt_ms;                     /* atomic: the fastest open answer
                                       seen, ms (0: none yet) */
    struct conn *ended;             /* [mu] finished, to be joined */
    struct sshtun_channel *open_head;   /* [mu] to write; atomic reads:
                                           opens no connection took */
    struct sshtun_channel *open_tail;   /* [mu] */
    int open_len;                   /* [mu] to write; atomic */
};

struct sshtun_session {
    sshtun_options *opts;           /* own copy, read-only once up */

    pthread_mutex_t mu;
    pthread_cond_t cv;              /* state and pool changes */
    int refs;                       /* [mu] user, channels, listeners,
                                       connections, forwards */
    enum session_state state;       /* [mu] the first connection's */
    int stop;                       /* [mu] to write; atomic reads: close
                                       requested */
    char last_error[512];           /* [mu] */
    sshtun_error connect_err;       /* [mu] the first connect's result */
    int nchannels;                  /* [mu] live channel objects */
    int forwarding_disabled;        /* host key changed, accepted with
                                       StrictHostKeyChecking=no; set
                                       before connect returns */
    struct session_hook *hooks;     /* [mu] */
    struct pool pool;               /* [mu] */

    /* How the first connection authenticated: the others do the same,
     * with any password or passphrase typed kept (locked, wiped). */
    struct auth_memo *memo;

    /* The host key the first connection accepted: every later
     * connection must present the same. */
    unsigned char *hostkey;         /* [mu] */
    size_t hostkey_len;             /* [mu] */
    struct session_stats stats;     /* counters (engine/counters.h) */
};

/* Maximum channel objects per session: bounds every per-session list. */
#define SESSION_MAX_CHANNELS 65536

/* A new session object with its own copy of opts, one reference (the
 * caller's), no connection; NULL with err if out of memory. */
struct sshtun_session *session_new(const sshtun_options *opts,
                                   sshtun_error *err);

/* Take / drop a reference; the last one frees the session. */
void session_ref(struct sshtun_session *s);
void session_unref(struct sshtun_session *s);

/* Record why the session ended, the first reason only (s->mu held). */
void session_set_error_locked(struct sshtun_session *s, const char *msg);

/* Set the session's state and wake whoever waits on it. */
void session_set_state(struct sshtun_session *s, enum session_state st);

/* Whether close was requested. */
int session_stopping(struct sshtun_session *s);

/* Register a hook (with a session reference, dropped when it is
 * removed or has run).  Fails with SSHTUN_ERR_SESSION once the session is
 * closing. */
int session_hook_add(struct sshtun_session *s, struct session_hook *h,
                     sshtun_error *err);

/* Remove a hook that has not run.  Returns 1 if it was removed (the
 * caller closes what it guards), 0 if the session's close has it. */
int session_hook_remove(struct sshtun_session *s, struct session_hook *h);

#endif
