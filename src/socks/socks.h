/*
 * socks.h - SOCKS4, SOCKS4a and SOCKS5 server-side protocol, on buffers.
 *
 * A pure, incremental decoder and encoder: the caller appends whatever
 * bytes arrived (one at a time is fine) and asks for the next step, which
 * is "need more", "send this reply and go on", "check these credentials",
 * "the request is ready", or "send this failure and close".  No sockets,
 * no threads, every length limited, so it is unit-tested and fuzzed.
 * RFC 1928 (SOCKS5), RFC 1929 (username/password), and the SOCKS4/4a
 * protocol notes.
 */
#ifndef SSHTUN_SOCKS_H
#define SSHTUN_SOCKS_H

#include <stddef.h>
#include <stdint.h>

/* SOCKS5 reply codes (RFC 1928 section 6). */
enum socks5_reply {
    SOCKS5_SUCCEEDED = 0x00,
    SOCKS5_GENERAL_FAILURE = 0x01,
    SOCKS5_NOT_ALLOWED = 0x02,
    SOCKS5_NET_UNREACHABLE = 0x03,
    SOCKS5_HOST_UNREACHABLE = 0x04,
    SOCKS5_CONN_REFUSED = 0x05,
    SOCKS5_TTL_EXPIRED = 0x06,
    SOCKS5_CMD_NOT_SUPPORTED = 0x07,
    SOCKS5_ATYP_NOT_SUPPORTED = 0x08
};

/* SOCKS4 reply codes. */
enum socks4_reply {
    SOCKS4_GRANTED = 0x5a,
    SOCKS4_REJECTED = 0x5b
};

enum socks_step {
    SOCKS_NEED_MORE,        /* append more input, then step again */
    SOCKS_REPLY,            /* send out[], then step again */
    SOCKS_CHECK_AUTH,       /* verify user/pass, then socks_auth_result */
    SOCKS_REQUEST,          /* CONNECT to host:port; then socks_reply */
    SOCKS_FAIL              /* send out[] (may be empty), then close */
};

#define SOCKS_BUF_MAX 1024
#define SOCKS_OUT_MAX 32
#define SOCKS_NAME_MAX 255

struct socks {
    /* Set by the caller before the first step. */
    int allow_noauth;               /* accept method 0x00, and SOCKS4 */
    int allow_userpass;             /* accept method 0x02 (RFC 1929) */

    /* Parser state. */
    int version;                    /* 0 until the first byte, then 4 or 5 */
    int stage;
    unsigned char buf[SOCKS_BUF_MAX];
    size_t len;

    /* Results. */
    char user[SOCKS_NAME_MAX + 1];
    char pass[SOCKS_NAME_MAX + 1];
    char host[SOCKS_NAME_MAX + 1];  /* IPv4/IPv6 text or a domain name */
    int port;
    int atyp;                       /* 1 IPv4, 3 domain, 4 IPv6 */
    const char *error;              /* what was wrong, on SOCKS_FAIL */
    int failed_reply;               /* on SOCKS_FAIL: the SOCKS5 code of
                                       the reply sent with it, or -1 */
};

/* Initialise for a new client. */
void socks_init(struct socks *s, int allow_noauth, int allow_userpass);

/* Append received bytes.  Returns 0, or -1 if more arrived than any
 * message may hold (then step returns SOCKS_FAIL). */
int socks_feed(struct socks *s, const void *data, size_t len);

/* Decode what is buffered.  May fill out[SOCKS_OUT_MAX] with *outlen
 * bytes to send. */
enum socks_step socks_step(struct socks *s, unsigned char *out,
                           size_t *outlen);

/* After SOCKS_CHECK_AUTH: the RFC 1929 status reply for ok/refused.
 * Returns SOCKS_REPLY (continue) or SOCKS_FAIL (send, close). */
enum socks_step socks_auth_result(struct socks *s, int ok,
                                  unsigned char *out, size_t *outlen);

/* After SOCKS_REQUEST: encode the final reply with a SOCKS5 code (mapped
 * to 0x5A/0x5B for SOCKS4); the bound address is sent as 0.0.0.0:0.
 * Returns the reply's length. */
size_t socks_reply(const struct socks *s, enum socks5_reply code,
                   unsigned char *out);

/* Bytes the client sent after its request (to forward once connected). */
const unsigned char *socks_leftover(const struct socks *s, size_t *len);

/* Name of a SOCKS5 reply code. */
const char *socks_reply_name(enum socks5_reply code);

#endif
