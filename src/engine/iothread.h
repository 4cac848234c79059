/*
 * iothread.h - a connection's I/O thread: the only thread that calls
 * libssh2 for that connection.  It connects, serves channels and remote
 * listeners until stopped or lost, then leaves the pool.
 */
#ifndef SSHTUN_IOTHREAD_H
#define SSHTUN_IOTHREAD_H

#include "sshtun.h"

struct conn;

/* Start c's I/O thread, which holds a reference on c; when it finishes
 * it hands itself to the pool to be joined.  0 or an error (then the
 * caller undoes its pool entry with pool_start_failed). */
int iothread_start(struct conn *c, sshtun_error *err);

#endif
