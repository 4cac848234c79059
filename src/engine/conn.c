/*
 * conn.c - the connection object: creation, references, wake-ups and
 * stop requests (see conn.h).  What the I/O thread does with it is in
 * iothread.c and connect.c.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/error.h"
#include "engine/conn.h"
#include "engine/conn_io.h"
#include "engine/session.h"

/* A new connection object, not started. */
struct conn *conn_new(struct sshtun_session *s, int primary, int id)
{
    struct conn *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    if (!(c->io = calloc(1, sizeof *c->io))) {
        free(c);
        return NULL;
    }
    c->io->sock = -1;
    c->io->bridge_fd = -1;
    c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wakefd < 0) {
        free(c->io);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->sess = s;
    c->primary = primary;
    c->id = id;
    c->refs = 1;                    /* the pool's */
    c->state = CONN_CONNECTING;
    s->refs++;                      /* s->mu is held */
    return c;
}

/* Take a reference. */
void conn_ref(struct conn *c)
{
    __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
}

/* Drop a reference; free at zero. */
void conn_unref(struct conn *c)
{
    struct sshtun_session *s = c->sess;

    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
        return;
    close(c->wakefd);
    pthread_mutex_destroy(&c->mu);
    free(c->io);                    /* torn down by its thread already */
    free(c);
    session_unref(s);
}

/* Wake the I/O thread, once per batch of requests. */
void conn_wake(struct conn *c)
{
    uint64_t one = 1;

    if (!__atomic_exchange_n(&c->wake_pending, 1, __ATOMIC_SEQ_CST)) {
        ssize_t n = write(c->wakefd, &one, sizeof one);
        (void)n;                    /* EAGAIN: counter already non-zero */
    }
}

/* Consume a wake-up: later requests write the eventfd again. */
void conn_wake_consume(struct conn *c)
{
    uint64_t v;
    ssize_t n = read(c->wakefd, &v, sizeof v);

    (void)n;
    __atomic_store_n(&c->wake_pending, 0, __ATOMIC_SEQ_CST);
}

/* Ask the connection to end. */
void conn_stop(struct conn *c)
{
    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&c->mu);
    conn_wake(c);
}

/* Whether the connection (or its session) is ending. */
int conn_stopping(struct conn *c)
{
    return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)
           || session_stopping(c->sess);
}

/* The connection's state. */
enum conn_state conn_get_state(struct conn *c)
{
    return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
}
