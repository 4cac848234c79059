/*
 * lifecycle.c - the public session calls: connect, alive, wait, close,
 * and the library's global set-up.
 *
 * sshtun_session_connect makes the first connection of the session's
 * pool and waits for its I/O thread to report; sshtun_session_close stops
 * the layers above (their hooks), lets every connection drain and end,
 * then closes those layers.
 */
#include "config.h"

#include <errno.h>
#include <libssh2.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/chunk.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/fdreserve.h"
#include "base/waitq.h"
#include "base/workers.h"
#include "engine/iothread.h"
#include "engine/pool.h"
#include "engine/bridge.h"
#include "engine/proxy.h"
#include "engine/session.h"
#include "engine/window.h"

/* Initialise libssh2 once, before threads start. */
int sshtun_global_init(void)
{
    unsigned char rnd;

    fault_init();                   /* test builds: count OpenSSL's too */
    /* libssh2_init does not say when OpenSSL could not start (out of
     * memory), and the random generator is made on first use: every
     * handshake would then fail, and leak in libssh2.  Start both here. */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_CIPHERS
                             | OPENSSL_INIT_ADD_ALL_DIGESTS, NULL)
        || RAND_bytes(&rnd, 1) != 1)
        return SSHTUN_ERR_NOMEM;
    fdreserve_init();               /* best effort: EMFILE comes later */
    return libssh2_init(0) ? SSHTUN_ERR_NOMEM : 0;
}

/* Undo sshtun_global_init. */
void sshtun_global_cleanup(void)
{
    workers_drain();
    libssh2_exit();
    chunk_pool_drain();
    fdreserve_cleanup();
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

/* How a connection reaches a jump host: through this file's own public
 * calls, registered with proxy.c, which runs below them. */
static const struct proxy_jump_ops jump_ops = {
    sshtun_session_connect, sshtun_session_close, bridge_stdio,
};

/* Connect, verify, authenticate; returns the session or NULL. */
sshtun_session *sshtun_session_connect(const sshtun_options *opts,
                                       sshtun_error *err)
{
    struct sshtun_session *s;
    struct conn *c;
    int up;

    error_clear(err);
    if (!opts) {
        error_set(err, SSHTUN_ERR_INVAL, "no options");
        return NULL;
    }
    if (!(s = session_new(opts, err)))
        return NULL;
    window_budget_set(options_memory_budget(s->opts));
    proxy_set_jump_ops(&jump_ops);
    if (complete_options(s->opts, err) || !(c = pool_add_primary(s, err))) {
        session_unref(s);
        return NULL;
    }
    if (iothread_start(c, err)) {
        pool_start_failed(c);
        session_unref(s);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    while (s->state == SS_CONNECTING)
        pthread_cond_wait(&s->cv, &s->mu);
    up = s->state == SS_UP;
    pthread_mutex_unlock(&s->mu);
    if (up) {
        while ((c = pool_grow_to_min(s)) && !iothread_start(c, NULL))
            ;
        if (c)
            pool_start_failed(c);
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
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
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
