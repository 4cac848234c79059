/*
 * check_queues.c - unit tests for src/chunk.c and src/waitq.c.
 *
 * Chunks: the pool hands out clean chunks and reuses returned ones; a
 * chunkq keeps FIFO order, counts unread bytes exactly through push, pop,
 * partial reads across chunk boundaries and clear; it counts the memory
 * its chunks take too, and a stream of 1-byte reads (a peer sending
 * 1-byte packets) fills tail chunks so that a capped queue stops within
 * its cap, not after a chunk per byte.  Wait queues, with real
 * pthreads: waiters are woken one at a time in arrival order, a timed-out
 * waiter returns ETIMEDOUT and leaves the queue (head, middle or tail),
 * wake_all empties it, and deadlines are computed right.  Every wait in
 * these tests is bounded by a deadline of a few seconds at most.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/chunk.h"
#include "base/clock.h"
#include "base/waitq.h"

#include "check_util.h"

/* ---------------------------------------------------------------- chunks */

/* A chunk holding n bytes of the pattern starting at value first. */
static struct chunk *filled_chunk(size_t n, unsigned first)
{
    struct chunk *c = chunk_get();

    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; i < n; i++)
        c->data[i] = (unsigned char)(first + i);
    c->len = n;
    return c;
}

/* Check that buf holds n bytes of the pattern starting at first. */
static void check_pattern(const unsigned char *buf, size_t n, unsigned first)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(buf[i] == (unsigned char)(first + i),
                      "byte %zu is %u, want %u", i, buf[i],
                      (unsigned char)(first + i));
}

/* Release pooled chunks so leak checkers see nothing left. */
static void chunk_teardown(void)
{
    chunk_pool_drain();
}

START_TEST(chunk_get_is_clean)
{
    struct chunk *c = chunk_get();

    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(c->next);
    ck_assert_uint_eq(c->off, 0);
    ck_assert_uint_eq(c->len, 0);
    c->off = 5;
    c->len = 100;
    c->next = c;
    chunk_put(c);
    /* The pool gives the same chunk back, reset. */
    {
        struct chunk *d = chunk_get();
        ck_assert_ptr_eq(d, c);
        ck_assert_ptr_null(d->next);
        ck_assert_uint_eq(d->off, 0);
        ck_assert_uint_eq(d->len, 0);
        chunk_put(d);
    }
    chunk_put(NULL);
}
END_TEST

START_TEST(chunk_pool_many)
{
    enum { N = 100 };               /* more than the pool keeps */
    struct chunk *c[N];

    for (int i = 0; i < N; i++) {
        c[i] = chunk_get();
        ck_assert_ptr_nonnull(c[i]);
        for (int j = 0; j < i; j++)
            ck_assert_ptr_ne(c[i], c[j]);
    }
    for (int i = 0; i < N; i++)
        chunk_put(c[i]);
    for (int i = 0; i < N; i++)
        c[i] = chunk_get();
    for (int i = 0; i < N; i++)
        chunk_put(c[i]);
}
END_TEST

START_TEST(chunkq_fifo_pop)
{
    struct chunkq q = { 0 };
    struct chunk *a = filled_chunk(10, 0);
    struct chunk *b = filled_chunk(20, 0);
    struct chunk *c = filled_chunk(30, 0), *p;

    ck_assert_ptr_null(chunk_queue_pop(&q));
    chunk_queue_push(&q, a);
    ck_assert_uint_eq(q.bytes, 10);
    chunk_queue_push(&q, b);
    chunk_queue_push(&q, c);
    ck_assert_uint_eq(q.bytes, 60);
    ck_assert_ptr_eq(q.head, a);
    ck_assert_ptr_eq(q.tail, c);

    p = chunk_queue_pop(&q);
    ck_assert_ptr_eq(p, a);
    ck_assert_ptr_null(p->next);
    ck_assert_uint_eq(q.bytes, 50);
    chunk_put(p);
    p = chunk_queue_pop(&q);
    ck_assert_ptr_eq(p, b);
    ck_assert_uint_eq(q.bytes, 30);
    chunk_put(p);
    p = chunk_queue_pop(&q);
    ck_assert_ptr_eq(p, c);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    chunk_put(p);
    ck_assert_ptr_null(chunk_queue_pop(&q));

    /* Usable again after emptying. */
    chunk_queue_push(&q, filled_chunk(7, 0));
    ck_assert_uint_eq(q.bytes, 7);
    ck_assert_ptr_eq(q.head, q.tail);
    chunk_queue_clear(&q);
}
END_TEST

START_TEST(chunkq_partial_chunk_accounting)
{
    struct chunkq q = { 0 };
    struct chunk *c = filled_chunk(100, 0);
    struct chunk *p;
    unsigned char buf[100];

    c->off = 40;                    /* already partly consumed */
    chunk_queue_push(&q, c);
    ck_assert_uint_eq(q.bytes, 60);
    ck_assert_uint_eq(chunk_queue_read(&q, buf, 10), 10);
    check_pattern(buf, 10, 40);
    ck_assert_uint_eq(q.bytes, 50);
    p = chunk_queue_pop(&q);             /* pop what is left unread */
    ck_assert_ptr_eq(p, c);
    ck_assert_uint_eq(p->off, 50);
    ck_assert_uint_eq(q.bytes, 0);
    chunk_put(p);
}
END_TEST

START_TEST(chunkq_read_across_chunks)
{
    struct chunkq q = { 0 };
    static unsigned char buf[3 * CHUNK_SIZE];
    size_t sizes[] = { CHUNK_SIZE, 1, 1000, CHUNK_SIZE - 3 };
    size_t total = 0, got = 0, n;
    unsigned next = 0;

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        chunk_queue_push(&q, filled_chunk(sizes[i], next));
        next += (unsigned)sizes[i];
        total += sizes[i];
    }
    ck_assert_uint_eq(q.bytes, total);
    /* Odd-sized reads that straddle every boundary. */
    while ((n = chunk_queue_read(&q, buf + got, 777)) > 0) {
        got += n;
        ck_assert_uint_eq(q.bytes, total - got);
        ck_assert_uint_le(n, 777);
    }
    ck_assert_uint_eq(got, total);
    check_pattern(buf, total, 0);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    ck_assert_uint_eq(q.bytes, 0);
}
END_TEST

START_TEST(chunkq_read_big_and_small)
{
    struct chunkq q = { 0 };
    static unsigned char buf[4 * CHUNK_SIZE];

    chunk_queue_push(&q, filled_chunk(300, 0));
    chunk_queue_push(&q, filled_chunk(500, 300));
    chunk_queue_push(&q, filled_chunk(200, 800));
    ck_assert_uint_eq(chunk_queue_read(&q, buf, 0), 0);
    ck_assert_uint_eq(q.bytes, 1000);
    /* Exactly to the first boundary. */
    ck_assert_uint_eq(chunk_queue_read(&q, buf, 300), 300);
    ck_assert_uint_eq(q.bytes, 700);
    ck_assert_uint_eq(q.head->len - q.head->off, 500);
    /* More than is there: returns what there is. */
    ck_assert_uint_eq(chunk_queue_read(&q, buf + 300, sizeof buf - 300), 700);
    check_pattern(buf, 1000, 0);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    ck_assert_uint_eq(chunk_queue_read(&q, buf, 10), 0);
    /* A push after reading everything is read back alone. */
    chunk_queue_push(&q, filled_chunk(5, 77));
    ck_assert_uint_eq(chunk_queue_read(&q, buf, 10), 5);
    check_pattern(buf, 5, 77);
}
END_TEST

START_TEST(chunkq_clear_empties)
{
    struct chunkq q = { 0 };

    for (int i = 0; i < 10; i++)
        chunk_queue_push(&q, filled_chunk(CHUNK_SIZE, 0));
    ck_assert_uint_eq(q.bytes, 10 * (size_t)CHUNK_SIZE);
    chunk_queue_clear(&q);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    chunk_queue_clear(&q);               /* clearing an empty queue is fine */
    chunk_queue_push(&q, filled_chunk(3, 0));
    ck_assert_uint_eq(q.bytes, 3);
    chunk_queue_clear(&q);
}
END_TEST

/* The I/O thread's reading, 1 byte a read: read while there is room
 * under cap; returns the number of reads taken. */
static size_t one_byte_reads(struct chunkq *q, size_t cap, size_t max)
{
    size_t n = 0;

    while (n < max && chunk_queue_room(q, cap) > 0) {
        chunk_queue_append(q, filled_chunk(1, (unsigned)n));
        n++;
    }
    return n;
}

START_TEST(chunkq_one_byte_reads_fill_tail)
{
    struct chunkq q = { 0 };
    const size_t cap = 2 * sizeof(struct chunk);    /* quick under valgrind */
    unsigned char *buf = malloc(cap + CHUNK_SIZE);
    size_t n;

    ck_assert_ptr_nonnull(buf);
    /* Before, each 1-byte read held a 64 KiB chunk until a payload cap
     * (256 KiB of payload: 262,144 chunks, about 16 GiB). */
    n = one_byte_reads(&q, cap, 10 * cap);
    ck_assert_uint_eq(q.bytes, n);
    ck_assert_uint_le(q.held, cap + sizeof(struct chunk));
    ck_assert_uint_le(n, q.held / sizeof(struct chunk) * CHUNK_SIZE);
    ck_assert_uint_ge(n, cap - CHUNK_SIZE);
    ck_assert_uint_eq(chunk_queue_room(&q, cap), 0);
    ck_assert(chunk_queue_full(&q, cap));
    /* The bytes come out in order. */
    ck_assert_uint_eq(chunk_queue_read(&q, buf, n), n);
    check_pattern(buf, n, 0);
    ck_assert_uint_eq(q.held, 0);
    ck_assert_uint_eq(q.bytes, 0);
    free(buf);
}
END_TEST

START_TEST(chunkq_held_counts_nearly_empty_chunks)
{
    struct chunkq q = { 0 };
    struct chunk *c;

    /* Pushed without merging, a 1-byte chunk costs a whole chunk. */
    for (int i = 0; i < 4; i++)
        chunk_queue_push(&q, filled_chunk(1, 0));
    ck_assert_uint_eq(q.bytes, 4);
    ck_assert_uint_eq(q.held, 4 * sizeof(struct chunk));
    ck_assert(chunk_queue_full(&q, 4 * sizeof(struct chunk)));
    /* Only the tail's free end is left under a reached cap. */
    ck_assert_uint_eq(chunk_queue_room(&q, 4 * sizeof(struct chunk)),
                      CHUNK_SIZE - 1);
    c = chunk_queue_pop(&q);
    ck_assert_uint_eq(q.held, 3 * sizeof(struct chunk));
    chunk_put(c);
    /* Data that does not fit the tail gets a chunk of its own. */
    chunk_queue_append(&q, filled_chunk(CHUNK_SIZE, 0));
    ck_assert_uint_eq(q.held, 4 * sizeof(struct chunk));
    chunk_queue_append(&q, filled_chunk(1, 0));
    ck_assert_uint_eq(q.held, 5 * sizeof(struct chunk));
    ck_assert_uint_eq(q.bytes, 3 + CHUNK_SIZE + 1);
    chunk_queue_clear(&q);
    ck_assert_uint_eq(q.held, 0);
}
END_TEST

/* ---------------------------------------------------------------- waitq */

#define NWAITERS 4

/* State shared by the waiter threads and the test. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t changed;         /* a waiter queued or returned */
    struct waitq q;
    int queued;                     /* waiters that entered waitq_wait */
    int done;                       /* waiters that returned */
    int order[NWAITERS];            /* ids in the order they returned */
    int rc[NWAITERS];
} w;

struct waiter_arg {
    int id;
    int timeout_ms;                 /* -1: no deadline */
};

/* Reset the shared state. */
static void waitq_setup(void)
{
    pthread_condattr_t attr;

    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w.changed, &attr);
    pthread_condattr_destroy(&attr);
}

/* Destroy the shared state. */
static void waitq_teardown(void)
{
    pthread_cond_destroy(&w.changed);
    pthread_mutex_destroy(&w.mu);
}

/* Thread body: queue on w.q, then record the order and result. */
static void *waiter_main(void *p)
{
    const struct waiter_arg *a = p;
    struct timespec ts;
    int rc;

    pthread_mutex_lock(&w.mu);
    w.queued++;
    pthread_cond_broadcast(&w.changed);     /* w.mu is held until waiting */
    rc = waitq_wait(&w.q, &w.mu, clock_deadline_after(&ts, a->timeout_ms));
    w.rc[a->id] = rc;
    w.order[w.done++] = a->id;
    pthread_cond_broadcast(&w.changed);
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

/* With w.mu held: wait (at most 5 s) until *counter reaches n. */
static void wait_count(const int *counter, int n)
{
    struct timespec ts;

    clock_deadline_after(&ts, 5000);
    while (*counter < n)
        ck_assert_msg(pthread_cond_timedwait(&w.changed, &w.mu, &ts)
                      != ETIMEDOUT, "timed out waiting for %d (at %d)", n,
                      *counter);
}

/* Start waiter i with a timeout and wait until it is queued. */
static void start_waiter(pthread_t *t, struct waiter_arg *a, int id,
                         int timeout_ms)
{
    a->id = id;
    a->timeout_ms = timeout_ms;
    pthread_mutex_lock(&w.mu);
    {
        int before = w.queued;
        ck_assert_int_eq(pthread_create(t, NULL, waiter_main, a), 0);
        wait_count(&w.queued, before + 1);
    }
    pthread_mutex_unlock(&w.mu);
}

START_TEST(waitq_fifo_order)
{
    pthread_t t[NWAITERS];
    struct waiter_arg a[NWAITERS];

    for (int i = 0; i < NWAITERS; i++)
        start_waiter(&t[i], &a[i], i, 5000);
    pthread_mutex_lock(&w.mu);
    ck_assert(!waitq_empty(&w.q));
    /* Wake one at a time; each must be the oldest still waiting. */
    for (int i = 0; i < NWAITERS; i++) {
        ck_assert_int_eq(waitq_wake_one(&w.q), 1);
        wait_count(&w.done, i + 1);
        ck_assert_int_eq(w.order[i], i);
        ck_assert_int_eq(w.rc[i], 0);
        /* Nobody else returned meanwhile. */
        ck_assert_int_eq(w.done, i + 1);
    }
    ck_assert(waitq_empty(&w.q));
    ck_assert_int_eq(waitq_wake_one(&w.q), 0);
    pthread_mutex_unlock(&w.mu);
    for (int i = 0; i < NWAITERS; i++)
        pthread_join(t[i], NULL);
}
END_TEST

START_TEST(waitq_timeout_alone)
{
    struct timespec ts;
    int64_t t0, elapsed;
    int rc;

    pthread_mutex_lock(&w.mu);
    t0 = clock_now_ms();
    rc = waitq_wait(&w.q, &w.mu, clock_deadline_after(&ts, 150));
    elapsed = clock_now_ms() - t0;
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert(waitq_empty(&w.q));
    ck_assert_ptr_null(w.q.tail);
    ck_assert_msg(elapsed >= 140, "returned after %lld ms",
                  (long long)elapsed);
    ck_assert_msg(elapsed < 3000, "returned after %lld ms",
                  (long long)elapsed);
    /* A deadline already past returns at once. */
    ck_assert_int_eq(waitq_wait(&w.q, &w.mu, clock_deadline_after(&ts, 0)),
                     ETIMEDOUT);
    ck_assert(waitq_empty(&w.q));
    pthread_mutex_unlock(&w.mu);
}
END_TEST

START_TEST(waitq_timeout_middle_and_tail)
{
    pthread_t t[NWAITERS];
    struct waiter_arg a[NWAITERS];

    /* 0 waits long; 1 (middle) and 2 (tail) time out; 3 comes after. */
    start_waiter(&t[0], &a[0], 0, 5000);
    start_waiter(&t[1], &a[1], 1, 100);
    start_waiter(&t[2], &a[2], 2, 200);
    pthread_mutex_lock(&w.mu);
    wait_count(&w.done, 2);
    /* Either may return first; both must have left the queue. */
    ck_assert_int_eq(w.order[0] + w.order[1], 3);
    ck_assert_int_ne(w.order[0], w.order[1]);
    ck_assert_int_eq(w.rc[1], ETIMEDOUT);
    ck_assert_int_eq(w.rc[2], ETIMEDOUT);
    /* Waiter 2 was the tail: a new waiter must still be linked in. */
    pthread_mutex_unlock(&w.mu);
    start_waiter(&t[3], &a[3], 3, 5000);
    pthread_mutex_lock(&w.mu);
    ck_assert_int_eq(waitq_wake_one(&w.q), 1);
    wait_count(&w.done, 3);
    ck_assert_int_eq(w.order[2], 0);
    ck_assert_int_eq(waitq_wake_one(&w.q), 1);
    wait_count(&w.done, 4);
    ck_assert_int_eq(w.order[3], 3);
    ck_assert_int_eq(w.rc[0], 0);
    ck_assert_int_eq(w.rc[3], 0);
    ck_assert(waitq_empty(&w.q));
    pthread_mutex_unlock(&w.mu);
    for (int i = 0; i < NWAITERS; i++)
        pthread_join(t[i], NULL);
}
END_TEST

START_TEST(waitq_timeout_head)
{
    pthread_t t[2];
    struct waiter_arg a[2];

    start_waiter(&t[0], &a[0], 0, 100);     /* head times out */
    start_waiter(&t[1], &a[1], 1, 5000);
    pthread_mutex_lock(&w.mu);
    wait_count(&w.done, 1);
    ck_assert_int_eq(w.order[0], 0);
    ck_assert_int_eq(w.rc[0], ETIMEDOUT);
    ck_assert(!waitq_empty(&w.q));
    ck_assert_int_eq(waitq_wake_one(&w.q), 1);
    wait_count(&w.done, 2);
    ck_assert_int_eq(w.order[1], 1);
    ck_assert_int_eq(w.rc[1], 0);
    ck_assert(waitq_empty(&w.q));
    pthread_mutex_unlock(&w.mu);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
}
END_TEST

START_TEST(waitq_wake_all_wakes_everyone)
{
    pthread_t t[NWAITERS];
    struct waiter_arg a[NWAITERS];

    for (int i = 0; i < NWAITERS; i++)
        start_waiter(&t[i], &a[i], i, i % 2 ? -1 : 5000);
    pthread_mutex_lock(&w.mu);
    waitq_wake_all(&w.q);
    ck_assert(waitq_empty(&w.q));
    wait_count(&w.done, NWAITERS);
    for (int i = 0; i < NWAITERS; i++)
        ck_assert_int_eq(w.rc[i], 0);
    waitq_wake_all(&w.q);           /* on an empty queue: nothing */
    pthread_mutex_unlock(&w.mu);
    for (int i = 0; i < NWAITERS; i++)
        pthread_join(t[i], NULL);
}
END_TEST

START_TEST(deadlines)
{
    struct timespec ts, now;
    int64_t t0 = clock_now_ms(), t1;

    ck_assert_ptr_null(clock_deadline_after(&ts, -1));
    ck_assert_ptr_null(clock_deadline_after(&ts, -1000));
    ck_assert_ptr_eq(clock_deadline_after(&ts, 0), &ts);

    clock_gettime(CLOCK_MONOTONIC, &now);
    ck_assert_ptr_eq(clock_deadline_after(&ts, 2999), &ts);
    ck_assert_int_ge(ts.tv_nsec, 0);
    ck_assert_int_lt(ts.tv_nsec, 1000000000L);
    {
        int64_t d = ((int64_t)ts.tv_sec - now.tv_sec) * 1000
                    + (ts.tv_nsec - now.tv_nsec) / 1000000;
        ck_assert_msg(d >= 2998 && d <= 3100, "deadline %lld ms away",
                      (long long)d);
    }
    clock_ms_to_timespec(12345, &ts);
    ck_assert_int_eq(ts.tv_sec, 12);
    ck_assert_int_eq(ts.tv_nsec, 345000000L);
    clock_ms_to_timespec(1000, &ts);
    ck_assert_int_eq(ts.tv_sec, 1);
    ck_assert_int_eq(ts.tv_nsec, 0);

    usleep(20 * 1000);
    t1 = clock_now_ms();
    ck_assert_msg(t1 - t0 >= 19, "clock_now_ms advanced %lld ms over 20 ms",
                  (long long)(t1 - t0));
}
END_TEST

/* The suite: chunks and wait queues. */
static Suite *queues_suite(void)
{
    Suite *s = suite_create("queues");
    TCase *chunks = tcase_create("chunks");
    TCase *waits = tcase_create("waitq");

    tcase_add_checked_fixture(chunks, NULL, chunk_teardown);
    tcase_add_test(chunks, chunk_get_is_clean);
    tcase_add_test(chunks, chunk_pool_many);
    tcase_add_test(chunks, chunkq_fifo_pop);
    tcase_add_test(chunks, chunkq_partial_chunk_accounting);
    tcase_add_test(chunks, chunkq_read_across_chunks);
    tcase_add_test(chunks, chunkq_read_big_and_small);
    tcase_add_test(chunks, chunkq_clear_empties);
    tcase_add_test(chunks, chunkq_one_byte_reads_fill_tail);
    tcase_add_test(chunks, chunkq_held_counts_nearly_empty_chunks);
    suite_add_tcase(s, chunks);

    tcase_add_checked_fixture(waits, waitq_setup, waitq_teardown);
    tcase_set_timeout(waits, 20);
    tcase_add_test(waits, waitq_fifo_order);
    tcase_add_test(waits, waitq_timeout_alone);
    tcase_add_test(waits, waitq_timeout_middle_and_tail);
    tcase_add_test(waits, waitq_timeout_head);
    tcase_add_test(waits, waitq_wake_all_wakes_everyone);
    tcase_add_test(waits, deadlines);
    suite_add_tcase(s, waits);
    return s;
}

CHECK_MAIN(queues_suite)
