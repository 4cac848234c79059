/*
 * chunk.h - pooled fixed-size data chunks and FIFO queues of them.
 *
 * Data moves between a client's reader/writer threads and the session's
 * I/O thread in whole chunks, so a hand-over is one pointer move under a
 * lock, never a byte copy.  Chunks come from a small global pool to avoid
 * malloc/free per 32 KiB.  A chunkq is a plain queue with no locking of
 * its own: its owner (a channel) guards it with its mutex.
 *
 * A queue counts both what it holds for its reader (bytes) and what it
 * costs (held: whole chunks, however little data each has), and caps are
 * checked against the cost: a peer sending 1-byte packets must not make
 * a queue hold thousands of nearly empty chunks.  chunk_queue_append copies
 * small data into the tail chunk for the same reason.
 */
#ifndef SSHTUN_CHUNK_H
#define SSHTUN_CHUNK_H

#include <stddef.h>

/* Two SSH packets' worth (libssh2 sends at most 32768 bytes a packet):
 * fewer hand-overs per byte than one packet each. */
#define CHUNK_SIZE (64 * 1024)

struct chunk {
    struct chunk *next;
    size_t off;                 /* first unread byte */
    size_t len;                 /* end of valid data */
    unsigned char data[CHUNK_SIZE];
};

struct chunkq {
    struct chunk *head;
    struct chunk *tail;
    size_t bytes;               /* unread bytes in all chunks */
    size_t held;                /* memory the chunks take (sizeof each) */
};

/* A chunk with off = len = 0, owned by the caller; NULL if out of memory. */
struct chunk *chunk_get(void);

/* Give a chunk back to the pool; the caller no longer owns it. */
void chunk_put(struct chunk *c);

/* Release pooled chunks (at library cleanup). */
void chunk_pool_drain(void);

/* Append c (with unread data) to q; q owns c afterwards. */
void chunk_queue_push(struct chunkq *q, struct chunk *c);

/* Append c to q, copying its data into q's tail chunk instead when it
 * fits there (c then goes back to the pool); q owns c afterwards. */
void chunk_queue_append(struct chunkq *q, struct chunk *c);

/* Whether q's chunks take cap bytes of memory or more. */
int chunk_queue_full(const struct chunkq *q, size_t cap);

/* How many more bytes may be appended to q while its memory stays
 * within cap (plus at most one chunk): the free end of the tail chunk,
 * and whole new chunks while held < cap. */
size_t chunk_queue_room(const struct chunkq *q, size_t cap);

/* Remove and return the first chunk; the caller owns it.  NULL if empty. */
struct chunk *chunk_queue_pop(struct chunkq *q);

/* Copy up to len unread bytes out of q into buf, releasing emptied chunks;
 * returns the number of bytes copied. */
size_t chunk_queue_read(struct chunkq *q, void *buf, size_t len);

/* Release every chunk in q to the pool. */
void chunk_queue_clear(struct chunkq *q);

#endif
