/*
 * socks_server.c - SOCKS server side shared by -D and -R port (see
 * socks_server.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/error.h"
#include "base/path.h"
#include "base/log.h"
#include "config/options.h"
#include "socks/socks_server.h"
#include "base/clock.h"

/* socks_io recv on a socket, with the handshake deadline.  The client
 * has usually sent already, so recv comes first and poll() only when
 * nothing is there; a signal interrupting poll() must not lead to a
 * recv() that waits forever. */
long socks_server_fd_recv(void *ctx, unsigned char *buf, size_t len,
                          int64_t deadline_ms)
{
    int fd = *(int *)ctx;

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int64_t left = deadline_ms - clock_now_ms();
        ssize_t n;
        int ready;

        if (left <= 0)
            return -2;
        if ((n = recv(fd, buf, len, MSG_DONTWAIT)) >= 0)
            return (long)n;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        ready = poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left));
        if (ready < 0 && errno != EINTR)
            return -1;
        if (ready == 0)
            return -2;
    }
}

/* Build the configuration from the options. */
int socks_server_cfg_load(struct socks_cfg *cfg, const sshtun_options *o,
                          int remote, sshtun_error *err)
{
    int rc;

    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = options_socks_timeout(o) * 1000;
    if ((rc = permitopen_parse(&cfg->permit,
                               remote ? o->permit_remote_open : NULL, err)))
        return rc;
    for (int i = 0; i < o->socks_allow.n; i++)
        if ((rc = allowlist_add(&cfg->allow, o->socks_allow.v[i], err)))
            return rc;
    if (o->socks_auth_file) {
        char path[PATH_MAX];
        path_expand_tilde(path, sizeof path, o->socks_auth_file);
        if ((rc = socks_auth_load(&cfg->creds, path, err)))
            return rc;
        if (!(cfg->throttle = socks_throttle_new()))
            return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    }
    return 0;
}

/* Free what socks_server_cfg_load allocated. */
void socks_server_cfg_free(struct socks_cfg *cfg)
{
    socks_auth_free(&cfg->creds);
    socks_throttle_free(cfg->throttle);
    cfg->throttle = NULL;
}

/* Check a username/password, with the throttle: an address with too
 * many failures is refused unchecked; every failure is answered late. */
static int check_password(const struct socks_io *io,
                          const struct socks_cfg *cfg, const struct socks *sk,
                          const sshtun_options *o)
{
    struct socks_throttle *t = io->addr ? cfg->throttle : NULL;
    struct timespec delay = { SOCKS_AUTH_FAIL_DELAY_MS / 1000,
                              SOCKS_AUTH_FAIL_DELAY_MS % 1000 * 1000000L };
    int ok;

    if (t && socks_throttle_blocked(t, io->addr, clock_now_ms())) {
        ok = 0;
        log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: too many failed "
                "passwords from %s, refused unchecked", io->peer, io->addr);
    } else {
        ok = socks_auth_check(&cfg->creds, sk->user, sk->pass);
        if (!ok)
            log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: username/"
                    "password refused for user '%s'", io->peer, sk->user);
    }
    if (ok) {
        if (t)
            socks_throttle_succeeded(t, io->addr);
        return 1;
    }
    if (t)
        socks_throttle_failed(t, io->addr, clock_now_ms());
    /* In this client's thread: a guesser waits, nobody else does. */
    while (nanosleep(&delay, &delay) < 0 && errno == EINTR)
        ;
    return 0;
}

/* Run the handshake. */
int socks_server_handshake(const struct socks_io *io,
                           const struct socks_cfg *cfg, struct socks *sk,
                           const sshtun_options *o)
{
    int64_t deadline = clock_now_ms() + cfg->timeout_ms;
    unsigned char out[SOCKS_OUT_MAX], in[512];
    size_t outlen;

    socks_init(sk, cfg->creds.n == 0, cfg->creds.n > 0);
    for (;;) {
        enum socks_step st = socks_step(sk, out, &outlen);
        long n;

        if (st == SOCKS_CHECK_AUTH)
            st = socks_auth_result(sk, check_password(io, cfg, sk, o), out,
                                   &outlen);
        if (outlen && io->send(io->ctx, out, outlen))
            return -1;
        if (st == SOCKS_REQUEST)
            return 0;
        if (st == SOCKS_FAIL) {
            if (outlen && io->counters && sk->failed_reply >= 0
                && sk->failed_reply < 9)
                __atomic_fetch_add(&io->counters->replies[sk->failed_reply],
                                   1, __ATOMIC_RELAXED);
            if (strcmp(sk->error, "username/password refused"))
                log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s",
                        io->peer, sk->error);
            return -1;
        }
        if (st == SOCKS_REPLY)
            continue;
        n = io->recv(io->ctx, in, sizeof in, deadline);
        if (n == -2) {
            if (io->counters)
                __atomic_fetch_add(&io->counters->handshakes_timed_out, 1,
                                   __ATOMIC_RELAXED);
            log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: no complete "
                    "request within %d s, closed", io->peer,
                    cfg->timeout_ms / 1000);
            return -1;
        }
        if (n <= 0)
            return -1;              /* client went away */
        if (socks_feed(sk, in, (size_t)n)) {
            log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s", io->peer,
                    sk->error);
            return -1;
        }
    }
}

/* Send a final reply. */
int socks_server_send_reply(const struct socks_io *io, const struct socks *sk,
                            enum socks5_reply code)
{
    unsigned char out[SOCKS_OUT_MAX];
    size_t len = socks_reply(sk, code, out);

    if (io->counters && (unsigned)code < 9)
        __atomic_fetch_add(&io->counters->replies[code], 1, __ATOMIC_RELAXED);
    return io->send(io->ctx, out, len);
}

/* Apply SocksAllow. */
int socks_server_check_allowed(const struct socks_io *io,
                               const struct socks_cfg *cfg, const struct socks *sk,
                               const sshtun_options *o)
{
    const char *by = NULL;

    if (!allowlist_match(&cfg->allow, sk->host, sk->atyp == 0x03, sk->port))
        by = "SocksAllow";
    else if (!permitopen_match(&cfg->permit, sk->host, sk->port))
        by = "PermitRemoteOpen";
    if (!by)
        return 1;
    /* Logged before the reply, so the line is there once the client
     * has its answer. */
    log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s port %d is not "
            "allowed by %s (reply: %s)", io->peer, sk->host, sk->port, by,
            socks_reply_name(SOCKS5_NOT_ALLOWED));
    socks_server_send_reply(io, sk, SOCKS5_NOT_ALLOWED);
    return 0;
}

/* Reply code for a refused channel open. */
enum socks5_reply socks_server_reply_for_open_error(int code)
{
    switch (code) {
    case SSHTUN_ERR_CONNECT_FAILED: return SOCKS5_CONN_REFUSED;
    case SSHTUN_ERR_PROHIBITED: return SOCKS5_NOT_ALLOWED;
    case SSHTUN_ERR_TIMEOUT: return SOCKS5_HOST_UNREACHABLE;
    default: return SOCKS5_GENERAL_FAILURE;
    }
}

/* Reply code for a failed local connect. */
enum socks5_reply socks_server_reply_for_connect_error(int code, int sys_errno)
{
    if (code == SSHTUN_ERR_RESOLVE || code == SSHTUN_ERR_TIMEOUT)
        return SOCKS5_HOST_UNREACHABLE;
    switch (sys_errno) {
    case ECONNREFUSED: return SOCKS5_CONN_REFUSED;
    case ENETUNREACH: return SOCKS5_NET_UNREACHABLE;
    case EHOSTUNREACH: case ETIMEDOUT: return SOCKS5_HOST_UNREACHABLE;
    default: return SOCKS5_GENERAL_FAILURE;
    }
}
