/*
 * channel.h - the channel object: a mailbox between caller threads and the
 * session's I/O thread.
 *
 * Like the Erlang channel process the project grew from, each channel
 * keeps the data received and not yet taken (in), the threads waiting in
 * recv (recv_waiters), and data waiting to be sent (out).  Both queues
 * are bounded: when `in` is full the I/O thread stops reading the channel,
 * so its SSH window closes and the server stops sending; when `out` is
 * full, send blocks.  Caller-side fields are guarded by mu; fields marked
 * "io" belong to the I/O thread.
 */
#ifndef SSHTUN_CHANNEL_H
#define SSHTUN_CHANNEL_H

#include <libssh2.h>
#include <pthread.h>
#include <stdint.h>

#include "base/chunk.h"
#include "sshtun.h"
#include "base/waitq.h"
#include "engine/window.h"

/* Memory buffered per direction beyond the SSH window, counted as the
 * chunks held (chunkq.held), not as payload. */
#define CHAN_IN_CAP (256 * 1024)
#define CHAN_OUT_CAP (256 * 1024)

/* How long the inbound queue must stay full before the reader counts as
 * stalled (its window then falls back). */
#define CHAN_STALL_MS 250

/* How long a close may wait for the server's CLOSE before giving up. */
#define CHAN_CLOSE_GRACE_MS 5000

enum chan_state {
    CS_QUEUED,          /* open requested, not yet sent */
    CS_OPENING,         /* open sent, waiting for the server */
    CS_OPEN,
    CS_FAILED,          /* open refused or timed out */
    CS_CLOSED           /* closed by either side or session lost */
};

struct conn;

struct sshtun_channel {
    struct sshtun_session *sess;    /* holds a session reference */
    struct conn *conn;              /* atomic: set once, when a connection
                                       takes the open; holds a reference */

    pthread_mutex_t mu;
    enum chan_state state;          /* [mu] */
    int err;                        /* [mu] why FAILED/CLOSED (0: clean) */
    char errmsg[512];               /* [mu] */
    int refs;                       /* atomic: user, owner (the pool's
                                       open queue, then the I/O thread),
                                       calls in progress */
    int user_closed;                /* [mu] sshtun_close called */

    struct chunkq in;               /* [mu] received, not yet taken */
    int in_eof;                     /* [mu] server sent EOF */
    int in_stalled;                 /* [mu] I/O thread stopped reading */
    uint64_t in_window;             /* atomic: the read window when it
                                       stopped (statistics only) */
    struct waitq recv_waiters;      /* [mu] */

    struct chunkq out;              /* [mu] to send */
    int out_eof;                    /* [mu] shutdown requested */
    struct waitq send_waiters;      /* [mu] */
    struct waitq state_waiters;     /* [mu] open result / close */

    int dirty;                      /* atomic: the caller side changed
                                       something since the I/O thread last
                                       served the channel */

    struct sshtun_channel *pool_next;   /* [sess->mu] in the open queue */
    int in_pool;                    /* [sess->mu] waiting in the open queue */
    struct sshtun_channel *q_next;  /* [listener mu] in an accept queue */

    /* Set at creation, read-only after. */
    char *type;                     /* "direct-tcpip" */
    unsigned char *open_payload;
    size_t open_payload_len;
    char *target;                   /* "host:port" for messages */

    /* io: the owning connection's I/O thread's own state. */
    LIBSSH2_CHANNEL *lch;
    int64_t open_sent_ms;           /* when the open went out */
    struct window win;              /* receive window and its budget */
    int64_t full_since;             /* inbound queue full since (0: not) */
    struct sshtun_channel *io_next; /* the connection's channel list */
    int eof_sent;
    int in_eof_seen;
    struct chunk *out_cur;          /* chunk being written */
    int64_t flush_deadline;         /* closed by the caller: until when
                                       queued data may still be sent */
    int64_t close_deadline;         /* 0: not closing */
    int out_blocked;                /* data or EOF left behind a full
                                       send buffer or window */
    int settled;                    /* nothing left to do until the caller
                                       or the server acts (see chanio.c) */
};

/* Tell the channel's connection that the channel needs its I/O thread
 * (data or EOF queued, room made, closed).  Call without ch->mu. */
void channel_mark_dirty(struct sshtun_channel *ch);

/* A new channel object of type, with its open payload, for messages
 * named target: two references (the caller's and its owner's), state
 * CS_QUEUED, on no connection.  NULL if out of memory. */
struct sshtun_channel *channel_new(struct sshtun_session *s, const char *type,
                                   const unsigned char *payload, size_t len,
                                   const char *target);

/* Free a channel from channel_new that no session has counted (its open
 * was refused before it was queued). */
void channel_discard(struct sshtun_channel *ch);

/* Take a reference. */
void channel_ref(struct sshtun_channel *ch);

/* Drop one reference (with ch->mu not held); frees at zero. */
void channel_unref(struct sshtun_channel *ch);

/* Hand a full chunk to the channel for sending; the channel owns it
 * afterwards, whatever the result.  Blocks while `out` is full.
 * Returns 0 or a negative error. */
int channel_send_chunk(struct sshtun_channel *ch, struct chunk *c,
                       const struct timespec *deadline);

/* Take the next received chunk; the caller owns it and must chunk_put it.
 * Returns 1 with *out set, 0 at EOF, or a negative error. */
int channel_recv_chunk(struct sshtun_channel *ch, struct chunk **out,
                       const struct timespec *deadline);

/* Block until the channel is closed (by the server, by sshtun_close or by
 * the session ending). */
void channel_wait_closed(struct sshtun_channel *ch);

/* I/O thread: wrap a channel the server opened (forwarded-tcpip) on
 * connection c as an open channel (not yet on c's list); one reference
 * for the caller, one for the I/O thread.  NULL if out of memory or the
 * session is at its limit. */
struct sshtun_channel *channel_new_accepted(struct conn *c,
                                            LIBSSH2_CHANNEL *lch,
                                            const char *target);

/* Close the channel while others may still hold it: blocked calls return
 * SSHTUN_ERR_CLOSED; the caller's reference stays. */
void channel_abort(struct sshtun_channel *ch);

/* I/O thread: move ch to a final state with a reason and wake everyone. */
void channel_finish(struct sshtun_channel *ch, enum chan_state st, int err,
                    const char *msg);

#endif
