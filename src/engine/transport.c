/*
 * transport.c - TCP connect with deadline, the buffered send callback and
 * the receive callback that reads ahead.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "engine/transport.h"
#include "base/clock.h"
#include "base/fdreserve.h"

/* Connect one address, waiting until the deadline.  Returns fd or -errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline_ms)
{
    int fd, one = 1, soerr = 0;
    socklen_t sl = sizeof soerr;

    fd = fdreserve_socket(ai->ai_family,
                          ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          ai->ai_protocol);
    if (fd < 0)
        return -errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int timeout = -1, rc;

        if (deadline_ms) {
            int64_t left = deadline_ms - clock_now_ms();
            if (left <= 0) {
                close(fd);
                return -ETIMEDOUT;
            }
            timeout = (int)left;
        }
        rc = poll(&pfd, 1, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            continue;               /* re-check the deadline */
        break;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        close(fd);
        return -soerr;
    }
    return fd;
}

/* Resolve and connect, trying every address in order. */
int transport_connect(const char *host, int port, int family,
                      int64_t deadline_ms, int *fdp, int *sys_errno,
                      sshtun_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int rc, fd = -ECONNREFUSED;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(portstr, sizeof portstr, "%d", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
        hints.ai_flags = 0;         /* loopback-only hosts have no "config" */
        rc = getaddrinfo(host, portstr, &hints, &res);
    }
    if (rc)
        return error_set(err, SSHTUN_ERR_RESOLVE,
                         "Could not resolve hostname %s: %s", host,
                         gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = connect_one(ai, deadline_ms);
        if (fd >= 0 || fd == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    if (sys_errno)
        *sys_errno = fd < 0 ? -fd : 0;
    if (fd == -ETIMEDOUT)
        return error_set(err, SSHTUN_ERR_TIMEOUT,
                         "connect to host %s port %d: Connection timed out",
                         host, port);
    if (fd < 0)
        return error_set(err, SSHTUN_ERR_CONNECT,
                         "connect to host %s port %d: %s", host, port,
                         strerror(-fd));
    *fdp = fd;
    return 0;
}

/* Unsent bytes. */
size_t transport_pending(const struct transport *ob)
{
    return ob->len - ob->off;
}

/* Append bytes, growing the buffer. */
static int transport_append(struct transport *ob, const unsigned char *p, size_t n)
{
    if (ob->off && ob->off == ob->len)
        ob->off = ob->len = 0;
    if (ob->len + n > ob->cap) {
        if (ob->off) {              /* compact before growing */
            memmove(ob->data, ob->data + ob->off, ob->len - ob->off);
            ob->len -= ob->off;
            ob->off = 0;
        }
        if (ob->len + n > ob->cap) {
            size_t cap = ob->cap ? ob->cap : 64 * 1024;
            unsigned char *d;
            while (cap < ob->len + n)
                cap *= 2;
            if (!(d = realloc(ob->data, cap)))
                return -1;
            ob->data = d;
            ob->cap = cap;
        }
    }
    memcpy(ob->data + ob->len, p, n);
    ob->len += n;
    return 0;
}

/* Send what we can now. */
int transport_flush(struct transport *ob)
{
    while (ob->off < ob->len) {
        ssize_t n = send(ob->fd, ob->data + ob->off, ob->len - ob->off,
                         MSG_NOSIGNAL);
        if (n > 0) {
            ob->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        ob->error = n < 0 ? errno : EPIPE;
        return -1;
    }
    ob->off = ob->len = 0;
    return 0;
}

/* libssh2's send hook: accept everything, send what the socket takes. */
ssize_t transport_send_cb(int sock, const void *buf, size_t len, int flags,
                          void **abstract)
{
    struct transport *ob = *abstract;
    const unsigned char *p = buf;
    size_t done = 0;

    if (sock != ob->fd) {
        /* libssh2 also sends to the agent's socket through this hook. */
        ssize_t n;
        do
            n = send(sock, buf, len, flags | MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
    }
    if (ob->error)
        return -ob->error;
    if (ob->off == ob->len) {
        while (done < len) {
            ssize_t n = send(ob->fd, p + done, len - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            ob->error = n < 0 ? errno : EPIPE;
            return -ob->error;
        }
    }
    if (done < len && transport_append(ob, p + done, len - done) < 0)
        return -ENOMEM;
    return (ssize_t)len;
}

/* recv(), again on EINTR; -errno on failure. */
static ssize_t recv_retry(int sock, void *buf, size_t len, int flags)
{
    ssize_t n;

    do
        n = recv(sock, buf, len, flags);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/* Refill the read-ahead buffer (paced, and it is empty).  Returns what
 * recv returned, or 1 when there is no buffer (read directly then). */
static ssize_t rx_refill(struct transport *t, int sock, int flags)
{
    ssize_t n;

    if (!t->rx && !(t->rx = malloc(TRANSPORT_RX_AHEAD)))
        return 1;
    n = recv_retry(sock, t->rx, TRANSPORT_RX_AHEAD, flags);
    if (n > 0) {
        t->rx_off = 0;
        t->rx_len = (size_t)n;
        t->last_rx_ms = clock_now_ms();   /* any traffic shows the peer alive */
    }
    return n;
}

/* libssh2's recv hook. */
ssize_t transport_recv_cb(int sock, void *buf, size_t len, int flags,
                          void **abstract)
{
    struct transport *t = *abstract;
    ssize_t n;

    if (sock != t->fd)
        return recv_retry(sock, buf, len, flags);
    if (t->closing)
        return 0;
    if (t->rx_paced) {
        if (!t->rx_budget)
            return -EAGAIN;         /* the rest is for the next pass */
        if (len > t->rx_budget)
            len = t->rx_budget;
        if (t->rx_off == t->rx_len && (n = rx_refill(t, sock, flags)) <= 0)
            return n;
    }
    if (t->rx_off < t->rx_len) {
        n = (ssize_t)(t->rx_len - t->rx_off < len ? t->rx_len - t->rx_off
                                                   : len);
        memcpy(buf, t->rx + t->rx_off, (size_t)n);
        t->rx_off += (size_t)n;
    } else if ((n = recv_retry(sock, buf, len, flags)) > 0) {
        t->last_rx_ms = clock_now_ms();
    }
    if (n > 0) {
        t->rx_bytes += (uint64_t)n;
        if (t->rx_paced)
            t->rx_budget -= (size_t)n;
    }
    return n;
}

/* Bytes read ahead and not yet handed to libssh2. */
size_t transport_rx_buffered(const struct transport *t)
{
    return t->rx_len - t->rx_off;
}

/* Free the buffers. */
void transport_free(struct transport *ob)
{
    free(ob->data);
    ob->data = NULL;
    ob->off = ob->len = ob->cap = 0;
    free(ob->rx);
    ob->rx = NULL;
    ob->rx_off = ob->rx_len = 0;
}
