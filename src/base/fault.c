/*
 * fault.c - the counting wrappers of the fault-injection build (see
 * fault.h).  One process-wide counter of calls; the call whose number is
 * SSHTUN_FAIL_AT fails.  Compiled to nothing in other builds.
 */
#include "base/fault.h"

#ifdef SSHTUN_FAULT_INJECTION

/* The build includes fault.h ahead of this file too: here the names mean
 * the real calls. */
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup
#undef pthread_create
#undef socket
#undef socketpair
#undef accept
#undef accept4
#undef poll

#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif
#include <openssl/crypto.h>

/* The kinds of call, counted apart (SSHTUN_FAIL_KIND picks one). */
enum fault_kind {
    FK_ALLOC,               /* ours and libssh2's */
    FK_CRYPTO,              /* OpenSSL's */
    FK_THREAD, FK_SOCKET, FK_ACCEPT, FK_POLL, FK_N
};
static const char *const fault_kind_names[FK_N] = {
    "alloc", "crypto", "thread", "socket", "accept", "poll"
};

static unsigned long fault_at;          /* 0: never fail */
static int fault_only = -1;             /* a kind, or -1: all kinds */
static unsigned long fault_calls;       /* atomic: counted calls */
static unsigned long fault_kind_calls[FK_N];    /* atomic: per kind */

/* Read SSHTUN_FAIL_AT and SSHTUN_FAIL_KIND before main, so that the
 * program's first calls can fail too. */
__attribute__((constructor)) static void fault_read_env(void)
{
    const char *at = getenv("SSHTUN_FAIL_AT");
    const char *kind = getenv("SSHTUN_FAIL_KIND");

    fault_at = at ? strtoul(at, NULL, 10) : 0;
    for (int k = 0; kind && k < FK_N; k++)
        if (strcmp(kind, fault_kind_names[k]) == 0)
            fault_only = k;
}

/* Count one call of a kind; 1 if this is the one to fail.  With
 * SSHTUN_FAIL_KIND, only calls of that kind are numbered. */
static int fault_hit(enum fault_kind kind)
{
    unsigned long n;

    __atomic_add_fetch(&fault_kind_calls[kind], 1, __ATOMIC_RELAXED);
    if (fault_only >= 0 && (int)kind != fault_only)
        return 0;
    n = __atomic_add_fetch(&fault_calls, 1, __ATOMIC_RELAXED);
    if (!fault_at || n != fault_at)
        return 0;
    if (getenv("SSHTUN_FAULT_TRACE")) {
        /* Where the failure was injected, for whoever reads the log. */
        static const char msg[] = "fault injected here:\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
#ifdef __SANITIZE_ADDRESS__
        __sanitizer_print_stack_trace();
#else
        void *frames[32];
        backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
#endif
    }
    return 1;
}

/* malloc, failing on its turn. */
void *fault_malloc(size_t n)
{
    if (fault_hit(FK_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(n);
}

/* calloc, failing on its turn. */
void *fault_calloc(size_t n, size_t size)
{
    if (fault_hit(FK_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return calloc(n, size);
}

/* realloc, failing on its turn (p stays valid then, as with realloc). */
void *fault_realloc(void *p, size_t n)
{
    if (fault_hit(FK_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

/* strdup, failing on its turn. */
char *fault_strdup(const char *s)
{
    if (fault_hit(FK_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return strdup(s);
}

/* strndup, failing on its turn. */
char *fault_strndup(const char *s, size_t n)
{
    if (fault_hit(FK_ALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return strndup(s, n);
}

/* pthread_create, failing with EAGAIN (no resources) on its turn. */
int fault_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                         void *(*fn)(void *), void *arg)
{
    if (fault_hit(FK_THREAD))
        return EAGAIN;
    return pthread_create(t, attr, fn, arg);
}

/* socket, failing with EMFILE on its turn. */
int fault_socket(int domain, int type, int protocol)
{
    if (fault_hit(FK_SOCKET)) {
        errno = EMFILE;
        return -1;
    }
    return socket(domain, type, protocol);
}

/* socketpair, failing with EMFILE on its turn. */
int fault_socketpair(int domain, int type, int protocol, int sv[2])
{
    if (fault_hit(FK_SOCKET)) {
        errno = EMFILE;
        return -1;
    }
    return socketpair(domain, type, protocol, sv);
}

/* accept, failing with EMFILE on its turn (the client stays queued). */
int fault_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    if (fault_hit(FK_ACCEPT)) {
        errno = EMFILE;
        return -1;
    }
    return accept(fd, sa, len);
}

/* accept4, failing with EMFILE on its turn. */
int fault_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    if (fault_hit(FK_ACCEPT)) {
        errno = EMFILE;
        return -1;
    }
    return accept4(fd, sa, len, flags);
}

/* poll, failing with ENOMEM on its turn. */
int fault_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    if (fault_hit(FK_POLL)) {
        errno = ENOMEM;
        return -1;
    }
    return poll(fds, n, timeout);
}

/* libssh2's allocator for the sessions the engine makes. */
LIBSSH2_ALLOC_FUNC(fault_ssh_alloc)
{
    (void)abstract;
    return fault_malloc(count);
}

/* libssh2's realloc. */
LIBSSH2_REALLOC_FUNC(fault_ssh_realloc)
{
    (void)abstract;
    return fault_realloc(ptr, count);
}

/* libssh2's free. */
LIBSSH2_FREE_FUNC(fault_ssh_free)
{
    (void)abstract;
    free(ptr);
}

/* OpenSSL's allocator. */
static void *fault_crypto_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (fault_hit(FK_CRYPTO)) {
        errno = ENOMEM;
        return NULL;
    }
    return malloc(n);
}

/* OpenSSL's realloc. */
static void *fault_crypto_realloc(void *p, size_t n, const char *file,
                                  int line)
{
    (void)file;
    (void)line;
    if (fault_hit(FK_CRYPTO)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

/* OpenSSL's free. */
static void fault_crypto_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* At exit: how many calls were counted (SSHTUN_FAULT_REPORT). */
static void fault_report(void)
{
    const char *path = getenv("SSHTUN_FAULT_REPORT");
    FILE *f;

    if (!path || !(f = fopen(path, "w")))
        return;
    fprintf(f, "all %lu\n", __atomic_load_n(&fault_calls, __ATOMIC_RELAXED));
    for (int k = 0; k < FK_N; k++)
        fprintf(f, "%s %lu\n", fault_kind_names[k],
                __atomic_load_n(&fault_kind_calls[k], __ATOMIC_RELAXED));
    fclose(f);
}

/* Route OpenSSL's allocations through the counter; report at exit. */
void fault_init(void)
{
    static int done;

    if (done++)
        return;
    CRYPTO_set_mem_functions(fault_crypto_malloc, fault_crypto_realloc,
                             fault_crypto_free);
    atexit(fault_report);
}

#else
/* ISO C wants something in a translation unit. */
typedef int fault_unused;
#endif
