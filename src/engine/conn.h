/*
 * conn.h - one SSH connection of a session: a socket, a libssh2 session,
 * the I/O thread that alone calls libssh2 for it, and its channels.
 *
 * Other threads reach the I/O thread by changing a channel's mailbox and
 * then waking it through the connection's eventfd (channel_mark_dirty),
 * which the I/O thread's poll() watches; it then looks at every channel
 * it carries.  What only the I/O
 * thread touches lives in struct conn_io (iothread.h), which no file
 * outside the I/O thread's own sees.
 *
 * A connection is reference-counted: the pool holds one while it is
 * live, its I/O thread one, and every channel and remote listener on it
 * one, so a caller that still holds a channel can always mark it dirty.
 */
#ifndef SSHTUN_CONN_H
#define SSHTUN_CONN_H

#include <pthread.h>
#include <stdint.h>

#include "sshtun.h"

struct sshtun_session;
struct sshtun_channel;
struct sshtun_listener;
struct conn_io;

enum conn_state {
    CONN_CONNECTING,    /* connect, handshake, host key, authentication */
    CONN_UP,            /* serving channels */
    CONN_RECONNECTING,  /* the first connection, lost, being made again */
    CONN_LOST,          /* ending: channels are being failed */
    CONN_DONE           /* the I/O thread no longer looks at anything */
};

struct conn {
    struct sshtun_session *sess;    /* holds a session reference */
    int primary;                    /* the first connection: reconnects,
                                       carries the remote listeners */
    int id;                         /* for log lines: 1, 2, ... */
    int wakefd;                     /* eventfd: wakes the I/O thread */
    int wake_pending;               /* atomic: wakefd written, not yet
                                       seen (saves redundant writes) */
    int refs;                       /* atomic */
    pthread_t thread;               /* the I/O thread, joined by the pool */
    struct conn *ended_next;        /* [sess->mu] finished, to be joined */

    pthread_mutex_t mu;
    enum conn_state state;          /* [mu] to write; atomic reads */
    int stop;                       /* [mu] to write; atomic reads: asked
                                       to end */
    struct sshtun_listener *listeners_new;  /* [mu] asked for, not yet
                                               taken by the I/O thread */
    char proxy_error[256];          /* [mu] why a jump channel failed */

    /* Written by the I/O thread, read by the pool without a lock. */
    int64_t opening_since;          /* atomic: when the open in flight was
                                       sent (clock_now_ms); 0: none */
    int nchannels;                  /* atomic: channels carried */

    struct conn_io *io;             /* the I/O thread's own state */
};

/* A new connection object for s (not started), holding a session
 * reference; NULL if out of memory.  Call with s->mu held. */
struct conn *conn_new(struct sshtun_session *s, int primary, int id);

/* Take / drop a reference; the last one frees the connection. */
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/* Wake the I/O thread (after changing something it polls for). */
void conn_wake(struct conn *c);

/* I/O thread: consume a wake-up before looking at the channels. */
void conn_wake_consume(struct conn *c);

/* Ask the connection to end (its channels fail); returns at once. */
void conn_stop(struct conn *c);

/* Whether the connection was asked to end, or its session to close. */
int conn_stopping(struct conn *c);

/* The connection's state. */
enum conn_state conn_get_state(struct conn *c);

#endif
