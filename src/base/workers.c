/*
 * workers.c - the idle thread cache (see workers.h).
 *
 * An idle thread waits on its own condition variable in a LIFO list (the
 * most recently used thread, whose stack is warm, goes first); handing it
 * a job is one signal instead of a clone, an mmap and a munmap.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/workers.h"

struct worker {
    pthread_cond_t cv;
    void *(*fn)(void *);            /* [mu] the next job, or NULL */
    void *arg;                      /* [mu] */
    int quit;                       /* [mu] drain: exit now */
    struct worker *next;            /* [mu] in the idle list */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gone = PTHREAD_COND_INITIALIZER;  /* an idle one left */
static struct worker *idle;         /* [mu] */
static int nidle;                   /* [mu] */

/* Remove w from the idle list (mu held); 1 if it was there. */
static int unlink_idle(struct worker *w)
{
    for (struct worker **pp = &idle; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            nidle--;
            return 1;
        }
    return 0;
}

/* Wait for the next job; returns 0 with w->fn set, or -1 to exit. */
static int wait_job(struct worker *w)
{
    struct timespec ts;
    int rc = 0;

    pthread_mutex_lock(&mu);
    if (nidle >= WORKERS_IDLE_MAX) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    w->next = idle;
    idle = w;
    nidle++;
    clock_ms_to_timespec(clock_now_ms() + WORKERS_IDLE_MS, &ts);
    while (!w->fn && !w->quit && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &mu, &ts);
    if (!w->fn) {                   /* timed out or drained */
        unlink_idle(w);
        pthread_cond_broadcast(&gone);
        pthread_mutex_unlock(&mu);
        return -1;
    }
    pthread_mutex_unlock(&mu);
    return 0;
}

/* A cached thread: run jobs until idle for too long. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;

    do {
        void *(*fn)(void *) = w->fn;
        fn(w->arg);
        pthread_mutex_lock(&mu);
        w->fn = NULL;
        pthread_mutex_unlock(&mu);
    } while (wait_job(w) == 0);
    pthread_cond_destroy(&w->cv);
    free(w);
    return NULL;
}

/* Start a new cached thread with fn(arg) as its first job. */
static int spawn(void *(*fn)(void *), void *arg)
{
    struct worker *w = calloc(1, sizeof *w);
    pthread_condattr_t ca;
    pthread_attr_t a;
    pthread_t t;
    int rc;

    if (!w)
        return ENOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->fn = fn;
    w->arg = arg;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, WORKERS_STACK);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &a, worker_main, w);
    pthread_attr_destroy(&a);
    if (rc) {
        pthread_cond_destroy(&w->cv);
        free(w);
    }
    return rc;
}

/* Run fn(arg) on a cached thread or a new one. */
int workers_run(void *(*fn)(void *), void *arg)
{
    struct worker *w;

    pthread_mutex_lock(&mu);
    if ((w = idle)) {
        idle = w->next;
        nidle--;
        w->fn = fn;
        w->arg = arg;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&mu);
    return w ? 0 : spawn(fn, arg);
}

/* Tell every idle thread to exit and wait for them to go. */
void workers_drain(void)
{
    pthread_mutex_lock(&mu);
    for (struct worker *w = idle; w; w = w->next) {
        w->quit = 1;
        pthread_cond_signal(&w->cv);
    }
    while (nidle > 0)
        pthread_cond_wait(&gone, &mu);
    pthread_mutex_unlock(&mu);
}
