/*
 * socks_throttle.c - failed-password bookkeeping per client address (see
 * socks_throttle.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks/socks_throttle.h"

/* Make an empty table. */
struct socks_throttle *socks_throttle_new(void)
{
    struct socks_throttle *t = calloc(1, sizeof *t);

    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

/* Free the table. */
void socks_throttle_free(struct socks_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* addr's slot, or NULL (with t->mu held). */
static struct socks_throttle_slot *find_locked(struct socks_throttle *t,
                                               const char *addr)
{
    for (int i = 0; i < SOCKS_THROTTLE_SLOTS; i++)
        if (t->slot[i].addr[0] && strcmp(t->slot[i].addr, addr) == 0)
            return &t->slot[i];
    return NULL;
}

/* Whether addr is refused without a check. */
int socks_throttle_blocked(struct socks_throttle *t, const char *addr,
                           int64_t now)
{
    struct socks_throttle_slot *s;
    int blocked = 0;

    pthread_mutex_lock(&t->mu);
    s = find_locked(t, addr);
    if (s && now - s->last_ms < SOCKS_AUTH_FAIL_WINDOW_MS)
        blocked = s->failures >= SOCKS_AUTH_MAX_FAILURES;
    pthread_mutex_unlock(&t->mu);
    return blocked;
}

/* Count one failure, taking a free or the stalest slot for a new address. */
void socks_throttle_failed(struct socks_throttle *t, const char *addr,
                           int64_t now)
{
    struct socks_throttle_slot *s;

    pthread_mutex_lock(&t->mu);
    s = find_locked(t, addr);
    if (!s) {
        s = &t->slot[0];
        for (int i = 0; i < SOCKS_THROTTLE_SLOTS && s->addr[0]; i++)
            if (!t->slot[i].addr[0] || t->slot[i].last_ms < s->last_ms)
                s = &t->slot[i];
        snprintf(s->addr, sizeof s->addr, "%s", addr);
        s->failures = 0;
    } else if (now - s->last_ms >= SOCKS_AUTH_FAIL_WINDOW_MS) {
        s->failures = 0;            /* the old ones have expired */
    }
    s->failures++;
    s->last_ms = now;
    pthread_mutex_unlock(&t->mu);
}

/* Forget addr's failures. */
void socks_throttle_succeeded(struct socks_throttle *t, const char *addr)
{
    struct socks_throttle_slot *s;

    pthread_mutex_lock(&t->mu);
    if ((s = find_locked(t, addr)))
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&t->mu);
}
