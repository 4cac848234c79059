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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/channel.h"
#include "base/error.h"
#include "base/fdio.h"
#include "forward/forward.h"
#include "config/fwdspec.h"
#include "base/log.h"
#include "config/options.h"
#include "engine/session.h"
#include "socks/socks_server.h"
#include "base/waitq.h"

/* Free a dynamic forward's configuration. */
static void dynamic_free(void *p)
{
    socks_server_cfg_free(p);
    free(p);
}

/* socks_io send on the client socket. */
static int sock_send(void *ctx, const unsigned char *buf, size_t len)
{
    return fdio_send_all(*(int *)ctx, buf, len);
}

/* The address part of a peer "addr:port" or "[addr]:port" (a Unix
 * socket's clients share one name). */
static void peer_address(const char *peer, char *buf, size_t size)
{
    const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
    size_t n = end ? (size_t)(end - peer) : strlen(peer);

    if (peer[0] == '[' && end) {
        peer++;
        n--;
    }
    snprintf(buf, size, "%.*s", (int)n, peer);
}

/* Connect step: SOCKS handshake, rules, channel open, reply. */
static struct sshtun_channel *dynamic_connect(struct forward_conn *c)
{
    const struct socks_cfg *cfg = forward_cfg(forward_conn_forward(c));
    const sshtun_options *o = forward_conn_session(c)->opts;
    int fd = forward_conn_fd(c);
    char addr[64];
    struct socks_io io = { socks_server_fd_recv, sock_send, &fd,
                           forward_conn_peer(c),
                           forward_socks_counters(forward_conn_forward(c)),
                           addr };
    struct socks *sk = malloc(sizeof *sk);
    struct sshtun_channel *ch = NULL;
    const unsigned char *rest;
    size_t len;
    sshtun_error err;

    if (!sk)
        return NULL;
    peer_address(io.peer, addr, sizeof addr);
    if (socks_server_handshake(&io, cfg, sk, o)
        || !socks_server_check_allowed(&io, cfg, sk, o))
        goto out;
    ch = forward_conn_open(c, sk->host, sk->port, &err);
    if (!ch) {
        enum socks5_reply code = socks_server_reply_for_open_error(err.code);
        socks_server_send_reply(&io, sk, code);
        log_msg(o, err.code == SSHTUN_ERR_SESSION
                       || err.code == SSHTUN_ERR_CLOSED ? SSHTUN_LOG_DEBUG
                                                        : SSHTUN_LOG_ERROR,
                "SOCKS client %s: %s (reply: %s)", io.peer, err.msg,
                socks_reply_name(code));
        goto out;
    }
    if (socks_server_send_reply(&io, sk, SOCKS5_SUCCEEDED)) {
        ch = NULL;                  /* the connection's cleanup closes it */
        goto out;
    }
    /* Data the client sent right after its request goes first. */
    rest = socks_leftover(sk, &len);
    if (len) {
        struct chunk *k = chunk_get();
        if (!k) {
            /* Out of memory: drop the connection rather than the bytes
             * (the connection's cleanup closes the channel). */
            ch = NULL;
            goto out;
        }
        memcpy(k->data, rest, len);
        k->len = len;
        channel_send_chunk(ch, k, NULL);
    }
out:
    memset(sk, 0, sizeof *sk);
    free(sk);
    return ch;
}

static const struct forward_kind dynamic_kind = {
    .name = "dynamic",
    .connect = dynamic_connect,
    .free_cfg = dynamic_free,
};

/* Start a SOCKS proxy from a -D spec "[bind_address:]port". */
sshtun_forward *sshtun_forward_dynamic(sshtun_session *s, const char *spec,
                                       sshtun_error *err)
{
    struct socks_cfg *cfg;
    struct fwdspec fs;
    struct sshtun_forward *f;
    const sshtun_options *o;

    if (!s || !spec) {
        error_set(err, SSHTUN_ERR_INVAL, "no session or spec");
        return NULL;
    }
    o = s->opts;
    if (fwdspec_parse_dynamic(spec, &fs, err))
        return NULL;
    if (!(cfg = calloc(1, sizeof *cfg))) {
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (socks_server_cfg_load(cfg, o, 0, err)) {
        dynamic_free(cfg);
        return NULL;
    }
    f = forward_start(s, &dynamic_kind, cfg, fs.has_bind ? fs.bind : NULL,
                      fs.listen_port, NULL, NULL, err);
    if (f)
        forward_set_spec(f, spec);
    if (f)
        log_msg(o, SSHTUN_LOG_VERBOSE, "SOCKS proxy (%s) listening on port "
                "%d.", o->socks_auth_file ? "5 with username/password"
                                          : "4, 4a, 5",
                sshtun_forward_port(f));
    return f;
}
