/*
 * fuzz_socks.c - libFuzzer target for the SOCKS decoder (src/socks.c).
 *
 * The first input byte picks the configuration: bit 0 allows "no
 * authentication" (and SOCKS4), bit 1 allows username/password, bit 2
 * makes the credential check succeed, bits 3-7 the size of the pieces the
 * rest is fed in (0: all at once, 1-31: that many bytes at a time).  The
 * rest is the client's byte stream.  After every piece the decoder is
 * stepped until it wants more, and its answers are checked: replies fit
 * SOCKS_OUT_MAX and have a valid length, a decoded request has a
 * NUL-terminated host of 1-255 characters of the stated type and a port
 * in 1-65535, the leftover stays inside the buffer, and a failed decoder
 * stays failed.  The same stream fed all at once must give the same bytes
 * out and the same outcome.  Any violation traps.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "socks/socks.h"

/* Stop the fuzzer when cond is false. */
#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* What one run produced, for comparing two feeding patterns. */
struct outcome {
    unsigned char out[4096];        /* everything sent, truncated */
    size_t outlen;                  /* total, even past out[] */
    enum socks_step last;
    char host[SOCKS_NAME_MAX + 1];
    int port;
    size_t restlen;
    unsigned char rest[SOCKS_BUF_MAX];
    int feed_failed;
};

/* Check one step's output and append it to the outcome. */
static void took(struct outcome *o, enum socks_step st,
                 const unsigned char *out, size_t n)
{
    CHECK(n <= SOCKS_OUT_MAX);
    if (st == SOCKS_NEED_MORE || st == SOCKS_REQUEST
        || st == SOCKS_CHECK_AUTH)
        CHECK(n == 0);
    if (st == SOCKS_REPLY)
        CHECK(n == 2);
    if (st == SOCKS_FAIL)
        CHECK(n == 0 || n == 2 || n == 8 || n == 10);
    if (o->outlen + n <= sizeof o->out)
        memcpy(o->out + o->outlen, out, n);
    o->outlen += n;
}

/* Check a decoded request. */
static void check_request(const struct socks *s)
{
    unsigned char addr[16], reply[SOCKS_OUT_MAX];
    size_t hlen;

    CHECK(memchr(s->host, 0, sizeof s->host) != NULL);
    CHECK(memchr(s->user, 0, sizeof s->user) != NULL);
    hlen = strlen(s->host);
    CHECK(hlen >= 1 && hlen <= SOCKS_NAME_MAX);
    CHECK(s->port >= 1 && s->port <= 65535);
    CHECK(s->version == 4 || s->version == 5);
    CHECK(s->error == NULL);
    switch (s->atyp) {
    case 1: CHECK(inet_pton(AF_INET, s->host, addr) == 1); break;
    case 4: CHECK(s->version == 5);
            CHECK(inet_pton(AF_INET6, s->host, addr) == 1); break;
    case 3: break;
    default: CHECK(0);
    }
    if (s->version == 4)
        CHECK(s->allow_noauth);
    CHECK(socks_reply(s, SOCKS5_SUCCEEDED, reply)
          == (s->version == 4 ? 8u : 10u));
    CHECK(reply[1] == (s->version == 4 ? SOCKS4_GRANTED : SOCKS5_SUCCEEDED));
    CHECK(socks_reply(s, SOCKS5_CONN_REFUSED, reply)
          == (s->version == 4 ? 8u : 10u));
    CHECK(reply[1] == (s->version == 4 ? SOCKS4_REJECTED
                                       : SOCKS5_CONN_REFUSED));
}

/* Step until the decoder wants input, has a request, or failed. */
static void pump(struct socks *s, struct outcome *o, int auth_ok)
{
    unsigned char out[SOCKS_OUT_MAX];
    size_t n;
    enum socks_step st;

    do {
        n = SOCKS_OUT_MAX + 1;
        st = socks_step(s, out, &n);
        took(o, st, out, n);
        if (st == SOCKS_CHECK_AUTH) {
            CHECK(s->allow_userpass && s->version == 5);
            CHECK(memchr(s->user, 0, sizeof s->user) != NULL);
            CHECK(memchr(s->pass, 0, sizeof s->pass) != NULL);
            CHECK(s->user[0] != '\0');
            n = SOCKS_OUT_MAX + 1;
            st = socks_auth_result(s, auth_ok, out, &n);
            CHECK(st == (auth_ok ? SOCKS_REPLY : SOCKS_FAIL));
            CHECK(n == 2 && out[0] == 0x01 && out[1] == (auth_ok ? 0 : 1));
            CHECK(s->pass[0] == '\0');
            took(o, st, out, n);
        }
    } while (st == SOCKS_REPLY);
    o->last = st;
}

/* Feed data in pieces of size piece (0: whole), stepping after each. */
static void run(const uint8_t *data, size_t size, int cfg, size_t piece,
                struct outcome *o)
{
    static struct socks s;
    const unsigned char *rest;
    unsigned char out[SOCKS_OUT_MAX];
    size_t off = 0, n;

    memset(o, 0, sizeof *o);
    socks_init(&s, cfg & 1, (cfg >> 1) & 1);
    o->last = SOCKS_NEED_MORE;
    pump(&s, o, 0);
    CHECK(o->last == SOCKS_NEED_MORE && o->outlen == 0);
    while (off < size && o->last != SOCKS_FAIL) {
        size_t len = piece && piece < size - off ? piece : size - off;
        if (socks_feed(&s, data + off, len)) {
            CHECK(s.len + len > SOCKS_BUF_MAX);
            o->feed_failed = 1;
            n = 1;
            CHECK(socks_step(&s, out, &n) == SOCKS_FAIL && n == 0);
            o->last = SOCKS_FAIL;
            break;
        }
        off += len;
        CHECK(s.len <= SOCKS_BUF_MAX);
        if (o->last == SOCKS_NEED_MORE)
            pump(&s, o, (cfg >> 2) & 1);
    }
    rest = socks_leftover(&s, &o->restlen);
    CHECK(rest == s.buf);
    CHECK(o->restlen <= SOCKS_BUF_MAX);
    if (o->last == SOCKS_REQUEST) {
        check_request(&s);
        memcpy(o->rest, rest, o->restlen);
        memcpy(o->host, s.host, sizeof o->host);
        o->port = s.port;
    } else {
        CHECK(o->restlen == 0);
    }
    if (o->last == SOCKS_FAIL) {
        CHECK(s.error != NULL);
        for (int i = 0; i < 3; i++) {
            n = 1;
            CHECK(socks_step(&s, out, &n) == SOCKS_FAIL && n == 0);
            socks_feed(&s, "\x05\x01\x00", 3);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct outcome split, whole;
    int cfg;
    size_t piece;

    if (size < 1)
        return 0;
    cfg = data[0] & 7;
    piece = data[0] >> 3;
    run(data + 1, size - 1, cfg, piece, &split);
    /* Feeding pattern must not matter (while nothing overflows). */
    if (piece && size - 1 <= SOCKS_BUF_MAX) {
        run(data + 1, size - 1, cfg, 0, &whole);
        CHECK(split.last == whole.last);
        CHECK(split.outlen == whole.outlen);
        CHECK(!memcmp(split.out, whole.out,
                      split.outlen < sizeof split.out ? split.outlen
                                                      : sizeof split.out));
        CHECK(!strcmp(split.host, whole.host));
        CHECK(split.port == whole.port);
        CHECK(split.restlen == whole.restlen);
        CHECK(!memcmp(split.rest, whole.rest, split.restlen));
    }
    return 0;
}
