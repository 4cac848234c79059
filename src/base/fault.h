/*
 * fault.h - fault injection for tests: make the Nth allocation, thread
 * start, socket, accept or poll fail.
 *
 * Only a build configured with --enable-fault-injection uses it: there
 * every library and program source is compiled with `-include
 * base/fault.h`, which maps malloc, calloc, realloc, strdup, strndup,
 * pthread_create, socket, socketpair, accept, accept4 and poll to counting
 * wrappers (fault.c).  libssh2's allocations are counted through the
 * allocator a session is made with (FAULT_SSH_ALLOC and friends, for
 * libssh2_session_init_ex), OpenSSL's through CRYPTO_set_mem_functions
 * (fault_init, from sshtun_global_init).  SSHTUN_FAIL_AT=N in the
 * environment makes the Nth counted call fail once, the way the real
 * call fails (NULL with ENOMEM, EAGAIN, EMFILE); SSHTUN_FAIL_KIND=alloc
 * (ours and libssh2's), crypto (OpenSSL's), thread, socket, accept or
 * poll numbers only the calls of that kind.
 * SSHTUN_FAULT_REPORT=path writes the counts there at exit ("all N" and
 * one line per kind), so that a test can walk N over a whole session.  In other builds the header only names
 * libssh2's default allocator (NULL).
 */
#ifndef SSHTUN_FAULT_H
#define SSHTUN_FAULT_H

#include "config.h"

#ifdef SSHTUN_FAULT_INJECTION

/* Every header whose names are mapped, first, so that their declarations
 * keep the real names. */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libssh2.h>

void *fault_malloc(size_t n);
void *fault_calloc(size_t n, size_t size);
void *fault_realloc(void *p, size_t n);
char *fault_strdup(const char *s);
char *fault_strndup(const char *s, size_t n);
int fault_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                         void *(*fn)(void *), void *arg);
int fault_socket(int domain, int type, int protocol);
int fault_socketpair(int domain, int type, int protocol, int sv[2]);
int fault_accept(int fd, struct sockaddr *sa, socklen_t *len);
int fault_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int fault_poll(struct pollfd *fds, nfds_t n, int timeout);

LIBSSH2_ALLOC_FUNC(fault_ssh_alloc);
LIBSSH2_REALLOC_FUNC(fault_ssh_realloc);
LIBSSH2_FREE_FUNC(fault_ssh_free);

/* Count OpenSSL's allocations too and report at exit; call before
 * anything else uses OpenSSL.  (SSHTUN_FAIL_AT is read before main.) */
void fault_init(void);

#define malloc(n) fault_malloc(n)
#define calloc(n, s) fault_calloc(n, s)
#define realloc(p, n) fault_realloc(p, n)
#define strdup(s) fault_strdup(s)
#define strndup(s, n) fault_strndup(s, n)
#define pthread_create(t, a, f, x) fault_pthread_create(t, a, f, x)
#define socket(d, t, p) fault_socket(d, t, p)
#define socketpair(d, t, p, v) fault_socketpair(d, t, p, v)
#define accept(f, a, l) fault_accept(f, a, l)
#define accept4(f, a, l, g) fault_accept4(f, a, l, g)
#define poll(f, n, t) fault_poll(f, n, t)

#define FAULT_SSH_ALLOC fault_ssh_alloc
#define FAULT_SSH_REALLOC fault_ssh_realloc
#define FAULT_SSH_FREE fault_ssh_free

#else

#define FAULT_SSH_ALLOC NULL
#define FAULT_SSH_REALLOC NULL
#define FAULT_SSH_FREE NULL
#define fault_init() ((void)0)

#endif
#endif
