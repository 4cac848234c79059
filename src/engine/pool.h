/*
 * pool.h - a session's connections, and which one sends each channel open.
 *
 * libssh2 1.10 lets one channel open be pending per SSH connection, and
 * sshd answers an open only when its own connect to the destination has
 * finished: one destination that does not answer would hold every later
 * open.  So opens wait in the session's queue, not a connection's: a
 * connection takes the next one only when it has no open in flight.  When
 * no connection is free and an open has been in flight (or waited in the
 * queue) longer than a short grace (POOL_GRACE_MS, at least a few round
 * trips), or POOL_DEEP_QUEUE opens wait, the pool makes another
 * connection in the background (up to PoolMax), which takes the next
 * opens.  A stuck open pins its
 * connection only for opens; its channels keep moving.  Extra connections
 * beyond PoolMin close after PoolIdleTime without channels.
 *
 * Every extra connection is checked against the host key the first one
 * accepted, and authenticates the way the first one did.
 */
#ifndef SSHTUN_POOL_H
#define SSHTUN_POOL_H

#include "sshtun.h"

struct sshtun_session;
struct sshtun_channel;
struct conn;

/* How long an open may wait in the queue before the pool grows, at least
 * (the grace also covers a few of the connections' round trips). */
#define POOL_GRACE_MS 150

/* This many opens waiting at once are sent sooner by more connections. */
#define POOL_DEEP_QUEUE 8

/* The pool makes connection objects; the caller starts their I/O
 * threads (iothread_start) and, if that fails, calls pool_start_failed. */

/* The first connection, or NULL with err. */
struct conn *pool_add_primary(struct sshtun_session *s, sshtun_error *err);

/* One more connection while the pool is below PoolMin, or NULL. */
struct conn *pool_grow_to_min(struct sshtun_session *s);

/* An open has waited past the grace: one more connection if the pool may
 * grow (below PoolMax, not backing off, logins repeatable), or NULL. */
struct conn *pool_grow_for_waiting(struct sshtun_session *s);

/* The I/O thread of c: its open has been in flight past the grace; one
 * more connection if no other is free and the pool may grow, or NULL. */
struct conn *pool_grow_for_stuck(struct conn *c);

/* Whether at least POOL_DEEP_QUEUE opens wait: worth another connection
 * at once, without waiting for the grace. */
int pool_queue_deep(struct sshtun_session *s);

/* Undo the pool entry of a connection whose thread did not start. */
void pool_start_failed(struct conn *c);

/* Queue a new channel's open (taking the channel's owner reference; the
 * channel is counted and holds a session reference from now on) and
 * wake the least loaded connection that is free to send it.  Fails when
 * the session is closed, forwarding is disabled or the channel limit is
 * reached. */
int pool_submit_open(struct sshtun_session *s, struct sshtun_channel *ch,
                     sshtun_error *err);

/* The I/O thread of c: the next queued open, now owned by c, or NULL. */
struct sshtun_channel *pool_take_open(struct conn *c);

/* How long an open may wait before the pool grows, in ms. */
int pool_grace_ms(struct sshtun_session *s);

/* An open on connection c was answered in took_ms. */
void pool_note_rtt(struct conn *c, int took_ms);

/* An extra connection's connect phase ended (rc 0: it is up). */
void pool_connect_result(struct conn *c, int rc, const char *why);

/* Whether idle connection c may close now (it is beyond PoolMin); if so
 * it has left the pool and takes no more opens. */
int pool_leave_if_idle(struct conn *c);

/* The I/O thread of c is finishing: c leaves the pool, and the thread
 * (with its reference) waits to be joined. */
void pool_conn_finished(struct conn *c);

/* Ask every connection but c to end (c, the first, has ended). */
void pool_stop_others(struct conn *c);

/* Fail every queued open (the session is ending). */
void pool_fail_queued(struct sshtun_session *s, int code, const char *msg);

/* Ask every connection to end, then join their threads (no lock held). */
void pool_stop_and_join(struct sshtun_session *s);

/* Join the threads of connections that have finished. */
void pool_reap(struct sshtun_session *s);

#endif
