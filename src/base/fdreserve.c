/*
 * fdreserve.c - the reserve of descriptors (see fdreserve.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "base/fdreserve.h"

/* Writers first: a reconnect must not wait behind a stream of accepts. */
static pthread_rwlock_t reserve_lock =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static int reserve[FDRESERVE_COUNT];    /* [reserve_lock, exclusive] */
static int nreserve;                    /* [reserve_lock, exclusive] */
static __thread int privileged;

/* Fill the reserve up again as far as descriptors allow (lock held
 * exclusively). */
static void top_up(void)
{
    while (nreserve < FDRESERVE_COUNT) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        reserve[nreserve++] = fd;
    }
}

/* Open the reserve. */
int fdreserve_init(void)
{
    int full;

    pthread_rwlock_wrlock(&reserve_lock);
    top_up();
    full = nreserve == FDRESERVE_COUNT;
    pthread_rwlock_unlock(&reserve_lock);
    return full ? 0 : -1;
}

/* Close the reserve. */
void fdreserve_cleanup(void)
{
    pthread_rwlock_wrlock(&reserve_lock);
    while (nreserve > 0)
        close(reserve[--nreserve]);
    pthread_rwlock_unlock(&reserve_lock);
}

/* Mark the calling thread. */
void fdreserve_privileged(void)
{
    privileged = 1;
}

/* The reserve's size now. */
int fdreserve_held(void)
{
    int n;

    pthread_rwlock_rdlock(&reserve_lock);
    n = nreserve;
    pthread_rwlock_unlock(&reserve_lock);
    return n;
}

/* What an open needs: a function and its arguments. */
struct fd_call {
    int (*fn)(struct fd_call *);
    int domain, type, protocol, fd, flags;
    int *sv;
    struct sockaddr *sa;
    socklen_t *len;
    const char *path, *mode;
    FILE *fp;
};

/* Run an open: shared for ordinary threads; for a privileged one,
 * exclusive, giving reserves back one by one while it fails for want of
 * descriptors. */
static int run(struct fd_call *c)
{
    int rc, e;

    if (!privileged) {
        pthread_rwlock_rdlock(&reserve_lock);
        rc = c->fn(c);
        e = errno;
        pthread_rwlock_unlock(&reserve_lock);
        errno = e;
        return rc;
    }
    pthread_rwlock_wrlock(&reserve_lock);
    top_up();
    while ((rc = c->fn(c)) < 0 && (errno == EMFILE || errno == ENFILE)
           && nreserve > 0)
        close(reserve[--nreserve]);
    e = errno;
    pthread_rwlock_unlock(&reserve_lock);
    errno = e;
    return rc;
}

static int call_socket(struct fd_call *c)
{
    return socket(c->domain, c->type, c->protocol);
}

static int call_socketpair(struct fd_call *c)
{
    return socketpair(c->domain, c->type, c->protocol, c->sv);
}

static int call_accept4(struct fd_call *c)
{
    return accept4(c->fd, c->sa, c->len, c->flags);
}

static int call_fopen(struct fd_call *c)
{
    return (c->fp = fopen(c->path, c->mode)) ? 0 : -1;
}

/* socket(2) through the reserve. */
int fdreserve_socket(int domain, int type, int protocol)
{
    struct fd_call c = { .fn = call_socket, .domain = domain, .type = type,
                         .protocol = protocol };

    return run(&c);
}

/* socketpair(2) through the reserve. */
int fdreserve_socketpair(int domain, int type, int protocol, int sv[2])
{
    struct fd_call c = { .fn = call_socketpair, .domain = domain,
                         .type = type, .protocol = protocol, .sv = sv };

    return run(&c);
}

/* accept4(2) through the reserve. */
int fdreserve_accept4(int fd, struct sockaddr *sa, socklen_t *len,
                      int flags)
{
    struct fd_call c = { .fn = call_accept4, .fd = fd, .sa = sa, .len = len,
                         .flags = flags };

    return run(&c);
}

/* fopen(3) through the reserve. */
FILE *fdreserve_fopen(const char *path, const char *mode)
{
    struct fd_call c = { .fn = call_fopen, .path = path, .mode = mode };

    return run(&c) < 0 ? NULL : c.fp;
}
