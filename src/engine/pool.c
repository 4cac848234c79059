/*
 * pool.c - a session's connections and its queue of channel opens (see
 * pool.h for why).
 *
 * Everything here runs under the session's mu, taking a connection's mu
 * inside it where a state is read.  Threads are created here but never
 * joined with a lock held: finished connections wait on a list until
 * pool_reap or pool_stop_and_join joins them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/clock.h"
#include "config/options.h"
#include "engine/auth_memo.h"
#include "engine/channel.h"
#include "engine/conn.h"
#include "engine/pool.h"
#include "engine/session.h"

#define POOL_RETRY_MIN_MS 1000
#define POOL_RETRY_MAX_MS 60000

/* Add c to the pool's table and count its thread-to-be (s->mu held). */
static void add_locked(struct sshtun_session *s, struct conn *c)
{
    s->pool.conns[s->pool.n++] = c;
    s->pool.threads++;
}

/* Remove c from the table if it is there (s->mu held); 1 if it was. */
static int remove_locked(struct sshtun_session *s, struct conn *c)
{
    for (int i = 0; i < s->pool.n; i++)
        if (s->pool.conns[i] == c) {
            s->pool.conns[i] = s->pool.conns[--s->pool.n];
            return 1;
        }
    return 0;
}

/* Undo the pool entry of a connection whose thread could not start. */
void pool_start_failed(struct conn *c)
{
    struct sshtun_session *s = c->sess;

    pthread_mutex_lock(&s->mu);
    remove_locked(s, c);
    s->pool.threads--;
    if (!c->primary)
        s->pool.connecting--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    conn_unref(c);                  /* the pool's */
}

/* Make the first connection (not started). */
struct conn *pool_add_primary(struct sshtun_session *s, sshtun_error *err)
{
    struct conn *c;

    pthread_mutex_lock(&s->mu);
    if ((c = conn_new(s, 1, s->pool.next_id = 1)))
        add_locked(s, c);
    pthread_mutex_unlock(&s->mu);
    if (!c)
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    return c;
}

/* Whether c can send an open now: up, no open in flight, not ending. */
static int is_free(struct conn *c)
{
    return conn_get_state(c) == CONN_UP
           && !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)
           && !__atomic_load_n(&c->opening_since, __ATOMIC_ACQUIRE);
}

/* Add one connection now (s->mu held).  Returns it, not yet started, or
 * NULL when the pool is full, the login cannot be repeated, or out of
 * memory. */
static struct conn *grow_locked(struct sshtun_session *s)
{
    struct conn *c;

    if (!auth_memo_can_repeat(s->memo, s->opts))
        s->pool.single_only = 1;
    if (s->stop || s->pool.single_only || s->pool.n >= options_pool_max(s->opts)
        || s->pool.n >= POOL_LIMIT)
        return NULL;
    c = conn_new(s, 0, ++s->pool.next_id);
    if (!c)
        return NULL;
    add_locked(s, c);
    s->pool.connecting++;
    return c;
}

/* One more connection while the pool is below PoolMin (not started). */
struct conn *pool_grow_to_min(struct sshtun_session *s)
{
    struct conn *c = NULL;

    pthread_mutex_lock(&s->mu);
    if (s->pool.n < options_pool_min(s->opts) && !s->pool.single_only)
        c = grow_locked(s);
    pthread_mutex_unlock(&s->mu);
    if (c)
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "pool: starting connection %d "
                "(PoolMin %d)", c->id, options_pool_min(s->opts));
    return c;
}

/* Queue ch's open and wake the least loaded free connection. */
int pool_submit_open(struct sshtun_session *s, struct sshtun_channel *ch,
                     sshtun_error *err)
{
    struct conn *best = NULL;
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (s->stop || s->state == SS_LOST || s->state == SS_DONE)
        rc = error_set(err, SSHTUN_ERR_SESSION, "session is not up: %s",
                       s->last_error[0] ? s->last_error : "closed");
    else if (s->forwarding_disabled)
        rc = error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED, "forwarding is "
                       "disabled: the host key has changed");
    else if (s->nchannels >= SESSION_MAX_CHANNELS)
        rc = error_set(err, SSHTUN_ERR_RESOURCE, "too many channels on this "
                       "session (%d)", SESSION_MAX_CHANNELS);
    if (rc) {
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    s->nchannels++;
    s->refs++;                      /* the channel's */
    ch->in_pool = 1;
    ch->pool_next = NULL;
    if (s->pool.open_tail)
        s->pool.open_tail->pool_next = ch;
    else
        __atomic_store_n(&s->pool.open_head, ch, __ATOMIC_RELEASE);
    s->pool.open_tail = ch;
    __atomic_add_fetch(&s->pool.open_len, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < s->pool.n; i++) {
        struct conn *c = s->pool.conns[i];
        if (is_free(c) && (!best || __atomic_load_n(&c->nchannels,
                                                    __ATOMIC_RELAXED)
                                    < __atomic_load_n(&best->nchannels,
                                                      __ATOMIC_RELAXED)))
            best = c;
    }
    if (best)
        conn_ref(best);
    pthread_mutex_unlock(&s->mu);
    if (best) {
        conn_wake(best);
        conn_unref(best);
    }
    return 0;
}

/* The next queued open for c, which now owns it. */
struct sshtun_channel *pool_take_open(struct conn *c)
{
    struct sshtun_session *s = c->sess;
    struct sshtun_channel *ch;

    /* Every pass of every I/O thread asks: look before locking. */
    if (!__atomic_load_n(&s->pool.open_head, __ATOMIC_ACQUIRE))
        return NULL;
    pthread_mutex_lock(&s->mu);
    ch = s->pool.open_head;
    if (ch) {
        __atomic_store_n(&s->pool.open_head, ch->pool_next,
                         __ATOMIC_RELEASE);
        if (!s->pool.open_head)
            s->pool.open_tail = NULL;
        __atomic_sub_fetch(&s->pool.open_len, 1, __ATOMIC_RELAXED);
        ch->in_pool = 0;
        conn_ref(c);                /* the channel's */
        __atomic_add_fetch(&c->nchannels, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&ch->conn, c, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&s->mu);
    return ch;
}

/* The grace before growing (an atomic read: every open asks). */
int pool_grace_ms(struct sshtun_session *s)
{
    int rtt = __atomic_load_n(&s->pool.rtt_ms, __ATOMIC_RELAXED);

    return 4 * rtt > POOL_GRACE_MS ? 4 * rtt : POOL_GRACE_MS;
}

/* An open was answered in took_ms: the fastest answer any connection has
 * had is the best guess at the round trip (an answer also waits for the
 * server's own connect). */
void pool_note_rtt(struct conn *c, int took_ms)
{
    int *rtt = &c->sess->pool.rtt_ms;
    int old = __atomic_load_n(rtt, __ATOMIC_RELAXED);

    while ((old == 0 || took_ms < old)
           && !__atomic_compare_exchange_n(rtt, &old, took_ms, 0,
                                           __ATOMIC_RELAXED,
                                           __ATOMIC_RELAXED))
        ;
}

/* Say once why the pool cannot grow (s->mu held). */
static void log_exhausted_locked(struct sshtun_session *s, const char *why)
{
    if (s->pool.exhausted_logged)
        return;
    s->pool.exhausted_logged = 1;
    log_msg(s->opts, SSHTUN_LOG_INFO, "pool: %s; new channel opens wait "
            "for a connection to be free", why);
}

/* Whether no connection is free to take the next open (s->mu held):
 * growing is then the only way forward, for an open that waits (or, with
 * any_open 0, for the next one to come). */
static int must_grow_locked(struct sshtun_session *s, int need_waiter)
{
    if ((need_waiter && !s->pool.open_head) || s->stop
        || s->pool.connecting)
        return 0;
    for (int i = 0; i < s->pool.n; i++)
        if (is_free(s->pool.conns[i]))
            return 0;
    return 1;
}

/* No connection can take an open soon: a new connection (not started)
 * if the pool may grow, else NULL.  why: for the log. */
static struct conn *grow_when_needed(struct sshtun_session *s,
                                     int need_waiter, const char *why)
{
    struct conn *c = NULL;
    int waited = 0;

    pool_reap(s);
    pthread_mutex_lock(&s->mu);
    if (must_grow_locked(s, need_waiter)
        && (s->state == SS_UP || s->state == SS_RECONNECTING)) {
        if (!auth_memo_can_repeat(s->memo, s->opts))
            s->pool.single_only = 1;
        if (s->pool.single_only)
            log_exhausted_locked(s, "the login cannot be repeated without "
                                 "asking (keyboard-interactive with "
                                 "BatchMode), so it keeps one connection");
        else if (clock_now_ms() < s->pool.retry_at)
            ;                       /* backing off; said when it failed */
        else if (!(c = grow_locked(s)) && s->pool.n >= options_pool_max(s->opts))
            log_exhausted_locked(s, "all PoolMax connections have a "
                                 "channel open in flight");
        waited = s->pool.n;
    }
    pthread_mutex_unlock(&s->mu);
    if (c)
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "pool: opening connection %d "
                "(%d of at most %d): %s", c->id, waited,
                options_pool_max(s->opts), why);
    return c;
}

/* An open has waited past the grace, or many wait. */
struct conn *pool_grow_for_waiting(struct sshtun_session *s)
{
    return grow_when_needed(s, 1, "opens wait behind slow ones");
}

/* c's open has been in flight past the grace: have a connection ready
 * for the next open before anyone waits. */
struct conn *pool_grow_for_stuck(struct conn *c)
{
    return grow_when_needed(c->sess, 0, "an open is slow to be answered");
}

/* Whether so many opens wait that more connections would send them
 * sooner (an atomic read: every new open asks). */
int pool_queue_deep(struct sshtun_session *s)
{
    return __atomic_load_n(&s->pool.open_len, __ATOMIC_RELAXED)
           >= POOL_DEEP_QUEUE;
}

/* An extra connection's connect phase ended. */
void pool_connect_result(struct conn *c, int rc, const char *why)
{
    struct sshtun_session *s = c->sess;
    int delay = 0, first = 0;

    pthread_mutex_lock(&s->mu);
    s->pool.connecting--;
    if (rc == 0) {
        s->pool.retry_delay_ms = 0;
        s->pool.exhausted_logged = 0;
    } else {
        first = s->pool.retry_delay_ms == 0;
        delay = s->pool.retry_delay_ms ? 2 * s->pool.retry_delay_ms
                                       : POOL_RETRY_MIN_MS;
        if (delay > POOL_RETRY_MAX_MS)
            delay = POOL_RETRY_MAX_MS;
        s->pool.retry_delay_ms = delay;
        s->pool.retry_at = clock_now_ms() + delay;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (rc == 0)
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "pool: connection %d up", c->id);
    else if (first)
        log_msg(s->opts, SSHTUN_LOG_INFO, "pool: cannot add a connection "
                "(%s); going on with the ones up, trying again in %d s at "
                "the earliest", why, delay / 1000);
    else
        log_msg(s->opts, SSHTUN_LOG_DEBUG, "pool: connection %d failed "
                "again (%s); next try in %d s", c->id, why, delay / 1000);
}

/* Leave the pool if beyond PoolMin; c is idle and takes no open then. */
int pool_leave_if_idle(struct conn *c)
{
    struct sshtun_session *s = c->sess;
    int leave = 0, left = 0;

    pthread_mutex_lock(&s->mu);
    if (!c->primary && s->pool.n > options_pool_min(s->opts)) {
        leave = remove_locked(s, c);
        left = s->pool.n;
    }
    pthread_mutex_unlock(&s->mu);
    if (leave) {
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "pool: closing idle connection "
                "%d (%d left)", c->id, left);
        conn_unref(c);              /* the pool's */
    }
    return leave;
}

/* c's thread is finishing: leave the pool, wait to be joined. */
void pool_conn_finished(struct conn *c)
{
    struct sshtun_session *s = c->sess;
    int was_in;

    pthread_mutex_lock(&s->mu);
    was_in = remove_locked(s, c);
    c->ended_next = NULL;
    {
        struct conn **pp = &s->pool.ended;
        while (*pp)
            pp = &(*pp)->ended_next;
        *pp = c;
    }
    s->pool.threads--;
    if (s->pool.threads == 0 && s->state == SS_LOST)
        s->state = SS_DONE;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (was_in)
        conn_unref(c);              /* the pool's; the thread's stays */
}

/* Join finished threads and drop their references. */
void pool_reap(struct sshtun_session *s)
{
    struct conn *list;

    pthread_mutex_lock(&s->mu);
    list = s->pool.ended;
    s->pool.ended = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {
        struct conn *next = list->ended_next;
        pthread_join(list->thread, NULL);
        conn_unref(list);           /* the thread's */
        list = next;
    }
}

/* Fail every queued open. */
void pool_fail_queued(struct sshtun_session *s, int code, const char *msg)
{
    struct sshtun_channel *list;

    pthread_mutex_lock(&s->mu);
    list = s->pool.open_head;
    for (struct sshtun_channel *ch = list; ch; ch = ch->pool_next)
        ch->in_pool = 0;
    __atomic_store_n(&s->pool.open_head, NULL, __ATOMIC_RELEASE);
    s->pool.open_tail = NULL;
    __atomic_store_n(&s->pool.open_len, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->mu);
    while (list) {
        struct sshtun_channel *next = list->pool_next;
        channel_finish(list, CS_FAILED, code, msg);
        channel_unref(list);           /* the owner's */
        list = next;
    }
}

/* Ask every connection but keep (may be NULL) to end. */
static void stop_all_but(struct sshtun_session *s, struct conn *keep)
{
    struct conn *stop[POOL_LIMIT];
    int n = 0;

    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->pool.n; i++)
        if (s->pool.conns[i] != keep) {
            stop[n] = s->pool.conns[i];
            conn_ref(stop[n++]);
        }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) {
        conn_stop(stop[i]);
        conn_unref(stop[i]);
    }
}

/* Ask every connection but c to end. */
void pool_stop_others(struct conn *c)
{
    stop_all_but(c->sess, c);
}

/* Ask every connection to end, then join them all. */
void pool_stop_and_join(struct sshtun_session *s)
{
    stop_all_but(s, NULL);
    pthread_mutex_lock(&s->mu);
    while (s->pool.threads > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pool_reap(s);
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
