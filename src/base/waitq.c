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
