/*
 * session.c - the public session API: connect, wait, close, and the
 * hooks through which layers above learn that a session closes.
 *
 * sshtun_session_connect starts the first connection (pool.c), whose I/O
 * thread connects, verifies the host key and authenticates, and waits
 * for it to report.  The session object is reference-counted: the caller
 * holds one reference, each channel, listener, connection and hook
 * another, so a channel handle stays valid after the session is closed.
 */
#include "config.h"

#include <errno.h>
#include <libssh2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/chunk.h"
#include "base/clock.h"
#include "base/error.h"
#include "engine/conn.h"
#include "engine/pool.h"
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
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sshtun_options_free(s->opts);
    free(s->hostkey);
    free(s);
}

/* Take a reference. */
void session_ref(struct sshtun_session *s)
{
    pthread_mutex_lock(&s->mu);
    s->refs++;
    pthread_mutex_unlock(&s->mu);
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

/* Set the state and wake whoever waits on it. */
void session_set_state(struct sshtun_session *s, enum session_state st)
{
    pthread_mutex_lock(&s->mu);
    if (s->state != SS_DONE)
        s->state = st;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Whether close was requested. */
int session_stopping(struct sshtun_session *s)
{
    int stop;

    pthread_mutex_lock(&s->mu);
    stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Register a hook. */
int session_hook_add(struct sshtun_session *s, struct session_hook *h,
                     sshtun_error *err)
{
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        rc = error_set(err, SSHTUN_ERR_SESSION, "session is closing");
    } else {
        s->refs++;
        h->next = s->hooks;
        s->hooks = h;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Remove a hook that has not run. */
int session_hook_remove(struct sshtun_session *s, struct session_hook *h)
{
    struct session_hook **pp;
    int found = 0;

    pthread_mutex_lock(&s->mu);
    for (pp = &s->hooks; *pp && *pp != h; pp = &(*pp)->next)
        ;
    if (*pp) {
        *pp = h->next;
        found = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (found)
        session_unref(s);
    return found;
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

/* A new session object, not connected. */
static struct sshtun_session *session_new(const sshtun_options *opts,
                                          sshtun_error *err)
{
    struct sshtun_session *s = calloc(1, sizeof *s);
    pthread_condattr_t a;

    if (!s || !(s->opts = options_dup(opts))) {
        free(s);
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &a);
    pthread_condattr_destroy(&a);
    s->refs = 1;
    s->state = SS_CONNECTING;
    if (complete_options(s->opts, err)) {
        session_free(s);
        return NULL;
    }
    return s;
}

/* Connect, verify, authenticate; returns the session or NULL. */
sshtun_session *sshtun_session_connect(const sshtun_options *opts,
                                       sshtun_error *err)
{
    struct sshtun_session *s;
    int up;

    error_clear(err);
    if (!opts) {
        error_set(err, SSHTUN_ERR_INVAL, "no options");
        return NULL;
    }
    if (!(s = session_new(opts, err)))
        return NULL;
    if (pool_start_primary(s, err)) {
        session_unref(s);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    while (s->state == SS_CONNECTING)
        pthread_cond_wait(&s->cv, &s->mu);
    up = s->state == SS_UP;
    pthread_mutex_unlock(&s->mu);
    if (up) {
        pool_fill_min(s);
        return s;
    }
    pool_stop_and_join(s);
    if (err)
        *err = s->connect_err;
    session_unref(s);
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

/* How many connections carry the session now. */
int sshtun_session_connections(sshtun_session *s)
{
    int n = 0;

    if (!s)
        return SSHTUN_ERR_INVAL;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->pool.n; i++)
        n += conn_get_state(s->pool.conns[i]) == CONN_UP;
    pthread_mutex_unlock(&s->mu);
    return n;
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

/* Take every hook (the session is closing: no new ones). */
static struct session_hook *take_hooks(struct sshtun_session *s)
{
    struct session_hook *hooks;

    pthread_mutex_lock(&s->mu);
    hooks = s->hooks;
    s->hooks = NULL;
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return hooks;
}

/* Stop the layers above, let the connections drain and end, close the
 * layers above, drop the caller's reference. */
void sshtun_session_close(sshtun_session *s)
{
    struct session_hook *hooks, *h;

    if (!s)
        return;
    /* Forwards stop accepting first (nobody new gets in); then the
     * connections let channels finish sending (bounded) and fail the
     * rest, so the forwards' threads end promptly when closed last. */
    hooks = take_hooks(s);
    for (h = hooks; h; h = h->next)
        h->stop(h->arg);
    pool_fail_queued(s, SSHTUN_ERR_CLOSED, "session closed");
    pool_stop_and_join(s);
    while ((h = hooks)) {
        hooks = h->next;
        h->close(h->arg);           /* may free h */
        session_unref(s);           /* the hook's */
    }
    session_unref(s);
}
