/*
 * remote.h - remote listeners: ports the SSH server listens on for us
 * (RFC 4254 7.1, "tcpip-forward"), whose connections arrive as
 * forwarded-tcpip channels.
 *
 * Callers ask for a listener and wait; the I/O thread sends the request
 * (libssh2 allows one pending at a time, so requests queue), accepts the
 * channels the server opens and queues them, bounded, on the listener,
 * where sshtun_accept takes them.  The functions marked "I/O thread" are
 * the only ones here that call libssh2.
 */
#ifndef SSHTUN_REMOTE_H
#define SSHTUN_REMOTE_H

#include <libssh2.h>
#include <pthread.h>

#include "sshtun.h"
#include "base/waitq.h"

/* Accepted channels a listener holds; past that the I/O thread leaves
 * new ones in libssh2's own queue, which refuses more past its bound. */
#define LISTENER_QUEUE_MAX 64
#define LIBSSH2_QUEUE_MAX 512

enum listener_state { LS_REQUESTED, LS_ACTIVE, LS_FAILED, LS_CLOSED };

struct conn;

struct sshtun_listener {
    struct sshtun_session *sess;    /* holds a session reference */
    struct conn *conn;              /* the connection that asked, which
                                       carries it (a reference) */
    char *bind;                     /* as sent; "" for all */
    int port;                       /* as asked; 0: server picks */

    pthread_mutex_t mu;
    enum listener_state state;      /* [mu] */
    int err;                        /* [mu] */
    char errmsg[256];               /* [mu] */
    int bound_port;                 /* [mu] */
    int user_closed;                /* [mu] */
    int refs;                       /* atomic: caller + I/O thread */
    struct sshtun_channel *q_head;  /* [mu] accepted, not yet taken */
    struct sshtun_channel *q_tail;  /* [mu] */
    int q_len;                      /* [mu] */
    struct waitq accept_waiters;    /* [mu] */
    struct waitq state_waiters;     /* [mu] */

    struct sshtun_listener *new_next;   /* [conn->mu] not yet adopted */

    /* io */
    LIBSSH2_LISTENER *ll;
    int started;                    /* libssh2 request in progress */
    int64_t retry_at;               /* re-request not before (clock_now_ms) */
    int retry_delay_ms;
    struct sshtun_listener *io_next;
};

/* Cancel the forward and wake blocked accepts, keeping the handle valid
 * (for a thread still inside sshtun_accept); sshtun_listener_close
 * releases it afterwards. */
void remote_listener_cancel(struct sshtun_listener *l);

/* I/O thread: adopt listeners asked for since the last call. */
void remote_take_new(struct conn *c);

/* I/O thread: advance requests, accept channels, handle closes.  Returns
 * 1 on progress, 0, or -1 if the session is lost. */
int remote_serve(struct conn *c);

/* I/O thread: the connection was lost and will be made again: forget
 * libssh2's listeners, drop queued channels, and ask again (for the same
 * port) once up. */
void remote_reset_all(struct conn *c);

/* I/O thread: whether some active listener has room to accept (and so
 * will read the socket through libssh2). */
int remote_can_accept(struct conn *c);

/* I/O thread: fail every listener (session ending). */
void remote_fail_all(struct conn *c, int code, const char *msg);

#endif
