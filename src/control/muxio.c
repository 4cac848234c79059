/*
 * muxio.c - framed multiplexing messages over a socket (see muxio.h).
 *
 * The frame length is read first and then exactly that many bytes: a
 * plain read past the frame would swallow the one-byte messages that
 * carry descriptors, and the kernel would drop the descriptors with them.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "control/muxio.h"

/* Read exactly n bytes before the deadline (0: none).  Returns 0, -1 on
 * error or EOF (errno 0 for a clean EOF at the first byte), -2 on
 * timeout. */
static int read_full(int fd, unsigned char *buf, size_t n, int64_t deadline)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int wait = -1;
        ssize_t r;

        if (deadline) {
            int64_t left = deadline - clock_now_ms();
            if (left <= 0)
                return -2;
            wait = (int)left;
        }
        if (poll(&p, 1, wait) == 0)
            return -2;
        r = read(fd, buf + got, n - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = got ? EPIPE : 0;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Read one frame. */
int muxio_read(int fd, struct mux_msg *m, unsigned char **body,
               int timeout_ms, char *err, size_t errsize)
{
    int64_t deadline = timeout_ms < 0 ? 0 : clock_now_ms() + timeout_ms;
    unsigned char hdr[4];
    size_t len;
    int rc;

    *body = NULL;
    if ((rc = read_full(fd, hdr, 4, deadline))) {
        snprintf(err, errsize, "%s", rc == -2 ? "timed out"
                 : errno ? strerror(errno) : "");
        return -1;
    }
    len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8
          | hdr[3];
    if (len < 4 || len > MUX_BODY_MAX) {
        snprintf(err, errsize, "bad mux frame length %zu", len);
        return -1;
    }
    if (!(*body = malloc(len))) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    if ((rc = read_full(fd, *body, len, deadline))) {
        snprintf(err, errsize, "%s", rc == -2 ? "timed out"
                 : "connection closed inside a message");
        return -1;
    }
    return muxmsg_parse(*body, len, m, err, errsize);
}

/* Send all of buf. */
static int write_full(int fd, const unsigned char *buf, size_t n)
{
    while (n) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Encode and send a message. */
int muxio_send(int fd, const struct mux_msg *m)
{
    size_t cap = 64 + 2 * MUX_HOST_MAX + m->text_len;
    unsigned char *buf = malloc(cap);
    size_t n;
    int rc = -1;

    if (!buf)
        return -1;
    if ((n = muxmsg_encode(m, buf, cap)))
        rc = write_full(fd, buf, n);
    free(buf);
    return rc;
}

/* Pass a descriptor. */
int muxio_send_fd(int sock, int fd)
{
    char byte = 0;
    struct iovec iov = { &byte, 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg = { 0 };
    struct cmsghdr *c;

    memset(&u, 0, sizeof u);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    for (;;) {
        ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1 ? 0 : -1;
    }
}

/* Receive a descriptor. */
int muxio_recv_fd(int sock)
{
    char byte;
    struct iovec iov = { &byte, 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg = { 0 };
    struct cmsghdr *c;
    ssize_t n;
    int fd = -1;

    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != 1 || (msg.msg_flags & MSG_CTRUNC))
        return -1;
    for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
            && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}
