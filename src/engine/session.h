/*
 * session.h - the session object shared by the I/O thread and callers.
 *
 * One I/O thread per session owns the LIBSSH2_SESSION, the socket and
 * every LIBSSH2_CHANNEL: no other thread calls libssh2.  Other threads
 * reach it by putting a channel on the session's dirty list (under mu)
 * and writing the wake eventfd when that list goes from empty to
 * non-empty; the I/O thread's poll() wakes and looks at each dirty
 * channel.
 */
#ifndef SSHTUN_SESSION_H
#define SSHTUN_SESSION_H

#include <libssh2.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/options.h"
#include "sshtun.h"
#include "engine/transport.h"

struct sshtun_channel;
struct sshtun_forward;
struct sshtun_listener;

enum session_state {
    SS_CONNECTING,      /* I/O thread doing connect/handshake/auth */
    SS_UP,              /* serving channels */
    SS_RECONNECTING,    /* lost, trying again (Reconnect=yes); forwards
                           stay, new channel opens wait */
    SS_LOST,            /* connection failed or ended; I/O thread exiting */
    SS_DONE             /* I/O thread finished */
};

struct sshtun_session {
    sshtun_options *opts;               /* own copy, read-only once up */

    pthread_mutex_t mu;
    pthread_cond_t cv;                  /* state changes */
    int refs;                           /* [mu] user + channels */
    enum session_state state;           /* [mu] */
    int stop;                           /* [mu] close requested */
    char last_error[512];               /* [mu] */
    struct sshtun_channel *dirty_head;  /* [mu] channels needing the I/O thread */
    struct sshtun_channel *dirty_tail;  /* [mu] */
    int nchannels;                      /* [mu] live channel objects */
    int forwarding_disabled;            /* host key changed, accepted
                                           with StrictHostKeyChecking=no */
    struct sshtun_forward *forwards;    /* [mu] running forwards */
    struct sshtun_listener *listeners_new;  /* [mu] remote listeners asked for */

    int wakefd;                         /* eventfd: wakes the I/O thread */
    pthread_t io_thread;
    sshtun_error connect_err;           /* result of the connect phase */

    /* Owned by the I/O thread alone. */
    int sock;
    LIBSSH2_SESSION *ssh;
    struct transport out;
    struct sshtun_channel *io_list;     /* channels the I/O thread serves */
    struct sshtun_channel *open_head;   /* opens waiting their turn */
    struct sshtun_channel *open_tail;
    struct sshtun_listener *io_listeners;   /* remote listeners, in order */
    LIBSSH2_CHANNEL *pump;              /* idle channel that lets us read */
    int pump_unavailable;
    int alive_pending;                  /* liveness probe awaiting reply */
    int64_t alive_sent_ms;              /* when the last probe went out */
    char lost_msg[256];                 /* why the loop gave up, if known */

    /* Proxies (proxy.c), owned by the I/O thread. */
    pid_t proxy_pid;                    /* ProxyCommand, or 0 */
    struct sshtun_session *jump;        /* ProxyJump's previous hop */
    pthread_t bridge;                   /* jump channel <-> socketpair */
    int bridge_fd;                      /* our end for the bridge, or -1 */
    char proxy_error[256];              /* [mu] why the jump channel failed */
};

/* How long a channel open waits for a reconnecting session. */
#define RECONNECT_OPEN_WAIT_MS 30000

/* Maximum channel objects per session: bounds every per-session list. */
#define SESSION_MAX_CHANNELS 65536

/* Put ch on the dirty list and wake the I/O thread if the list was empty.
 * Call without holding ch->mu. */
void session_mark_dirty(struct sshtun_session *s, struct sshtun_channel *ch);

/* Wake the I/O thread (after changing something it polls for). */
void session_wake(struct sshtun_session *s);

/* Drop one reference; frees the session when none are left. */
void session_unref(struct sshtun_session *s);

/* The I/O thread: connect phase, then the poll loop (iothread.c). */
void *iothread_main(void *arg);

/* Connect phase: wait until libssh2 can make progress (socket readable
 * or our send buffer flushed) or the deadline (clock_now_ms based) passes.
 * Returns 0, SSHTUN_ERR_TIMEOUT or SSHTUN_ERR_SESSION, with err. */
int iothread_wait_socket(struct sshtun_session *s, int64_t deadline_ms,
                         sshtun_error *err);

/* Record why the session ended (with s->mu held). */
void session_set_error_locked(struct sshtun_session *s, const char *msg);

#endif
