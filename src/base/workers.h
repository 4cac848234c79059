/*
 * workers.h - a bounded cache of idle threads, so that a forwarded
 * connection's reader and writer threads are not created and destroyed
 * for every client.
 *
 * Each job still runs on a thread of its own for as long as it lasts (a
 * client keeps its reader/writer pair while it lives); only the thread's
 * creation is saved.  A thread whose job is done waits up to
 * WORKERS_IDLE_MS for another; at most WORKERS_IDLE_MAX wait at once, the
 * rest exit.  Threads have a small stack (WORKERS_STACK).
 */
#ifndef SSHTUN_WORKERS_H
#define SSHTUN_WORKERS_H

#define WORKERS_STACK (128 * 1024)
#define WORKERS_IDLE_MAX 64
#define WORKERS_IDLE_MS 10000

/* Run fn(arg) on an idle cached thread, or on a new one.  Returns 0, or
 * the pthread_create error (fn is then not run). */
int workers_run(void *(*fn)(void *), void *arg);

/* Ask the idle threads to exit and wait until none is left (for leak
 * checkers at exit; jobs still running are not waited for). */
void workers_drain(void);

#endif
