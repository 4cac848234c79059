/*
 * waitq.c - FIFO waiter queues over per-waiter condition variables.
 */
#include "config.h"

#include <errno.h>

#include "base/waitq.h"

/* Unlink w from q if it is still queued. */
static void waitq_remove(struct waitq *q, struct waiter *w)
{
    struct waiter **pp = &q->head, *prev = NULL;

    while (*pp && *pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = w->next;
    if (q->tail == w)
        q->tail = prev;
}

/* Queue the caller and sleep until woken or the deadline. */
int waitq_wait(struct waitq *q, pthread_mutex_t *mu,
               const struct timespec *deadline)
{
    struct waiter w;
    pthread_condattr_t attr;
    int rc = 0;

    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &attr);
    pthread_condattr_destroy(&attr);
    w.next = NULL;
    w.woken = 0;
    /* w lives on this stack frame only while queued: it is unlinked (by
     * the waker or below) before this function returns. */
    if (q->tail)
        q->tail->next = &w;
    else
        q->head = &w;   /* cppcheck-suppress autoVariables */
    q->tail = &w;       /* cppcheck-suppress autoVariables */

    while (!w.woken && rc != ETIMEDOUT) {
        if (deadline)
            rc = pthread_cond_timedwait(&w.cv, mu, deadline);
        else
            pthread_cond_wait(&w.cv, mu);
    }
    if (!w.woken)
        waitq_remove(q, &w);
    pthread_cond_destroy(&w.cv);
    return w.woken ? 0 : ETIMEDOUT;
}

/* Wake the first waiter. */
int waitq_wake_one(struct waitq *q)
{
    struct waiter *w = q->head;

    if (!w)
        return 0;
    q->head = w->next;
    if (!q->head)
        q->tail = NULL;
    w->next = NULL;
    w->woken = 1;
    pthread_cond_signal(&w->cv);
    return 1;
}

/* Wake all waiters. */
void waitq_wake_all(struct waitq *q)
{
    while (waitq_wake_one(q))
        ;
}

/* Whether nobody waits. */
int waitq_empty(const struct waitq *q)
{
    return q->head == NULL;
}

/* Monotonic milliseconds. */
int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A monotonic-ms deadline as a timespec. */
void ms_to_timespec(int64_t ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* Deadline timeout_ms from now, or NULL for none. */
struct timespec *deadline_after(struct timespec *ts, int timeout_ms)
{
    if (timeout_ms < 0)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
    return ts;
}
