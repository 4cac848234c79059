/*
 * forward_dynamic.c - dynamic forwarding, `ssh -D`: a SOCKS4/4a/5 proxy.
 *
 * Each client's handshake runs in that client's own reader thread with a
 * deadline (SocksTimeout), decoded incrementally by socks.c, so a slow,
 * silent or hostile client delays nobody else.  Unlike OpenSSH, every
 * failure gets the reply the protocol defines: a refused channel open
 * says why (connection refused, not allowed, host unreachable ...), and
 * the success reply is sent only once the channel is open.  Optional
 * username/password (SocksAuthFile) and destination rules (SocksAllow)
 * make a proxy bound beyond loopback safe to expose.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowlist.h"
#include "channel.h"
#include "error.h"
#include "forward.h"
#include "fwdspec.h"
#include "knownhosts.h"
#include "log.h"
#include "options.h"
#include "session.h"
#include "socks.h"
#include "socks_auth.h"
#include "waitq.h"

struct dynamic_cfg {
    struct socks_creds creds;       /* n == 0: no authentication */
    struct allowlist allow;
    int timeout_ms;
};

/* Free a dynamic forward's configuration. */
static void dynamic_free(void *p)
{
    struct dynamic_cfg *cfg = p;

    socks_creds_free(&cfg->creds);
    free(cfg);
}

/* The SOCKS reply for a failed channel open. */
static enum socks5_reply reply_for_open_error(int code)
{
    switch (code) {
    case SSHTUN_ERR_CONNECT_FAILED: return SOCKS5_CONN_REFUSED;
    case SSHTUN_ERR_PROHIBITED: return SOCKS5_NOT_ALLOWED;
    case SSHTUN_ERR_TIMEOUT: return SOCKS5_HOST_UNREACHABLE;
    default: return SOCKS5_GENERAL_FAILURE;
    }
}

/* Run the handshake until a request is decoded.  Returns 0, or -1 after
 * the client was answered (where the protocol allows) and logged. */
static int handshake(struct fwd_conn *c, const struct dynamic_cfg *cfg,
                     struct socks *sk)
{
    const sshtun_options *o = fwd_conn_session(c)->opts;
    int fd = fwd_conn_fd(c);
    int64_t deadline = now_ms() + cfg->timeout_ms;
    unsigned char out[SOCKS_OUT_MAX], in[512];
    size_t outlen;

    socks_init(sk, cfg->creds.n == 0, cfg->creds.n > 0);
    for (;;) {
        enum socks_step st = socks_step(sk, out, &outlen);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int64_t left;
        ssize_t n;

        if (st == SOCKS_CHECK_AUTH) {
            int ok = socks_creds_check(&cfg->creds, sk->user, sk->pass);
            st = socks_auth_result(sk, ok, out, &outlen);
            if (!ok)
                log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: username/"
                        "password refused for user '%s'", fwd_conn_peer(c),
                        sk->user);
        }
        if (outlen && fwd_send_all(fd, out, outlen))
            return -1;
        if (st == SOCKS_REQUEST)
            return 0;
        if (st == SOCKS_FAIL) {
            if (strcmp(sk->error, "username/password refused"))
                log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s",
                        fwd_conn_peer(c), sk->error);
            return -1;
        }
        if (st == SOCKS_REPLY)
            continue;
        left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: no complete "
                    "request within %d s, closed", fwd_conn_peer(c),
                    cfg->timeout_ms / 1000);
            return -1;
        }
        n = recv(fd, in, sizeof in, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;              /* client went away */
        if (socks_feed(sk, in, (size_t)n)) {
            log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s",
                    fwd_conn_peer(c), sk->error);
            return -1;
        }
    }
}

/* Connect step: SOCKS handshake, rules, channel open, reply. */
static struct sshtun_channel *dynamic_connect(struct fwd_conn *c)
{
    struct sshtun_forward *f = fwd_conn_forward(c);
    const struct dynamic_cfg *cfg = forward_cfg(f);
    const sshtun_options *o = fwd_conn_session(c)->opts;
    struct socks *sk = malloc(sizeof *sk);
    struct sshtun_channel *ch = NULL;
    unsigned char out[SOCKS_OUT_MAX];
    const unsigned char *rest;
    size_t len;
    sshtun_error err;

    if (!sk)
        return NULL;
    if (handshake(c, cfg, sk))
        goto out;
    if (!allowlist_match(&cfg->allow, sk->host, sk->atyp == 0x03,
                         sk->port)) {
        len = socks_reply(sk, SOCKS5_NOT_ALLOWED, out);
        fwd_send_all(fwd_conn_fd(c), out, len);
        log_msg(o, SSHTUN_LOG_ERROR, "SOCKS client %s: %s port %d is not "
                "allowed by SocksAllow (reply: %s)", fwd_conn_peer(c),
                sk->host, sk->port, socks_reply_name(SOCKS5_NOT_ALLOWED));
        goto out;
    }
    ch = fwd_conn_open(c, sk->host, sk->port, &err);
    if (!ch) {
        enum socks5_reply code = reply_for_open_error(err.code);
        len = socks_reply(sk, code, out);
        fwd_send_all(fwd_conn_fd(c), out, len);
        log_msg(o, err.code == SSHTUN_ERR_SESSION
                       || err.code == SSHTUN_ERR_CLOSED ? SSHTUN_LOG_DEBUG
                                                        : SSHTUN_LOG_ERROR,
                "SOCKS client %s: %s (reply: %s)", fwd_conn_peer(c),
                err.msg, socks_reply_name(code));
        goto out;
    }
    len = socks_reply(sk, SOCKS5_SUCCEEDED, out);
    if (fwd_send_all(fwd_conn_fd(c), out, len)) {
        sshtun_close(ch);
        ch = NULL;
        goto out;
    }
    /* Data the client sent right after its request goes first. */
    rest = socks_leftover(sk, &len);
    if (len) {
        struct chunk *k = chunk_get();
        if (k) {
            memcpy(k->data, rest, len);
            k->len = len;
            chan_send_chunk(ch, k, NULL);
        }
    }
out:
    memset(sk, 0, sizeof *sk);
    free(sk);
    return ch;
}

static const struct fwd_kind dynamic_kind = {
    .name = "dynamic",
    .connect = dynamic_connect,
    .free_cfg = dynamic_free,
};

/* Start a SOCKS proxy from a -D spec "[bind_address:]port". */
sshtun_forward *sshtun_forward_dynamic(sshtun_session *s, const char *spec,
                                       sshtun_error *err)
{
    struct dynamic_cfg *cfg;
    struct fwdspec fs;
    struct sshtun_forward *f;
    const sshtun_options *o;

    if (!s || !spec) {
        err_set(err, SSHTUN_ERR_INVAL, "no session or spec");
        return NULL;
    }
    o = s->opts;
    if (fwdspec_parse_dynamic(spec, &fs, err))
        return NULL;
    if (!(cfg = calloc(1, sizeof *cfg))) {
        err_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    cfg->timeout_ms = opts_socks_timeout(o) * 1000;
    for (int i = 0; i < o->socks_allow.n; i++)
        if (allowlist_add(&cfg->allow, o->socks_allow.v[i], err)) {
            dynamic_free(cfg);
            return NULL;
        }
    if (o->socks_auth_file) {
        char path[4096];
        knownhosts_expand_tilde(path, sizeof path, o->socks_auth_file);
        if (socks_creds_load(&cfg->creds, path, err)) {
            dynamic_free(cfg);
            return NULL;
        }
    }
    f = forward_start(s, &dynamic_kind, cfg, fs.has_bind ? fs.bind : NULL,
                      fs.listen_port, err);
    if (f)
        log_msg(o, SSHTUN_LOG_VERBOSE, "SOCKS proxy (4, 4a, 5%s) listening "
                "on port %d.", o->socks_auth_file ? ", username/password"
                                                  : "",
                sshtun_forward_port(f));
    return f;
}
