/*
 * agent.c - ssh-agent client (see agent.h).
 *
 * One request at a time on a blocking-free socket: the request is written
 * whole, then bytes are read until agentmsg_frame says a message is
 * complete (an answer may come in any number of pieces).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fdreserve.h"
#include "base/path.h"
#include "base/clock.h"
#include "engine/agent.h"

/* The agent's socket path. */
int agent_socket_path(const sshtun_options *o, char *buf, size_t size)
{
    const char *v = o->identity_agent;

    if (v && !strcasecmp(v, "none"))
        return -1;
    if (!v || !strcmp(v, "SSH_AUTH_SOCK"))
        v = getenv("SSH_AUTH_SOCK");
    else if (v[0] == '$')
        v = getenv(v + 1);
    if (!v || !*v)
        return -1;
    path_expand_tilde(buf, size, v);
    return 0;
}

/* Wait for events on fd until the deadline: 0 or -errno. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    struct pollfd p = { .fd = fd, .events = events };

    for (;;) {
        int64_t left = deadline_ms - clock_now_ms();
        int n;
        if (left <= 0)
            return -ETIMEDOUT;
        n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* Connect to the agent. */
int agent_connect(const char *path, int64_t deadline_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, e;

    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = fdreserve_socket(AF_UNIX,
                               SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                               0)) < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (errno == EAGAIN || errno == EINPROGRESS) {
        socklen_t len = sizeof e;
        if (wait_fd(fd, POLLOUT, deadline_ms) == 0
            && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && !e)
            return fd;
        errno = e ? e : ETIMEDOUT;
    }
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Write all of buf. */
static int send_all(int fd, const uint8_t *buf, size_t len,
                    int64_t deadline_ms)
{
    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        int rc;
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else if ((rc = wait_fd(fd, POLLOUT, deadline_ms))) {
            return rc;
        }
    }
    return 0;
}

/* Send a request and read one whole reply into *reply (malloc'd; the
 * message after its length). */
static int call(int fd, const uint8_t *req, size_t reqlen,
                int64_t deadline_ms, uint8_t **reply, size_t *replylen)
{
    size_t cap = 4096, have = 0;
    uint8_t *buf = malloc(cap);
    long whole = 0;
    int rc;

    if (!buf)
        return AGENTMSG_NOMEM;
    if ((rc = send_all(fd, req, reqlen, deadline_ms)))
        goto fail;
    while ((whole = agentmsg_frame(buf, have)) == 0) {
        ssize_t n;
        if (have == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = AGENTMSG_NOMEM;
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        n = recv(fd, buf + have, cap - have, 0);
        if (n > 0)
            have += (size_t)n;
        else if (n == 0)
            rc = -ECONNRESET;
        else if (errno != EAGAIN && errno != EINTR)
            rc = -errno;
        else
            rc = wait_fd(fd, POLLIN, deadline_ms);
        if (rc)
            goto fail;
    }
    if (whole < 0 || (size_t)whole != have) {
        rc = AGENTMSG_BAD;          /* too big, or more than one answer */
        goto fail;
    }
    memmove(buf, buf + 4, have - 4);
    *reply = buf;
    *replylen = have - 4;
    return 0;
fail:
    free(buf);
    return rc;
}

/* The agent's keys. */
int agent_list(int fd, int64_t deadline_ms, struct agent_ids *ids)
{
    uint8_t req[5], *reply;
    size_t len;
    int rc;

    ids->n = 0;
    if ((rc = call(fd, req, agentmsg_identities_request(req), deadline_ms,
                   &reply, &len)))
        return rc;
    rc = agentmsg_parse_identities(reply, len, ids);
    free(reply);
    return rc;
}

/* Have the agent sign. */
int agent_sign(int fd, const uint8_t *blob, size_t blob_len,
               const uint8_t *data, size_t data_len, uint32_t flags,
               const char *alg, int64_t deadline_ms, uint8_t **sig,
               size_t *siglen)
{
    size_t size = blob_len + data_len + 64, len;
    uint8_t *req = malloc(size), *reply = NULL;
    const uint8_t *s;
    long reqlen;
    int rc;

    *sig = NULL;
    if (!req)
        return AGENTMSG_NOMEM;
    reqlen = agentmsg_sign_request(req, size, blob, blob_len, data,
                                   data_len, flags);
    rc = reqlen < 0 ? AGENTMSG_BAD
                    : call(fd, req, (size_t)reqlen, deadline_ms, &reply,
                           &len);
    free(req);
    if (rc)
        return rc;
    if (!(rc = agentmsg_parse_signature(reply, len, alg, &s, siglen))) {
        if ((*sig = malloc(*siglen)))
            memcpy(*sig, s, *siglen);
        else
            rc = AGENTMSG_NOMEM;
    }
    free(reply);
    return rc;
}
