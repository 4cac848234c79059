/*
 * chunk.c - the chunk pool and chunk queues (see chunk.h).
 *
 * The pool keeps at most POOL_MAX free chunks, so idle memory stays
 * bounded however many connections came and went.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/chunk.h"

#define POOL_MAX 64

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *pool_head;
static size_t pool_count;

/* Take a chunk from the pool or the heap. */
struct chunk *chunk_get(void)
{
    struct chunk *c;

    pthread_mutex_lock(&pool_mu);
    c = pool_head;
    if (c) {
        pool_head = c->next;
        pool_count--;
    }
    pthread_mutex_unlock(&pool_mu);
    if (!c)
        c = malloc(sizeof *c);
    if (c) {
        c->next = NULL;
        c->off = c->len = 0;
    }
    return c;
}

/* Return a chunk to the pool, or free it when the pool is full. */
void chunk_put(struct chunk *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&pool_mu);
    if (pool_count < POOL_MAX) {
        c->next = pool_head;
        pool_head = c;
        pool_count++;
        c = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    free(c);
}

/* Free every pooled chunk. */
void chunk_pool_drain(void)
{
    pthread_mutex_lock(&pool_mu);
    while (pool_head) {
        struct chunk *c = pool_head;
        pool_head = c->next;
        free(c);
    }
    pool_count = 0;
    pthread_mutex_unlock(&pool_mu);
}

/* Append a chunk; the queue takes ownership. */
void chunk_queue_push(struct chunkq *q, struct chunk *c)
{
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->bytes += c->len - c->off;
    q->held += sizeof *c;
}

/* Append, merging small data into the tail chunk. */
void chunk_queue_append(struct chunkq *q, struct chunk *c)
{
    struct chunk *t = q->tail;
    size_t n = c->len - c->off;

    if (t && CHUNK_SIZE - t->len >= n) {
        memcpy(t->data + t->len, c->data + c->off, n);
        t->len += n;
        q->bytes += n;
        chunk_put(c);
    } else {
        chunk_queue_push(q, c);
    }
}

/* Whether the queue's memory has reached cap. */
int chunk_queue_full(const struct chunkq *q, size_t cap)
{
    return q->held >= cap;
}

/* Bytes that may still be appended within cap. */
size_t chunk_queue_room(const struct chunkq *q, size_t cap)
{
    size_t tail_free = q->tail ? CHUNK_SIZE - q->tail->len : 0;

    if (q->held >= cap)
        return tail_free;
    return tail_free + (cap - q->held + sizeof(struct chunk) - 1)
                           / sizeof(struct chunk) * CHUNK_SIZE;
}

/* Detach the first chunk; the caller takes ownership. */
struct chunk *chunk_queue_pop(struct chunkq *q)
{
    struct chunk *c = q->head;

    if (!c)
        return NULL;
    q->head = c->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= c->len - c->off;
    q->held -= sizeof *c;
    c->next = NULL;
    return c;
}

/* Copy bytes out of the queue, freeing chunks as they empty. */
size_t chunk_queue_read(struct chunkq *q, void *buf, size_t len)
{
    unsigned char *out = buf;
    size_t done = 0;

    while (done < len && q->head) {
        struct chunk *c = q->head;
        size_t n = c->len - c->off;

        if (n > len - done)
            n = len - done;
        memcpy(out + done, c->data + c->off, n);
        c->off += n;
        q->bytes -= n;
        done += n;
        if (c->off == c->len) {
            q->head = c->next;
            if (!q->head)
                q->tail = NULL;
            q->held -= sizeof *c;
            chunk_put(c);
        }
    }
    return done;
}

/* Drop everything in the queue. */
void chunk_queue_clear(struct chunkq *q)
{
    struct chunk *c;

    while ((c = chunk_queue_pop(q)))
        chunk_put(c);
}
