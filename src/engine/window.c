/*
 * window.c - receive windows that grow while they pay, within one
 * process-wide memory budget (see window.h).
 *
 * libssh2 1.10 decides some grants itself: at open (the floor), and on
 * every read, where it tops the window back up to the floor plus the
 * read's size when it has fallen below three quarters of the floor plus
 * that size.  So reads are kept to a quarter of the floor until the
 * channel has grown, and what is promised is measured from libssh2
 * (window left + data held unread), not assumed.
 */
#include "config.h"

#include "base/clock.h"
#include "engine/window.h"

#define WINDOW_FLOOR_MIN (4 * 1024)
#define WINDOW_READ_MAX (64 * 1024)
/* A whole window read within this long means the window, not the
 * source, set the pace: it doubles (as TCP's slow start). */
#define WINDOW_GROW_MS 1000

static long budget_limit;           /* atomic: bytes, 0 until a session */
static long budget_used;            /* atomic: promised by all channels */

/* Set the budget; the largest asked for wins. */
void window_budget_set(long bytes)
{
    long old = __atomic_load_n(&budget_limit, __ATOMIC_RELAXED);

    while (bytes > old
           && !__atomic_compare_exchange_n(&budget_limit, &old, bytes, 0,
                                           __ATOMIC_RELAXED,
                                           __ATOMIC_RELAXED))
        ;
}

/* Bytes promised now. */
long window_budget_used(void)
{
    return __atomic_load_n(&budget_used, __ATOMIC_RELAXED);
}

/* Budget left (may be negative: floors are granted even when tight). */
static long budget_free(void)
{
    return __atomic_load_n(&budget_limit, __ATOMIC_RELAXED)
           - __atomic_load_n(&budget_used, __ATOMIC_RELAXED);
}

/* The floor for a new channel: 1/256 of the budget left, 4K to 128K. */
long window_floor(void)
{
    long f = budget_free() / 256;

    if (f > WINDOW_FLOOR)
        return WINDOW_FLOOR;
    return f < WINDOW_FLOOR_MIN ? WINDOW_FLOOR_MIN : f & ~1023L;
}

/* Restart the count of what passed through the current target. */
static void restart_count(struct window *w)
{
    w->consumed = 0;
    w->since_ms = clock_now_ms();
}

/* Start a channel's window state. */
void window_init(struct window *w, long floor, long max)
{
    w->floor = floor;
    w->target = floor;
    w->max = max > floor ? max : floor;
    w->accounted = 0;
    restart_count(w);
}

/* How much to read in one call: a quarter of the floor until the channel
 * has grown (so libssh2's own top-up overshoots by that at most). */
size_t window_read_size(const struct window *w)
{
    size_t chunk = w->target > w->floor ? WINDOW_READ_MAX
                                        : (size_t)w->floor / 4;

    if (chunk > WINDOW_READ_MAX)
        chunk = WINDOW_READ_MAX;
    return chunk < 1024 ? 1024 : chunk;
}

/* Double the target when a whole window's worth passed within
 * WINDOW_GROW_MS (libssh2 refills the window on every read, so how low
 * it got says nothing; the pace does) and the budget allows. */
static void grow(struct window *w, long nread)
{
    long step = w->target < w->max - w->target ? w->target
                                               : w->max - w->target;

    w->consumed += nread;
    if (w->consumed < w->target)
        return;
    if (step > 0 && clock_now_ms() - w->since_ms <= WINDOW_GROW_MS
        && budget_free() >= step)
        w->target += step;
    restart_count(w);
}

/* After a pass: grow, top up, or fall back; account what is promised. */
int window_update(struct window *w, LIBSSH2_CHANNEL *lch, long nread,
                  int keeping_up, int stalled)
{
    unsigned long avail = 0;
    unsigned long left = libssh2_channel_window_read_ex(lch, &avail, NULL);
    long promised;
    int rc = 0;

    w->adjust_pending = 0;
    if (stalled) {
        w->target = w->floor;       /* earn growth again once it reads */
        restart_count(w);
    } else {
        if (keeping_up)
            grow(w, nread);
        if (w->target > w->floor && left < (unsigned long)(w->target - w->target / 8)
            && budget_free() >= w->target - (long)left) {
            rc = libssh2_channel_receive_window_adjust2(
                lch, (unsigned long)w->target - left, 1, NULL);
            if (rc == LIBSSH2_ERROR_EAGAIN) {
                rc = 0;             /* tried again next pass */
                w->adjust_pending = 1;
            }
            left = libssh2_channel_window_read_ex(lch, &avail, NULL);
        }
    }
    promised = (long)(left + avail);
    __atomic_add_fetch(&budget_used, promised - w->accounted,
                       __ATOMIC_RELAXED);
    w->accounted = promised;
    return rc;
}

/* Give the channel's share back. */
void window_release(struct window *w)
{
    __atomic_sub_fetch(&budget_used, w->accounted, __ATOMIC_RELAXED);
    w->accounted = 0;
}
