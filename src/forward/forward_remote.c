/*
 * forward_remote.c - remote forwarding, `ssh -R`.
 *
 * The server listens (a remote listener, remote.c) and opens a channel
 * per connection it accepts.  With a destination, each channel is joined
 * to a fresh local TCP connection to host:hostport, made in the
 * connection's own thread with a deadline; a local connect failure closes
 * the channel at once and logs why.  Without one (`-R [bind:]port`, as
 * OpenSSH 7.6+), the server side gets a SOCKS proxy: the SOCKS request
 * arrives inside the channel and is served by the same SOCKS code as -D,
 * with the connection made from this side and honest reply codes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/channel.h"
#include "base/error.h"
#include "base/fdreserve.h"
#include "base/fdio.h"
#include "forward/forward.h"
#include "config/fwdspec.h"
#include "base/log.h"
#include "config/options.h"
#include "engine/session.h"
#include "socks/socks_server.h"
#include "engine/transport.h"
#include "base/clock.h"

#define LOCAL_CONNECT_MS 10000

struct remote_cfg {
    struct fwdspec spec;            /* host/port: the local destination */
    int dynamic;                    /* no destination: SOCKS */
    struct socks_cfg socks;
};

/* Free a remote forward's configuration. */
static void remote_free(void *p)
{
    struct remote_cfg *cfg = p;

    socks_server_cfg_free(&cfg->socks);
    free(cfg);
}

/* Connect to host:port here; returns a blocking fd or -1 with err and
 * *sys_errno. */
static int connect_local(const char *host, int port, int *sys_errno,
                         sshtun_error *err)
{
    int fd, flags;

    if (transport_connect(host, port, AF_UNSPEC, clock_now_ms() + LOCAL_CONNECT_MS,
                          &fd, sys_errno, err))
        return -1;
    flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

/* Connect to a local Unix socket; a blocking fd or -1 with err. */
static int connect_unix(const char *path, sshtun_error *err)
{
    struct sockaddr_un sa;
    int fd = fdreserve_socket(AF_UNIX,
                              SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc, e = 0;

    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0)
        e = errno;
    else if ((rc = connect(fd, (struct sockaddr *)&sa, sizeof sa)) < 0) {
        /* A full backlog: wait, bounded, like a TCP connect. */
        e = errno;
        if (e == EAGAIN || e == EINPROGRESS) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            socklen_t sl = sizeof e;
            e = poll(&p, 1, LOCAL_CONNECT_MS) > 0
                    && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0
                    ? e : ETIMEDOUT;
        }
    }
    if (e) {
        error_set(err, SSHTUN_ERR_CONNECT, "connect to %s: %s", path,
                  strerror(e));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Connect step with a destination: a local TCP or Unix connection. */
static struct sshtun_channel *remote_connect(struct forward_conn *c)
{
    const struct remote_cfg *cfg = forward_cfg(forward_conn_forward(c));
    sshtun_error err;
    int fd = cfg->spec.target_path[0]
                 ? connect_unix(cfg->spec.target_path, &err)
                 : connect_local(cfg->spec.host, cfg->spec.port, NULL, &err);

    if (fd < 0) {
        forward_count_open_failure(forward_conn_forward(c), err.code);
        log_msg(forward_conn_session(c)->opts, SSHTUN_LOG_ERROR, "%s (for a "
                "connection to %s); closing it", err.msg, forward_conn_peer(c));
        return NULL;
    }
    forward_conn_set_fd(c, fd);
    return forward_conn_channel(c);
}

/* socks_io recv from the channel. */
static long remote_socks_recv(void *ctx, unsigned char *buf, size_t len,
                              int64_t deadline_ms)
{
    int64_t left = deadline_ms - clock_now_ms();
    ssize_t n;

    if (left <= 0)
        return -2;
    n = sshtun_recv(ctx, buf, len, (int)left);
    if (n == SSHTUN_ERR_TIMEOUT)
        return -2;
    return n < 0 ? -1 : (long)n;
}

/* socks_io send to the channel. */
static int remote_socks_send(void *ctx, const unsigned char *buf, size_t len)
{
    return sshtun_send(ctx, buf, len, 10000) == (ssize_t)len ? 0 : -1;
}

/* Connect step without a destination: SOCKS inside the channel. */
static struct sshtun_channel *remote_socks_connect(struct forward_conn *c)
{
    const struct remote_cfg *cfg = forward_cfg(forward_conn_forward(c));
    const sshtun_options *o = forward_conn_session(c)->opts;
    struct sshtun_channel *ch = forward_conn_channel(c);
    struct socks_io io = { remote_socks_recv, remote_socks_send, ch,
                           forward_conn_peer(c),
                           forward_socks_counters(forward_conn_forward(c)),
                           NULL };
    struct socks *sk = malloc(sizeof *sk);
    const unsigned char *rest;
    size_t len;
    sshtun_error err;
    int fd = -1, sys_errno = 0;

    if (!sk)
        return NULL;
    if (socks_server_handshake(&io, &cfg->socks, sk, o)
        || !socks_server_check_allowed(&io, &cfg->socks, sk, o))
        goto fail;
    fd = connect_local(sk->host, sk->port, &sys_errno, &err);
    if (fd < 0) {
        enum socks5_reply code = socks_server_reply_for_connect_error(err.code,
                                                                      sys_errno);
        socks_server_send_reply(&io, sk, code);
        log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s (reply: %s)",
                io.peer, err.msg, socks_reply_name(code));
        goto fail;
    }
    if (socks_server_send_reply(&io, sk, SOCKS5_SUCCEEDED))
        goto fail;
    rest = socks_leftover(sk, &len);
    if (len && fdio_send_all(fd, rest, len))
        goto fail;
    forward_conn_set_fd(c, fd);
    memset(sk, 0, sizeof *sk);
    free(sk);
    return ch;
fail:
    if (fd >= 0)
        close(fd);
    memset(sk, 0, sizeof *sk);
    free(sk);
    return NULL;
}

static const struct forward_kind remote_kind = {
    .name = "remote",
    .connect = remote_connect,
    .free_cfg = remote_free,
};

static const struct forward_kind remote_socks_kind = {
    .name = "remote dynamic",
    .connect = remote_socks_connect,
    .free_cfg = remote_free,
};

/* Start a remote forward from a -R spec: "[bind_address:]port:host:
 * hostport", or "[bind_address:]port" for a SOCKS proxy on the server. */
sshtun_forward *sshtun_forward_remote(sshtun_session *s, const char *spec,
                                      sshtun_error *err)
{
    struct remote_cfg *cfg;
    sshtun_listener *l;
    struct sshtun_forward *f;
    const char *bind;
    int port = 0;

    if (!s || !spec) {
        error_set(err, SSHTUN_ERR_INVAL, "no session or spec");
        return NULL;
    }
    if (!(cfg = calloc(1, sizeof *cfg))) {
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (fwdspec_parse_local(spec, &cfg->spec, NULL) == 0
        && cfg->spec.listen_path[0]) {
        remote_free(cfg);
        error_set(err, SSHTUN_ERR_UNSUPPORTED, "Remote forwarding of a Unix "
                  "socket ('%.200s') is not possible with libssh2 1.10, which "
                  "cannot send streamlocal-forward@openssh.com requests",
                  spec);
        return NULL;
    }
    if (fwdspec_parse_local(spec, &cfg->spec, NULL)) {
        if (fwdspec_parse_dynamic(spec, &cfg->spec, NULL)) {
            remote_free(cfg);
            error_set(err, SSHTUN_ERR_INVAL, "Bad remote forwarding "
                      "specification '%.300s': expected [bind_address:]port:"
                      "host:hostport or [bind_address:]port", spec);
            return NULL;
        }
        cfg->dynamic = 1;
        if (socks_server_cfg_load(&cfg->socks, s->opts, 1, err)) {
            remote_free(cfg);
            return NULL;
        }
    }
    /* As ssh: no bind address means the server's loopback. */
    bind = cfg->spec.has_bind ? cfg->spec.bind : "localhost";
    l = sshtun_listen_remote(s, bind, cfg->spec.listen_port, &port, err);
    if (!l) {
        remote_free(cfg);
        return NULL;
    }
    if (cfg->spec.listen_port == 0) {
        if (cfg->dynamic)
            log_msg(s->opts, SSHTUN_LOG_INFO, "Allocated port %d for remote "
                    "forward", port);
        else if (cfg->spec.target_path[0])
            log_msg(s->opts, SSHTUN_LOG_INFO, "Allocated port %d for remote "
                    "forward to %s", port, cfg->spec.target_path);
        else
            log_msg(s->opts, SSHTUN_LOG_INFO, "Allocated port %d for remote "
                    "forward to %s:%d", port, cfg->spec.host,
                    cfg->spec.port);
    }
    f = forward_start(s, cfg->dynamic ? &remote_socks_kind : &remote_kind,
                      cfg, NULL, 0, NULL, l, err);
    if (f)
        forward_set_spec(f, spec);
    if (f)
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "Remote forwarding: server "
                "port %d to %s.", port, cfg->dynamic ? "SOCKS from here"
                                                     : spec);
    return f;
}
