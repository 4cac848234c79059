/*
 * window.h - SSH receive windows sized to the link and to the memory
 * budget.
 *
 * Every byte a server may send before we read it is memory we promised:
 * the window still granted plus what libssh2 holds unread.  A channel
 * starts with a small window (the floor, which libssh2 1.10 tops up on
 * every read and which can never be taken back) and doubles, as TCP's
 * slow start does, each time a whole window passes within a second while
 * its reader keeps up, up to WindowSize.  A stalled reader's channel
 * stops growing and falls back to the floor.  All channels of the
 * process share one budget (MemoryBudget): growth and new channels'
 * floors must fit in it, so ten thousand channels never promise more
 * than it.
 */
#ifndef SSHTUN_WINDOW_H
#define SSHTUN_WINDOW_H

#include <libssh2.h>
#include <stddef.h>
#include <stdint.h>

/* The floor a channel opens with while the budget has room. */
#define WINDOW_FLOOR (128 * 1024)

/* A channel's window state (owned by its connection's I/O thread). */
struct window {
    long floor;                     /* given at open: libssh2 tops up to it */
    long target;                    /* what we keep granted while reading */
    long max;                       /* WindowSize */
    long accounted;                 /* counted in the process budget */
    long consumed;                  /* read since the target last changed */
    int64_t since_ms;               /* when it last changed (clock_now_ms) */
    int adjust_pending;             /* a grant libssh2 could not send yet */
};

/* Set the process-wide budget (bytes); the largest asked for wins. */
void window_budget_set(long bytes);

/* Bytes promised by every channel now (for statistics and tests). */
long window_budget_used(void);

/* The floor for a new channel, given the budget left. */
long window_floor(void);

/* Start a channel's window state: it opened with floor, may grow to max. */
void window_init(struct window *w, long floor, long max);

/* How many bytes to ask libssh2 for in one read call. */
size_t window_read_size(const struct window *w);

/* After a pass over the channel that read nread bytes: grow and top up
 * the window while the reader keeps up (keeping_up), fall back when it
 * stalled, and account what is promised.  Returns a negative libssh2
 * error, or 0. */
int window_update(struct window *w, LIBSSH2_CHANNEL *lch, long nread,
                  int keeping_up, int stalled);

/* The channel is gone: give its share back. */
void window_release(struct window *w);

#endif
