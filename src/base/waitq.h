/*
 * waitq.h - FIFO queues of waiting threads.
 *
 * Mirrors the Erlang owner's req_queue: callers of recv (or send, or
 * open) that cannot proceed wait in arrival order, each on its own
 * condition variable, so a producer wakes exactly one waiter and only when
 * a queue goes from empty to non-empty.  A woken waiter that leaves work
 * behind wakes the next one.  All calls are made with the owner's mutex
 * held.
 */
#ifndef SSHTUN_WAITQ_H
#define SSHTUN_WAITQ_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

struct waiter {
    struct waiter *next;
    pthread_cond_t cv;
    int woken;
};

struct waitq {
    struct waiter *head;
    struct waiter *tail;
};

/* Wait, with mu held, until woken or the CLOCK_MONOTONIC deadline passes
 * (NULL: no deadline).  Returns 0 when woken, ETIMEDOUT otherwise.  The
 * caller re-checks its condition either way. */
int waitq_wait(struct waitq *q, pthread_mutex_t *mu,
               const struct timespec *deadline);

/* Wake the longest waiter, if any.  Returns 1 if one was woken. */
int waitq_wake_one(struct waitq *q);

/* Wake every waiter. */
void waitq_wake_all(struct waitq *q);

/* 1 if nobody waits. */
int waitq_empty(const struct waitq *q);

#endif
