/*
 * connect.c - making a connection and taking it down (see connect.h).
 *
 * Everything here runs on the connection's own I/O thread with a
 * deadline, so a slow server or a prompt delays only this connection.
 * The first connection checks the host key against known_hosts; every
 * later one must present the very key the first accepted (a pool never
 * trusts a second key silently), and authenticates as the first did.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fault.h"
#include "config/options.h"
#include "engine/auth.h"
#include "engine/conn.h"
#include "engine/connect.h"
#include "engine/conn_io.h"
#include "engine/knownhosts.h"
#include "engine/proxy.h"
#include "engine/session.h"
#include "engine/ssherr.h"
#include "engine/stats.h"

#define HANDSHAKE_DEFAULT_MS 120000
#define TEARDOWN_FLUSH_MS 1000
#define PUMP_WINDOW (64 * 1024)

/* Wait until libssh2 can progress or the deadline. */
int connect_wait_socket(struct conn *c, int64_t deadline_ms,
                        sshtun_error *err)
{
    struct conn_io *io = c->io;

    for (;;) {
        struct pollfd p = { .fd = io->sock, .events = POLLIN };
        int timeout = 1000, rc;

        /* A connect attempt must not outlive sshtun_session_close. */
        if (conn_stopping(c))
            return error_set(err, SSHTUN_ERR_CLOSED, "session closed");
        if (transport_pending(&io->out))
            p.events |= POLLOUT;
        if (deadline_ms) {
            int64_t left = deadline_ms - clock_now_ms();
            if (left <= 0)
                return error_set(err, SSHTUN_ERR_TIMEOUT,
                                 "Connection timed out during banner "
                                 "exchange or authentication with %s",
                                 c->sess->opts->hostname);
            if (left < timeout)
                timeout = (int)left;
        }
        rc = poll(&p, 1, timeout);
        if (rc <= 0)
            continue;               /* EINTR or the stop check's second */
        if ((p.revents & POLLOUT) && transport_flush(&io->out) < 0)
            return error_set(err, SSHTUN_ERR_SESSION, "Connection to %s "
                             "lost: %s", c->sess->opts->hostname,
                             strerror(io->out.error));
        if (p.revents & (POLLIN | POLLERR | POLLHUP))
            return 0;
        if (!transport_pending(&io->out))
            return 0;
    }
}

/* Set one method preference, explaining a refusal. */
static int set_method(LIBSSH2_SESSION *ssh, int method, const char *list,
                      const char *what, sshtun_error *err)
{
    const char **algs = NULL;
    char supported[512] = "";
    int n;

    if (!list)
        return 0;
    if (strchr("+-^", list[0]))
        return error_set(err, SSHTUN_ERR_INVAL, "%s '%s': the +, - and ^ "
                         "modifiers are not supported; give the full list",
                         what, list);
    if (libssh2_session_method_pref(ssh, method, list) == 0)
        return 0;
    n = libssh2_session_supported_algs(ssh, method, &algs);
    for (int i = 0; i < n; i++) {
        if (strlen(supported) + strlen(algs[i]) + 2 >= sizeof supported)
            break;
        if (i)
            strcat(supported, ",");
        strcat(supported, algs[i]);
    }
    if (algs)
        libssh2_free(ssh, algs);
    return error_set(err, SSHTUN_ERR_INVAL, "Unsupported %s '%s' (supported: "
                     "%s)", what, list, supported);
}

/* Apply -c, -m and host key preferences. */
static int set_methods(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                       sshtun_error *err)
{
    char *known;
    int rc;

    if ((rc = set_method(ssh, LIBSSH2_METHOD_CRYPT_CS, o->ciphers, "cipher",
                         err))
        || (rc = set_method(ssh, LIBSSH2_METHOD_CRYPT_SC, o->ciphers,
                            "cipher", err))
        || (rc = set_method(ssh, LIBSSH2_METHOD_MAC_CS, o->macs, "MAC", err))
        || (rc = set_method(ssh, LIBSSH2_METHOD_MAC_SC, o->macs, "MAC", err)))
        return rc;
    if (o->hostkey_algorithms)
        return set_method(ssh, LIBSSH2_METHOD_HOSTKEY, o->hostkey_algorithms,
                          "host key algorithm", err);
    /* libssh2 prefers ECDSA; ask first for the types known_hosts holds. */
    known = knownhosts_preferred_algs(ssh, o, o->hostname, options_port(o));
    if (known) {
        log_msg(o, SSHTUN_LOG_DEBUG, "host key algorithms from known_hosts: "
                "%s", known);
        libssh2_session_method_pref(ssh, LIBSSH2_METHOD_HOSTKEY, known);
        free(known);
    } else {
        libssh2_session_method_pref(ssh, LIBSSH2_METHOD_HOSTKEY,
                                    "ssh-ed25519,ecdsa-sha2-nistp256,"
                                    "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
                                    "ssh-rsa");
    }
    return 0;
}

/* Run the key exchange until done or the deadline. */
static int handshake(struct conn *c, int64_t deadline, sshtun_error *err)
{
    const sshtun_options *o = c->sess->opts;
    char jump_error[sizeof c->proxy_error];
    int rc;

    while ((rc = libssh2_session_handshake(c->io->ssh, c->io->sock))
           == LIBSSH2_ERROR_EAGAIN) {
        if ((rc = connect_wait_socket(c, deadline, err)))
            return rc;
    }
    if (rc == 0)
        return 0;
    pthread_mutex_lock(&c->mu);
    snprintf(jump_error, sizeof jump_error, "%s", c->proxy_error);
    pthread_mutex_unlock(&c->mu);
    if (jump_error[0])
        return error_set(err, SSHTUN_ERR_CONNECT, "jump host %s: %s",
                         o->proxy_jump, jump_error);
    return error_set(err, SSHTUN_ERR_HANDSHAKE, "SSH handshake with %s port "
                     "%d failed: %s. (sshtun uses libssh2 1.10: no rsa-sha2 "
                     "host keys, no chacha20 or GCM ciphers; a server with "
                     "only an RSA host key cannot be verified.)",
                     o->hostname, options_port(o), ssherr_text(c->io->ssh));
}

/* Open the idle "session" channel used as a read pump. */
static void open_pump(struct conn *c)
{
    int64_t deadline = clock_now_ms() + 10000;
    struct conn_io *io = c->io;
    sshtun_error err;

    for (;;) {
        io->pump = libssh2_channel_open_ex(io->ssh, "session", 7,
                                           PUMP_WINDOW, IO_MAX_PACKET, NULL,
                                           0);
        if (io->pump || libssh2_session_last_errno(io->ssh)
                            != LIBSSH2_ERROR_EAGAIN)
            break;
        if (connect_wait_socket(c, deadline, &err))
            break;
    }
    if (!io->pump)
        log_msg(c->sess->opts, SSHTUN_LOG_DEBUG, "no idle pump channel (%s); "
                "probe opens will make the connection read",
                ssherr_text(io->ssh));
}

/* The first connection: check known_hosts, and pin the key for the
 * others.  A later one: the key must be the pinned one. */
static int check_host_key(struct conn *c, sshtun_error *err)
{
    struct sshtun_session *s = c->sess;
    const sshtun_options *o = s->opts;
    size_t len = 0;
    int type, rc = 0;
    const char *key = libssh2_session_hostkey(c->io->ssh, &len, &type);

    if (c->primary) {
        if ((rc = knownhosts_verify(c->io->ssh, o, o->hostname, options_port(o),
                                    &s->forwarding_disabled, err)))
            return rc;
        pthread_mutex_lock(&s->mu);
        if (!s->hostkey && key && (s->hostkey = malloc(len))) {
            memcpy(s->hostkey, key, len);
            s->hostkey_len = len;
        }
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    if (!key || !s->hostkey || len != s->hostkey_len
        || memcmp(key, s->hostkey, len))
        rc = SSHTUN_ERR_HOSTKEY_CHANGED;
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        log_msg(o, SSHTUN_LOG_ERROR, "WARNING: connection %d to %s presented "
                "a different host key than the first connection; refused "
                "(possible man-in-the-middle attack)", c->id, o->hostname);
        return error_set(err, rc, "host key of %s differs from the one the "
                         "first connection accepted", o->hostname);
    }
    return 0;
}

/* auth_ctx's wait: the connect phase's socket wait. */
static int auth_wait(void *arg, int64_t deadline_ms, sshtun_error *err)
{
    return connect_wait_socket(arg, deadline_ms, err);
}

/* A libssh2 session over the socket, with our send and receive hooks. */
static int new_ssh(struct conn *c, sshtun_error *err)
{
    struct conn_io *io = c->io;

    io->out.fd = io->sock;
    io->out.owner = c;
    io->ssh = libssh2_session_init_ex(FAULT_SSH_ALLOC, FAULT_SSH_FREE,
                                      FAULT_SSH_REALLOC, &io->out);
    if (!io->ssh)
        return error_set(err, SSHTUN_ERR_NOMEM, "libssh2 session init failed");
    libssh2_session_set_blocking(io->ssh, 0);
    libssh2_session_callback_set(io->ssh, LIBSSH2_CALLBACK_SEND,
                                 (void *)transport_send_cb);
    libssh2_session_callback_set(io->ssh, LIBSSH2_CALLBACK_RECV,
                                 (void *)transport_recv_cb);
    return 0;
}

/* Connect, handshake, verify the host key, authenticate. */
int connect_run(struct conn *c, sshtun_error *err)
{
    const sshtun_options *o = c->sess->opts;
    int port = options_port(o), rc;
    int64_t deadline = o->connect_timeout > 0
                           ? clock_now_ms() + (int64_t)o->connect_timeout * 1000
                           : 0;
    int family = o->address_family >= 0 ? o->address_family : 0;
    struct auth_ctx a = { NULL, o, 0, auth_wait, c, c->sess->memo };
    unsigned char rnd;

    /* OpenSSL makes this thread's random generator on first use; failing
     * inside libssh2's key exchange, that would leak there. */
    if (RAND_bytes(&rnd, 1) != 1)
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory (random "
                         "number generator)");

    log_msg(o, SSHTUN_LOG_VERBOSE, "Connecting to %s port %d.", o->hostname,
            port);
    rc = proxy_wanted(o) ? proxy_connect(c, &c->io->sock, err)
                         : transport_connect(o->hostname, port, family,
                                             deadline, &c->io->sock, NULL,
                                             err);
    if (rc || (rc = new_ssh(c, err))
        || (rc = set_methods(c->io->ssh, o, err))
        || (rc = handshake(c, deadline ? deadline
                                       : clock_now_ms() + HANDSHAKE_DEFAULT_MS,
                           err)))
        return rc;
    log_msg(o, SSHTUN_LOG_DEBUG, "SSH handshake done, host key %s",
            libssh2_session_methods(c->io->ssh, LIBSSH2_METHOD_HOSTKEY));
    if ((rc = check_host_key(c, err)))
        return rc;
    a.ssh = c->io->ssh;
    a.no_secrets = c->sess->forwarding_disabled;
    if ((rc = auth_run(&a, o->user, err)))
        return rc;
    open_pump(c);
    log_msg(o, SSHTUN_LOG_VERBOSE, "Authenticated to %s ([%s]:%d).",
            o->hostname, o->hostname, port);
    return 0;
}

/* Close with FIN, not RST: a close() with unread input would reset the
 * connection and the server could lose what it had not read yet.  Send
 * what is buffered, then read (and drop) until the server closes too. */
static void close_gently(struct conn_io *io)
{
    int64_t deadline = clock_now_ms() + TEARDOWN_FLUSH_MS;

    while (transport_pending(&io->out) && clock_now_ms() < deadline) {
        struct pollfd p = { .fd = io->sock, .events = POLLOUT };
        if (poll(&p, 1, 100) > 0 && transport_flush(&io->out) < 0)
            break;
    }
    shutdown(io->sock, SHUT_WR);
    while (clock_now_ms() < deadline) {
        struct pollfd p = { .fd = io->sock, .events = POLLIN };
        char sink[4096];
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (recv(io->sock, sink, sizeof sink, 0) <= 0)
            break;
    }
}

/* Disconnect politely (bounded) and free libssh2's session. */
void connect_teardown(struct conn *c, int lost)
{
    struct conn_io *io = c->io;

    if (io->ssh) {
        if (!lost) {
            libssh2_session_disconnect(io->ssh, "sshtun closing");
            close_gently(io);
        }
        io->out.closing = 1;        /* libssh2 must not wait for replies */
        for (int i = 0; i < 16; i++)
            if (libssh2_session_free(io->ssh) != LIBSSH2_ERROR_EAGAIN)
                break;
        io->ssh = NULL;
        io->pump = NULL;
    }
    if (io->sock >= 0)
        close(io->sock);
    io->sock = -1;
    transport_free(&io->out);
    proxy_close(c);
}

/* Sleep up to ms, waking early if the connection is to end.  Returns 1
 * if asked to stop. */
static int sleep_unless_stopped(struct conn *c, int64_t ms)
{
    int64_t until = clock_now_ms() + ms;

    for (;;) {
        struct pollfd p = { .fd = c->wakefd, .events = POLLIN };
        int64_t left = until - clock_now_ms();

        if (conn_stopping(c))
            return 1;
        if (left <= 0)
            return 0;
        if (poll(&p, 1, (int)left) > 0)
            conn_wake_consume(c);
    }
}

/* Reset the per-connection state before connecting again. */
static void reset_io(struct conn_io *io)
{
    memset(&io->out, 0, sizeof io->out);
    io->sock = -1;
    io->pump = NULL;
    io->alive_pending = 0;
    io->alive_sent_ms = 0;
    io->lost_msg[0] = '\0';
}

/* The next backoff delay with jitter (half to all of delay). */
static int64_t jittered(int64_t delay, unsigned *seed)
{
    return delay / 2 + (int64_t)(rand_r(seed) % (unsigned)(delay / 2 + 1));
}

/* Connect again with backoff (Reconnect=yes). */
int connect_again(struct conn *c, char *reason, size_t size)
{
    const sshtun_options *o = c->sess->opts;
    int64_t delay = 1000;
    int64_t max_delay = (o->reconnect_max_delay > 0
                             ? o->reconnect_max_delay : 30) * 1000L;
    unsigned seed = (unsigned)clock_now_ms() ^ (unsigned)getpid();
    sshtun_error err;
    int attempts = 0;

    error_clear(&err);
    for (;;) {
        int64_t wait = jittered(delay, &seed);
        if (o->reconnect_count > 0 && attempts >= o->reconnect_count) {
            snprintf(reason, size, "%.400s (gave up after %d reconnect "
                     "attempts)", err.msg[0] ? err.msg : "connection lost",
                     attempts);
            return -1;
        }
        log_msg(o, SSHTUN_LOG_ERROR, "Reconnecting in %.1f s.",
                (double)wait / 1000);
        stats_session_retry(c->sess, clock_now_ms() + wait,
                            err.msg[0] ? err.msg : reason);
        if (sleep_unless_stopped(c, wait)) {
            snprintf(reason, size, "session closed");
            return 0;
        }
        attempts++;
        reset_io(c->io);
        pthread_mutex_lock(&c->mu);
        c->proxy_error[0] = '\0';
        pthread_mutex_unlock(&c->mu);
        if (connect_run(c, &err) == 0) {
            log_msg(o, SSHTUN_LOG_ERROR, "Connection up again after %d "
                    "attempt%s; forwards restored.", attempts,
                    attempts == 1 ? "" : "s");
            stats_add(&c->sess->stats.reconnects, 1);
            return 1;
        }
        log_msg(o, SSHTUN_LOG_ERROR, "Reconnect failed: %s", err.msg);
        connect_teardown(c, 1);
        if ((delay *= 2) > max_delay)
            delay = max_delay;
    }
}
