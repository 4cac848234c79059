/*
 * socks_throttle.h - slowing down password guessing on a SOCKS proxy.
 *
 * After a failed username/password the reply waits
 * SOCKS_AUTH_FAIL_DELAY_MS, in that client's own thread (nobody else
 * waits).  A client address with SOCKS_AUTH_MAX_FAILURES failures, each
 * within SOCKS_AUTH_FAIL_WINDOW_MS of the one before, is refused without
 * a check until that long has passed since its last attempt.  The table
 * of addresses is bounded: when it is full, the address whose last
 * failure is oldest gives its place up.
 */
#ifndef SSHTUN_SOCKS_THROTTLE_H
#define SSHTUN_SOCKS_THROTTLE_H

#include <pthread.h>
#include <stdint.h>

#define SOCKS_AUTH_FAIL_DELAY_MS 1000
#define SOCKS_AUTH_MAX_FAILURES 10
#define SOCKS_AUTH_FAIL_WINDOW_MS (10 * 60 * 1000)
#define SOCKS_THROTTLE_SLOTS 1024

struct socks_throttle_slot {
    char addr[64];                  /* "" when free */
    int failures;
    int64_t last_ms;
};

struct socks_throttle {
    pthread_mutex_t mu;
    struct socks_throttle_slot slot[SOCKS_THROTTLE_SLOTS];   /* [mu] */
};

/* A new table, or NULL if out of memory. */
struct socks_throttle *socks_throttle_new(void);
void socks_throttle_free(struct socks_throttle *t);

/* Whether addr has used up its failures at now (now_ms based). */
int socks_throttle_blocked(struct socks_throttle *t, const char *addr,
                           int64_t now);

/* Count a failed (or refused) attempt from addr at now. */
void socks_throttle_failed(struct socks_throttle *t, const char *addr,
                           int64_t now);

/* A good password from addr: forget its failures. */
void socks_throttle_succeeded(struct socks_throttle *t, const char *addr);

#endif
