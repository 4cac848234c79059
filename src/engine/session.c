/*
 * session.c - the session object: references, state, the reason it
 * ended, and the hooks through which layers above learn that it closes.
 * Connecting and closing (the public API) are in lifecycle.c; the
 * connections, in pool.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "engine/auth_memo.h"
#include "engine/session.h"

/* Free the session object itself. */
static void session_free(struct sshtun_session *s)
{
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sshtun_options_free(s->opts);
    auth_memo_free(s->memo);
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
    return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE);
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


/* A new session object with its own copy of the options (one reference,
 * the caller's), not connected. */
struct sshtun_session *session_new(const sshtun_options *opts,
                                   sshtun_error *err)
{
    struct sshtun_session *s = calloc(1, sizeof *s);
    pthread_condattr_t a;

    if (!s || !(s->opts = options_dup(opts)) || !(s->memo = auth_memo_new())) {
        if (s)
            sshtun_options_free(s->opts);
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
    return s;
}
