/*
 * session.c - the public session API: connect, wait, close.
 *
 * sshtun_session_connect starts the session's I/O thread, which connects,
 * verifies the host key and authenticates (iothread.c), and waits for it
 * to report.  The session object is reference-counted: the caller holds
 * one reference, each live channel another, so a channel handle stays
 * valid after the session is closed.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/channel.h"
#include "base/chunk.h"
#include "base/clock.h"
#include "base/error.h"
#include "forward/forward.h"
#include "engine/session.h"

/* Initialise libssh2 once, before threads start. */
int sshtun_global_init(void)
{
    return libssh2_init(0) ? SSHTUN_ERR_NOMEM : 0;
}

/* Undo sshtun_global_init. */
void sshtun_global_cleanup(void)
{
    libssh2_exit();
    chunk_pool_drain();
}

/* Free the session object itself. */
static void session_free(struct sshtun_session *s)
{
    if (s->wakefd >= 0)
        close(s->wakefd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sshtun_options_free(s->opts);
    free(s);
}

/* Drop a reference. */
void session_unref(struct sshtun_session *s)
{
    int left;

    pthread_mutex_lock(&s->mu);
    left = --s->refs;
    pthread_mutex_unlock(&s->mu);
    if (left == 0)
        session_free(s);
}

/* Record the session's end reason. */
void session_set_error_locked(struct sshtun_session *s, const char *msg)
{
    if (!s->last_error[0])
        snprintf(s->last_error, sizeof s->last_error, "%s", msg);
}

/* Queue ch for the I/O thread; the dirty list holds a reference. */
void session_mark_dirty(struct sshtun_session *s, struct sshtun_channel *ch)
{
    int wake = 0;

    pthread_mutex_lock(&s->mu);
    if (s->state == SS_LOST || s->state == SS_DONE) {
        /* The I/O thread is finishing: a channel it never adopted fails
         * here (io changes only under s->mu), and nothing is queued. */
        int fail = ch->io == IO_NEW;
        if (fail)
            ch->io = IO_DONE;
        pthread_mutex_unlock(&s->mu);
        if (fail) {
            channel_finish(ch, CS_FAILED, SSHTUN_ERR_SESSION, "session closed");
            channel_unref(ch);         /* the I/O thread's reference */
        }
        return;
    }
    if (!ch->dirty) {
        ch->dirty = 1;
        __atomic_add_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL);
        ch->dirty_next = NULL;
        if (s->dirty_tail)
            s->dirty_tail->dirty_next = ch;
        else {
            s->dirty_head = ch;
            wake = 1;               /* empty -> non-empty */
        }
        s->dirty_tail = ch;
    }
    pthread_mutex_unlock(&s->mu);
    if (wake)
        session_wake(s);
}

/* Wake the I/O thread. */
void session_wake(struct sshtun_session *s)
{
    uint64_t one = 1;
    ssize_t n = write(s->wakefd, &one, sizeof one);

    (void)n;                        /* EAGAIN: counter already non-zero */
}

/* Fill in defaults the options leave open (User). */
static int complete_options(sshtun_options *o, sshtun_error *err)
{
    if (!o->hostname || !*o->hostname)
        return error_set(err, SSHTUN_ERR_INVAL, "no host to connect to "
                         "(HostName is not set)");
    if (!o->user) {
        const char *u = getenv("USER");
        struct passwd *pw;
        if (!u || !*u) {
            pw = getpwuid(getuid());
            u = pw ? pw->pw_name : NULL;
        }
        if (!u)
            return error_set(err, SSHTUN_ERR_INVAL, "no User set and the "
                             "local user name is unknown");
        if (!(o->user = strdup(u)))
            return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    }
    return 0;
}

/* Connect, verify, authenticate; returns the session or NULL. */
sshtun_session *sshtun_session_connect(const sshtun_options *opts,
                                       sshtun_error *err)
{
    struct sshtun_session *s;
    int rc;

    error_clear(err);
    if (!opts) {
        error_set(err, SSHTUN_ERR_INVAL, "no options");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->opts = options_dup(opts))) {
        free(s);
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    s->wakefd = -1;
    s->sock = -1;
    s->bridge_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    {
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&s->cv, &a);
        pthread_condattr_destroy(&a);
    }
    s->refs = 1;
    s->state = SS_CONNECTING;
    if ((rc = complete_options(s->opts, err))) {
        session_free(s);
        return NULL;
    }
    s->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wakefd < 0) {
        error_set(err, SSHTUN_ERR_IO, "eventfd: %s", strerror(errno));
        session_free(s);
        return NULL;
    }
    if ((rc = pthread_create(&s->io_thread, NULL, iothread_main, s))) {
        error_set(err, SSHTUN_ERR_NOMEM, "cannot start I/O thread: %s",
                  strerror(rc));
        session_free(s);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    while (s->state == SS_CONNECTING)
        pthread_cond_wait(&s->cv, &s->mu);
    rc = s->state == SS_UP;
    pthread_mutex_unlock(&s->mu);
    if (rc)
        return s;
    pthread_join(s->io_thread, NULL);
    if (err)
        *err = s->connect_err;
    session_free(s);
    return NULL;
}

/* Whether the session is up. */
int sshtun_session_alive(sshtun_session *s)
{
    int up;

    if (!s)
        return 0;
    pthread_mutex_lock(&s->mu);
    up = (s->state == SS_UP || s->state == SS_RECONNECTING) && !s->stop;
    pthread_mutex_unlock(&s->mu);
    return up;
}

/* Wait for the session to end. */
int sshtun_session_wait(sshtun_session *s, int timeout_ms)
{
    struct timespec ts, *dl = clock_deadline_after(&ts, timeout_ms);
    int rc = 0;

    if (!s)
        return SSHTUN_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    while ((s->state == SS_UP || s->state == SS_RECONNECTING) && !s->stop) {
        if (dl) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, dl) == ETIMEDOUT) {
                rc = (s->state == SS_UP || s->state == SS_RECONNECTING)
                     && !s->stop ? SSHTUN_ERR_TIMEOUT : 0;
                break;
            }
        } else {
            pthread_cond_wait(&s->cv, &s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Why the session ended. */
const char *sshtun_session_last_error(sshtun_session *s)
{
    return s ? s->last_error : "";
}

/* Stop accepting, let the I/O thread drain and end, stop the forwards,
 * drop the caller's reference. */
void sshtun_session_close(sshtun_session *s)
{
    struct sshtun_forward *forwards;

    if (!s)
        return;
    /* Listeners first (nobody new gets in), then the I/O thread, which
     * lets channels finish sending (bounded) and then fails the rest, so
     * the forwards' connection threads end promptly when closed last. */
    forwards = forward_take_all(s);
    forward_stop_accepting_list(forwards);
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    session_wake(s);
    pthread_join(s->io_thread, NULL);
    forward_close_list(forwards);
    session_unref(s);
}
