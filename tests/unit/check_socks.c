/*
 * check_socks.c - unit tests for src/socks.c.
 *
 * Drives the SOCKS decoder through whole client conversations and checks
 * every byte it would send: the SOCKS5 method choice for each combination
 * of configured and offered methods (RFC 1928), the username/password
 * sub-negotiation (RFC 1929) accepted, refused and malformed, CONNECT to
 * IPv4, IPv6 and domain destinations with their ports, the refusals for
 * BIND, UDP ASSOCIATE, unknown commands and address types, SOCKS4 and
 * SOCKS4a requests with their length limits, SOCKS4 refused when a
 * password is required, and clients speaking neither version.  Every
 * conversation is also replayed one byte at a time and cut in two at every
 * offset, which must not change anything; bytes sent after the request are
 * kept exactly; overlong input fails; reply encodings and code names are
 * checked byte for byte.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks/socks.h"

#include "check_util.h"

/* Bits of a run's configuration. */
#define NOAUTH 1        /* allow_noauth */
#define USERPASS 2      /* allow_userpass */
#define AUTH_OK 4       /* answer CHECK_AUTH with "accepted" */

/* A byte array literal and its length, as two arguments. */
#define B(...) (const unsigned char[]){ __VA_ARGS__ }, \
    sizeof((const unsigned char[]){ __VA_ARGS__ })

/* A string literal (may hold NULs) and its length, as two arguments. */
#define S(lit) (const unsigned char *)(lit), (sizeof(lit) - 1)

/* Everything one conversation produced. */
struct transcript {
    unsigned char out[4096];        /* all bytes the server sends, in order */
    size_t outlen;
    int replies;                    /* SOCKS_REPLY steps */
    int auth_checks;                /* SOCKS_CHECK_AUTH steps */
    char auth_user[SOCKS_NAME_MAX + 1];
    char auth_pass[SOCKS_NAME_MAX + 1];
    enum socks_step last;           /* NEED_MORE, REQUEST or FAIL */
    int version;
    char host[SOCKS_NAME_MAX + 1];
    char user[SOCKS_NAME_MAX + 1];
    int port, atyp;
    unsigned char rest[SOCKS_BUF_MAX];
    size_t restlen;
    char error[128];
};

/* Append server output to the transcript. */
static void record(struct transcript *t, const unsigned char *p, size_t n)
{
    ck_assert_uint_le(n, SOCKS_OUT_MAX);
    ck_assert_uint_le(t->outlen + n, sizeof t->out);
    memcpy(t->out + t->outlen, p, n);
    t->outlen += n;
}

/* Step until the decoder wants input, has its request, or failed. */
static void pump(struct socks *s, struct transcript *t, int cfg)
{
    for (;;) {
        unsigned char out[SOCKS_OUT_MAX];
        size_t n = 999;
        enum socks_step st = socks_step(s, out, &n);

        if (st == SOCKS_CHECK_AUTH) {
            ck_assert_uint_eq(n, 0);
            t->auth_checks++;
            strcpy(t->auth_user, s->user);
            strcpy(t->auth_pass, s->pass);
            st = socks_auth_result(s, (cfg & AUTH_OK) != 0, out, &n);
            ck_assert_msg(st == SOCKS_REPLY || st == SOCKS_FAIL,
                          "socks_auth_result gave %d", st);
        }
        if (st == SOCKS_NEED_MORE || st == SOCKS_REQUEST)
            ck_assert_uint_eq(n, 0);
        record(t, out, n);
        t->last = st;
        if (st != SOCKS_REPLY)
            return;
        t->replies++;
    }
}

/* Run a conversation fed in pieces ending at cuts[] (then the rest),
 * stepping after each piece; after the request, later pieces only add to
 * the leftover. */
static void run_cuts(int cfg, const unsigned char *msg, size_t len,
                     const size_t *cuts, size_t ncuts, struct transcript *t)
{
    struct socks s;
    size_t from = 0;
    const unsigned char *rest;

    memset(t, 0, sizeof *t);
    socks_init(&s, (cfg & NOAUTH) != 0, (cfg & USERPASS) != 0);
    t->last = SOCKS_NEED_MORE;
    for (size_t i = 0; i <= ncuts && t->last != SOCKS_FAIL; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        ck_assert_int_eq(socks_feed(&s, msg + from, to - from), 0);
        from = to;
        if (t->last == SOCKS_NEED_MORE)
            pump(&s, t, cfg);
    }
    t->version = s.version;
    if (s.error)
        snprintf(t->error, sizeof t->error, "%s", s.error);
    rest = socks_leftover(&s, &t->restlen);
    ck_assert_ptr_nonnull(rest);
    if (t->last == SOCKS_REQUEST) {
        memcpy(t->rest, rest, t->restlen);
        strcpy(t->host, s.host);
        strcpy(t->user, s.user);
        t->port = s.port;
        t->atyp = s.atyp;
        ck_assert_ptr_null(s.error);
    } else {
        ck_assert_uint_eq(t->restlen, 0);
    }
    if (t->last == SOCKS_FAIL) {
        /* Once failed, always failed, and nothing more to send. */
        unsigned char out[SOCKS_OUT_MAX];
        size_t n = 999;
        ck_assert_ptr_nonnull(s.error);
        ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_FAIL);
        ck_assert_uint_eq(n, 0);
        socks_feed(&s, B(0x05, 0x01, 0x00));
        ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_FAIL);
        ck_assert_uint_eq(n, 0);
    }
}

/* Run a conversation fed all at once. */
static void run(int cfg, const unsigned char *msg, size_t len,
                struct transcript *t)
{
    run_cuts(cfg, msg, len, NULL, 0, t);
}

/* Assert two transcripts agree in everything observable. */
static void same(const struct transcript *a, const struct transcript *b,
                 const char *what)
{
    ck_assert_msg(a->last == b->last, "%s: ended %d vs %d", what, a->last,
                  b->last);
    ck_assert_msg(a->outlen == b->outlen
                  && !memcmp(a->out, b->out, a->outlen),
                  "%s: different bytes sent", what);
    ck_assert_msg(a->replies == b->replies, "%s: replies", what);
    ck_assert_msg(a->auth_checks == b->auth_checks, "%s: auth checks", what);
    ck_assert_msg(!strcmp(a->auth_user, b->auth_user), "%s: user", what);
    ck_assert_msg(!strcmp(a->auth_pass, b->auth_pass), "%s: pass", what);
    ck_assert_msg(a->version == b->version, "%s: version", what);
    ck_assert_msg(!strcmp(a->host, b->host), "%s: host '%s' vs '%s'", what,
                  a->host, b->host);
    ck_assert_msg(!strcmp(a->user, b->user), "%s: user id", what);
    ck_assert_msg(a->port == b->port, "%s: port", what);
    ck_assert_msg(a->atyp == b->atyp, "%s: atyp", what);
    ck_assert_msg(a->restlen == b->restlen
                  && !memcmp(a->rest, b->rest, a->restlen),
                  "%s: leftover differs", what);
    ck_assert_msg(!strcmp(a->error, b->error), "%s: error '%s' vs '%s'",
                  what, a->error, b->error);
}

/* Assert that msg gives the same transcript whole, one byte at a time,
 * and cut in two at every offset. */
static void check_splits(int cfg, const unsigned char *msg, size_t len)
{
    static struct transcript whole, other;
    static size_t cuts[SOCKS_BUF_MAX * 2];
    char what[64];

    ck_assert_uint_le(len, sizeof cuts / sizeof cuts[0]);
    run(cfg, msg, len, &whole);
    for (size_t i = 0; i + 1 < len; i++)
        cuts[i] = i + 1;
    run_cuts(cfg, msg, len, cuts, len ? len - 1 : 0, &other);
    same(&whole, &other, "byte at a time");
    for (size_t at = 0; at <= len; at++) {
        snprintf(what, sizeof what, "cut at %zu of %zu", at, len);
        run_cuts(cfg, msg, len, &at, 1, &other);
        same(&whole, &other, what);
    }
}

/* Assert the server sent exactly want. */
static void sent(const struct transcript *t, const unsigned char *want,
                 size_t n)
{
    ck_assert_msg(t->outlen == n, "sent %zu bytes, expected %zu", t->outlen,
                  n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(t->out[i] == want[i], "byte %zu is %02x, expected %02x",
                      i, t->out[i], want[i]);
}

/* A growable message buffer for long inputs. */
struct msg {
    unsigned char b[2048];
    size_t n;
};

/* Append bytes to a message. */
static void put(struct msg *m, const void *p, size_t n)
{
    ck_assert_uint_le(m->n + n, sizeof m->b);
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* Append n copies of c to a message. */
static void put_fill(struct msg *m, int c, size_t n)
{
    ck_assert_uint_le(m->n + n, sizeof m->b);
    memset(m->b + m->n, c, n);
    m->n += n;
}

/* Append one byte to a message. */
static void put_byte(struct msg *m, int c)
{
    unsigned char b = (unsigned char)c;

    put(m, &b, 1);
}

/* The bytes of the SOCKS5 reply with code (IPv4 0.0.0.0:0 bound). */
#define REPLY5(code) 0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0
/* The SOCKS4 rejection. */
#define REJECT4 B(0x00, 0x5b, 0, 0, 0, 0, 0, 0)

static struct transcript t;

/* ------------------------------------------------------------ methods */

START_TEST(noauth_only)
{
    run(NOAUTH, B(0x05, 0x01, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_int_eq(t.version, 5);
    sent(&t, B(0x05, 0x00));
}
END_TEST

START_TEST(userpass_only)
{
    run(USERPASS, B(0x05, 0x01, 0x02), &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    sent(&t, B(0x05, 0x02));
}
END_TEST

START_TEST(both_offered)
{
    /* A configured password wins over no authentication. */
    run(NOAUTH | USERPASS, B(0x05, 0x02, 0x00, 0x02), &t);
    sent(&t, B(0x05, 0x02));
    run(NOAUTH | USERPASS, B(0x05, 0x02, 0x02, 0x00), &t);
    sent(&t, B(0x05, 0x02));
    run(NOAUTH, B(0x05, 0x02, 0x02, 0x00), &t);
    sent(&t, B(0x05, 0x00));
    run(USERPASS, B(0x05, 0x02, 0x00, 0x02), &t);
    sent(&t, B(0x05, 0x02));
    /* Other methods (GSSAPI, private ones) around ours are skipped. */
    run(NOAUTH, B(0x05, 0x04, 0x01, 0x80, 0xfe, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    sent(&t, B(0x05, 0x00));
}
END_TEST

START_TEST(none_acceptable)
{
    /* GSSAPI only. */
    run(NOAUTH | USERPASS, B(0x05, 0x01, 0x01), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0xff));
    /* No methods at all. */
    run(NOAUTH | USERPASS, B(0x05, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0xff));
    /* Password required, client offers only "no authentication". */
    run(USERPASS, B(0x05, 0x01, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0xff));
    ck_assert_str_eq(t.error, "no acceptable authentication method");
    /* No password configured, client offers only username/password. */
    run(NOAUTH, B(0x05, 0x01, 0x02), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0xff));
    /* Nothing configured: nothing acceptable. */
    run(0, B(0x05, 0x02, 0x00, 0x02), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0xff));
}
END_TEST

START_TEST(all_255_methods)
{
    struct msg m = { .n = 0 };

    put_byte(&m, 0x05);
    put_byte(&m, 255);
    for (int i = 255; i > 0; i--)
        put_byte(&m, i);            /* everything but 0x00 */
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0xff));
    run(USERPASS, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    sent(&t, B(0x05, 0x02));
    check_splits(USERPASS, m.b, m.n);
}
END_TEST

START_TEST(greeting_incomplete)
{
    run(NOAUTH, B(0x05), &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_uint_eq(t.outlen, 0);
    run(NOAUTH, B(0x05, 0x03, 0x00, 0x02), &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_uint_eq(t.outlen, 0);
    run(NOAUTH, NULL, 0, &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_int_eq(t.version, 0);
}
END_TEST

/* ----------------------------------------------------------- userpass */

START_TEST(userpass_accepted)
{
    run(USERPASS | AUTH_OK,
        S("\x05\x01\x02" "\x01\x05" "alice" "\x06" "secret"
          "\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x16"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_int_eq(t.auth_checks, 1);
    ck_assert_str_eq(t.auth_user, "alice");
    ck_assert_str_eq(t.auth_pass, "secret");
    sent(&t, B(0x05, 0x02, 0x01, 0x00));
    ck_assert_str_eq(t.host, "10.0.0.1");
    ck_assert_int_eq(t.port, 22);
}
END_TEST

START_TEST(userpass_refused)
{
    run(USERPASS,
        S("\x05\x01\x02" "\x01\x05" "alice" "\x05" "wrong"
          "\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x16"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.auth_checks, 1);
    sent(&t, B(0x05, 0x02, 0x01, 0x01));
    ck_assert_str_eq(t.error, "username/password refused");
    ck_assert_str_eq(t.host, "");
}
END_TEST

START_TEST(password_wiped)
{
    struct socks s;
    unsigned char out[SOCKS_OUT_MAX], zero[sizeof s.pass] = { 0 };
    size_t n;

    socks_init(&s, 0, 1);
    socks_feed(&s, S("\x05\x01\x02" "\x01\x01" "u" "\x04" "pass"));
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REPLY);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_CHECK_AUTH);
    ck_assert_str_eq(s.pass, "pass");
    /* Until answered, no further progress even with a request queued. */
    socks_feed(&s, B(0x05, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 80));
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_NEED_MORE);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(socks_auth_result(&s, 1, out, &n), SOCKS_REPLY);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(out[0], 0x01);
    ck_assert_int_eq(out[1], 0x00);
    ck_assert_mem_eq(s.pass, zero, sizeof s.pass);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REQUEST);
    ck_assert_str_eq(s.host, "1.2.3.4");

    /* Refused: wiped too. */
    socks_init(&s, 0, 1);
    socks_feed(&s, S("\x05\x01\x02" "\x01\x01" "u" "\x04" "pass"));
    socks_step(&s, out, &n);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_CHECK_AUTH);
    ck_assert_int_eq(socks_auth_result(&s, 0, out, &n), SOCKS_FAIL);
    ck_assert_mem_eq(s.pass, zero, sizeof s.pass);
}
END_TEST

START_TEST(auth_result_out_of_turn)
{
    struct socks s;
    unsigned char out[SOCKS_OUT_MAX];
    size_t n;

    /* An "ok" before any credentials arrived must not open the door. */
    socks_init(&s, 0, 1);
    socks_feed(&s, B(0x05, 0x01, 0x02));
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REPLY);
    ck_assert_int_eq(socks_auth_result(&s, 1, out, &n), SOCKS_FAIL);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_FAIL);
}
END_TEST

START_TEST(userpass_bad_version)
{
    run(USERPASS | AUTH_OK,
        S("\x05\x01\x02" "\x05\x01" "u" "\x01" "p"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.auth_checks, 0);
    sent(&t, B(0x05, 0x02, 0x01, 0x01));
    ck_assert_str_eq(t.error, "bad username/password version");
    /* A SOCKS4 request instead of the sub-negotiation. */
    run(USERPASS | AUTH_OK,
        S("\x05\x01\x02" "\x04\x01\x00\x50\x7f\x00\x00\x01" "u" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x02, 0x01, 0x01));
}
END_TEST

START_TEST(userpass_empty_user)
{
    run(USERPASS | AUTH_OK, S("\x05\x01\x02" "\x01\x00" "\x01" "p"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.auth_checks, 0);
    sent(&t, B(0x05, 0x02, 0x01, 0x01));
    ck_assert_str_eq(t.error, "empty username");
}
END_TEST

START_TEST(userpass_empty_password)
{
    /* Passed on to the credential check, which decides. */
    run(USERPASS, S("\x05\x01\x02" "\x01\x03" "bob" "\x00"), &t);
    ck_assert_int_eq(t.auth_checks, 1);
    ck_assert_str_eq(t.auth_user, "bob");
    ck_assert_str_eq(t.auth_pass, "");
    ck_assert_int_eq(t.last, SOCKS_FAIL);
}
END_TEST

START_TEST(userpass_nul_inside)
{
    run(USERPASS | AUTH_OK, S("\x05\x01\x02" "\x01\x03" "a\0b" "\x01" "p"),
        &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.auth_checks, 0);
    sent(&t, B(0x05, 0x02, 0x01, 0x01));
    ck_assert_str_eq(t.error, "NUL byte in username or password");
    run(USERPASS | AUTH_OK, S("\x05\x01\x02" "\x01\x01" "a" "\x03" "p\0q"),
        &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.auth_checks, 0);
    sent(&t, B(0x05, 0x02, 0x01, 0x01));
}
END_TEST

START_TEST(userpass_longest)
{
    struct msg m = { .n = 0 };
    char u[256], p[256];

    memset(u, 'u', 255);
    u[255] = '\0';
    memset(p, 'p', 255);
    p[255] = '\0';
    put(&m, "\x05\x01\x02\x01\xff", 5);
    put(&m, u, 255);
    put_byte(&m, 0xff);
    put(&m, p, 255);
    run(USERPASS | AUTH_OK, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_int_eq(t.auth_checks, 1);
    ck_assert_str_eq(t.auth_user, u);
    ck_assert_str_eq(t.auth_pass, p);
    sent(&t, B(0x05, 0x02, 0x01, 0x00));
    /* One byte short: still waiting, no check yet. */
    run(USERPASS | AUTH_OK, m.b, m.n - 1, &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_int_eq(t.auth_checks, 0);
    check_splits(USERPASS | AUTH_OK, m.b, m.n);
}
END_TEST

/* ----------------------------------------------------------- requests */

START_TEST(connect_ipv4)
{
    run(NOAUTH, B(0x05, 0x01, 0x00,
                  0x05, 0x01, 0x00, 0x01, 192, 168, 1, 2, 0x00, 0x50), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    sent(&t, B(0x05, 0x00));
    ck_assert_str_eq(t.host, "192.168.1.2");
    ck_assert_int_eq(t.port, 80);
    ck_assert_int_eq(t.atyp, 1);
    ck_assert_uint_eq(t.restlen, 0);
}
END_TEST

START_TEST(connect_domain)
{
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x0b" "example.com"
                  "\x01\xbb"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "example.com");
    ck_assert_int_eq(t.port, 443);
    ck_assert_int_eq(t.atyp, 3);
    /* Passed as given, never resolved or reinterpreted. */
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x09" "localhost"
                  "\x00\x16"), &t);
    ck_assert_str_eq(t.host, "localhost");
    ck_assert_int_eq(t.atyp, 3);
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x08" "10.0.0.1"
                  "\x00\x16"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "10.0.0.1");
    ck_assert_int_eq(t.atyp, 3);
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x0c" "Host.EXAMPLE"
                  "\x00\x16"), &t);
    ck_assert_str_eq(t.host, "Host.EXAMPLE");
}
END_TEST

START_TEST(connect_longest_domain)
{
    struct msg m = { .n = 0 };
    char name[256];

    memset(name, 'a', 255);
    name[255] = '\0';
    put(&m, "\x05\x01\x00\x05\x01\x00\x03\xff", 8);
    put(&m, name, 255);
    put(&m, "\x00\x50", 2);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, name);
    ck_assert_int_eq(t.port, 80);
    check_splits(NOAUTH, m.b, m.n);
}
END_TEST

START_TEST(connect_ipv6)
{
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04,
                  0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                  0x1f, 0x90), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "2001:db8::1");
    ck_assert_int_eq(t.port, 8080);
    ck_assert_int_eq(t.atyp, 4);
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                  0x00, 0x16), &t);
    ck_assert_str_eq(t.host, "::1");
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4,
                  0x00, 0x16), &t);
    ck_assert_str_eq(t.host, "::ffff:1.2.3.4");
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04,
                  0xfe, 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
                  0xde, 0xf0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                  0x00, 0x16), &t);
    ck_assert_str_eq(t.host, "fe80:1234:5678:9abc:def0:1122:3344:5566");
}
END_TEST

START_TEST(port_parsing)
{
    static const struct { unsigned char hi, lo; int port; } cases[] = {
        { 0x00, 0x01, 1 }, { 0x00, 0x50, 80 }, { 0x01, 0x00, 256 },
        { 0x1f, 0x90, 8080 }, { 0x80, 0x00, 32768 }, { 0xff, 0xff, 65535 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 1, 2, 3, 4,
                      cases[i].hi, cases[i].lo), &t);
        ck_assert_int_eq(t.last, SOCKS_REQUEST);
        ck_assert_int_eq(t.port, cases[i].port);
        run(NOAUTH, B(0x04, 0x01, cases[i].hi, cases[i].lo, 1, 2, 3, 4, 0),
            &t);
        ck_assert_int_eq(t.last, SOCKS_REQUEST);
        ck_assert_int_eq(t.port, cases[i].port);
    }
}
END_TEST

START_TEST(port_zero)
{
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 1, 2, 3, 4,
                  0x00, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x00, REPLY5(0x01)));
    ck_assert_str_eq(t.error, "port 0");
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x01" "h" "\x00\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x00, REPLY5(0x01)));
}
END_TEST

START_TEST(bind_and_udp)
{
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x02, 0x00, 0x01, 1, 2, 3, 4,
                  0x00, 0x50), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x00, REPLY5(0x07)));
    ck_assert_str_eq(t.error, "BIND is not supported");
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0,
                  0x00, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x00, REPLY5(0x07)));
    ck_assert_str_eq(t.error, "UDP ASSOCIATE is not supported");
    run(NOAUTH, S("\x05\x01\x00" "\x05\x02\x00\x03\x04" "host" "\x00\x50"),
        &t);
    sent(&t, B(0x05, 0x00, REPLY5(0x07)));
}
END_TEST

START_TEST(unknown_command)
{
    static const unsigned char cmds[] = { 0x00, 0x04, 0x09, 0x80, 0xff };

    for (size_t i = 0; i < sizeof cmds; i++) {
        run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, cmds[i], 0x00, 0x01,
                      1, 2, 3, 4, 0x00, 0x50), &t);
        ck_assert_int_eq(t.last, SOCKS_FAIL);
        sent(&t, B(0x05, 0x00, REPLY5(0x07)));
        ck_assert_str_eq(t.error, "unknown command");
    }
}
END_TEST

START_TEST(unknown_atyp)
{
    static const unsigned char atyps[] = { 0x00, 0x02, 0x05, 0xff };

    for (size_t i = 0; i < sizeof atyps; i++) {
        /* Refused as soon as the type is seen: its length is unknown. */
        run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, atyps[i]), &t);
        ck_assert_int_eq(t.last, SOCKS_FAIL);
        sent(&t, B(0x05, 0x00, REPLY5(0x08)));
        ck_assert_str_eq(t.error, "address type not supported");
    }
}
END_TEST

START_TEST(empty_domain)
{
    run(NOAUTH, B(0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x03, 0x00,
                  0x00, 0x50), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x00, REPLY5(0x01)));
    ck_assert_str_eq(t.error, "empty domain name");
}
END_TEST

START_TEST(nul_in_domain)
{
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x0d" "evil\0.example"
                  "\x00\x50"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, B(0x05, 0x00, REPLY5(0x01)));
    ck_assert_str_eq(t.error, "NUL byte in domain name");
    run(NOAUTH, S("\x05\x01\x00" "\x05\x01\x00\x03\x02" "a\0" "\x00\x50"),
        &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
}
END_TEST

START_TEST(request_incomplete)
{
    static const unsigned char full[] = {
        0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x50
    };

    /* Every proper prefix past the greeting waits without replying. */
    for (size_t n = 3; n < sizeof full; n++) {
        run(NOAUTH, full, n, &t);
        ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
        sent(&t, B(0x05, 0x00));
    }
    run(NOAUTH, full, sizeof full, &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
}
END_TEST

START_TEST(socks4_after_socks5_greeting)
{
    run(NOAUTH, S("\x05\x01\x00" "\x04\x01\x00\x50\x7f\x00\x00\x01" "user"
                  "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.version, 5);
    sent(&t, B(0x05, 0x00, REPLY5(0x01)));
    ck_assert_str_eq(t.error, "request is not SOCKS version 5");
}
END_TEST

START_TEST(reply5_encoding)
{
    static const enum socks5_reply codes[] = {
        SOCKS5_SUCCEEDED, SOCKS5_GENERAL_FAILURE, SOCKS5_NOT_ALLOWED,
        SOCKS5_NET_UNREACHABLE, SOCKS5_HOST_UNREACHABLE, SOCKS5_CONN_REFUSED,
        SOCKS5_TTL_EXPIRED, SOCKS5_CMD_NOT_SUPPORTED,
        SOCKS5_ATYP_NOT_SUPPORTED,
    };
    struct socks s;
    unsigned char out[SOCKS_OUT_MAX];
    size_t n;

    socks_init(&s, 1, 0);
    socks_feed(&s, S("\x05\x01\x00" "\x05\x01\x00\x03\x01" "h" "\x00\x50"));
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REPLY);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REQUEST);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        unsigned char want[10] = { 0x05, (unsigned char)codes[i], 0x00, 0x01,
                                   0, 0, 0, 0, 0, 0 };
        memset(out, 0xee, sizeof out);
        ck_assert_uint_eq(socks_reply(&s, codes[i], out), 10);
        ck_assert_mem_eq(out, want, 10);
        ck_assert_int_eq(out[10], 0xee);        /* nothing past the end */
    }
}
END_TEST

START_TEST(reply_names)
{
    ck_assert_str_eq(socks_reply_name(SOCKS5_SUCCEEDED), "succeeded");
    ck_assert_str_eq(socks_reply_name(SOCKS5_GENERAL_FAILURE),
                     "general failure");
    ck_assert_str_eq(socks_reply_name(SOCKS5_NOT_ALLOWED),
                     "connection not allowed by ruleset");
    ck_assert_str_eq(socks_reply_name(SOCKS5_NET_UNREACHABLE),
                     "network unreachable");
    ck_assert_str_eq(socks_reply_name(SOCKS5_HOST_UNREACHABLE),
                     "host unreachable");
    ck_assert_str_eq(socks_reply_name(SOCKS5_CONN_REFUSED),
                     "connection refused");
    ck_assert_str_eq(socks_reply_name(SOCKS5_TTL_EXPIRED), "TTL expired");
    ck_assert_str_eq(socks_reply_name(SOCKS5_CMD_NOT_SUPPORTED),
                     "command not supported");
    ck_assert_str_eq(socks_reply_name(SOCKS5_ATYP_NOT_SUPPORTED),
                     "address type not supported");
    ck_assert_str_eq(socks_reply_name((enum socks5_reply)0x09), "unknown");
    ck_assert_str_eq(socks_reply_name((enum socks5_reply)0xff), "unknown");
}
END_TEST

/* ------------------------------------------------------------- socks4 */

START_TEST(socks4_connect)
{
    struct socks s;
    unsigned char out[SOCKS_OUT_MAX];
    size_t n;

    run(NOAUTH, S("\x04\x01\x00\x50\xc0\xa8\x01\x02" "bob" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_int_eq(t.version, 4);
    ck_assert_uint_eq(t.outlen, 0);     /* nothing sent before the answer */
    ck_assert_str_eq(t.host, "192.168.1.2");
    ck_assert_int_eq(t.port, 80);
    ck_assert_int_eq(t.atyp, 1);
    ck_assert_str_eq(t.user, "bob");

    /* Empty user id. */
    run(NOAUTH, B(0x04, 0x01, 0x01, 0xbb, 10, 0, 0, 1, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "10.0.0.1");
    ck_assert_int_eq(t.port, 443);
    ck_assert_str_eq(t.user, "");

    /* The replies: 8 bytes, 0x5A granted, 0x5B for any failure. */
    socks_init(&s, 1, 0);
    socks_feed(&s, B(0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0x00));
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REQUEST);
    memset(out, 0xee, sizeof out);
    ck_assert_uint_eq(socks_reply(&s, SOCKS5_SUCCEEDED, out), 8);
    ck_assert_mem_eq(out, ((const unsigned char[]){ 0x00, 0x5a, 0, 0, 0, 0,
                                                    0, 0 }), 8);
    ck_assert_int_eq(out[8], 0xee);
    for (int code = SOCKS5_GENERAL_FAILURE;
         code <= SOCKS5_ATYP_NOT_SUPPORTED; code++) {
        memset(out, 0xee, sizeof out);
        ck_assert_uint_eq(socks_reply(&s, (enum socks5_reply)code, out), 8);
        ck_assert_mem_eq(out, ((const unsigned char[]){ 0x00, 0x5b, 0, 0, 0,
                                                        0, 0, 0 }), 8);
        ck_assert_int_eq(out[8], 0xee);
    }
}
END_TEST

START_TEST(socks4_bind)
{
    run(NOAUTH, S("\x04\x02\x00\x50\x7f\x00\x00\x01" "u" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.error, "SOCKS4 command not supported");
    run(NOAUTH, S("\x04\x02\x00\x50\x00\x00\x00\x01" "\x00" "h" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
}
END_TEST

START_TEST(socks4_port_zero)
{
    run(NOAUTH, B(0x04, 0x01, 0x00, 0x00, 127, 0, 0, 1, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.error, "port 0");
}
END_TEST

START_TEST(socks4a_domain)
{
    run(NOAUTH, S("\x04\x01\x01\xbb\x00\x00\x00\x01" "alice" "\x00"
                  "example.com" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "example.com");
    ck_assert_int_eq(t.port, 443);
    ck_assert_int_eq(t.atyp, 3);
    ck_assert_str_eq(t.user, "alice");
    ck_assert_uint_eq(t.outlen, 0);
    /* Any 0.0.0.x with x != 0 means a name follows. */
    run(NOAUTH, S("\x04\x01\x00\x16\x00\x00\x00\xff" "\x00" "h" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "h");
    ck_assert_int_eq(t.atyp, 3);
    /* 0.0.0.0 is an address, and 0.0.1.1 too. */
    run(NOAUTH, S("\x04\x01\x00\x16\x00\x00\x00\x00" "\x00" "h" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, "0.0.0.0");
    ck_assert_int_eq(t.atyp, 1);
    ck_assert_uint_eq(t.restlen, 2);        /* "h\0" is data */
    run(NOAUTH, S("\x04\x01\x00\x16\x00\x00\x01\x01" "\x00"), &t);
    ck_assert_str_eq(t.host, "0.0.1.1");
    ck_assert_int_eq(t.atyp, 1);
    /* The name is awaited. */
    run(NOAUTH, S("\x04\x01\x00\x16\x00\x00\x00\x01" "\x00" "examp"), &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_uint_eq(t.outlen, 0);
    /* Empty name. */
    run(NOAUTH, S("\x04\x01\x00\x16\x00\x00\x00\x01" "\x00" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.error, "bad SOCKS4a host name");
}
END_TEST

START_TEST(socks4_user_id_limit)
{
    struct msg m = { .n = 0 };

    put(&m, "\x04\x01\x00\x50\x7f\x00\x00\x01", 8);
    put_fill(&m, 'u', 255);
    /* 255 bytes without the NUL: may still come. */
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_uint_eq(t.outlen, 0);
    /* 255 bytes and the NUL: fine. */
    put_byte(&m, 0);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_uint_eq(strlen(t.user), 255);
    check_splits(NOAUTH, m.b, m.n);
    /* 256 bytes and the NUL: too long. */
    m.n--;
    put(&m, "u", 2);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.error, "SOCKS4 user id too long");
    /* 256 bytes and no NUL: refused without waiting for the rest. */
    m.n--;
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    check_splits(NOAUTH, m.b, m.n);
}
END_TEST

START_TEST(socks4a_host_limit)
{
    struct msg m = { .n = 0 };
    char name[256];

    memset(name, 'h', 255);
    name[255] = '\0';
    put(&m, "\x04\x01\x00\x50\x00\x00\x00\x01" "id", 11);   /* with NUL */
    put(&m, name, 255);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_NEED_MORE);
    ck_assert_uint_eq(t.outlen, 0);
    put_byte(&m, 0);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_str_eq(t.host, name);
    ck_assert_str_eq(t.user, "id");
    check_splits(NOAUTH, m.b, m.n);
    /* 256 bytes and the NUL. */
    m.n--;
    put(&m, "h", 2);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.error, "bad SOCKS4a host name");
    /* 256 bytes and no NUL. */
    m.n--;
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.error, "SOCKS4a host name too long");
    check_splits(NOAUTH, m.b, m.n);
}
END_TEST

START_TEST(socks4_needs_noauth)
{
    /* SOCKS4 cannot carry a password: with one required it is refused,
     * for plain and 4a requests and whatever the user id says. */
    run(USERPASS | AUTH_OK, S("\x04\x01\x00\x50\x7f\x00\x00\x01" "alice"
                              "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_int_eq(t.auth_checks, 0);
    sent(&t, REJECT4);
    ck_assert_str_eq(t.host, "");
    ck_assert_ptr_nonnull(strstr(t.error, "password required"));
    run(USERPASS | AUTH_OK, S("\x04\x01\x00\x50\x00\x00\x00\x01" "\x00"
                              "example.com" "\x00"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    run(0, B(0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    sent(&t, REJECT4);
    /* Allowed when no authentication is, even if a password also is. */
    run(NOAUTH | USERPASS, B(0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0x00), &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
}
END_TEST

/* ------------------------------------------------------------ framing */

START_TEST(neither_version)
{
    static const unsigned char firsts[] = { 0x00, 0x01, 0x03, 0x06, 0x16,
                                            'C', 'G', 0xff };

    for (size_t i = 0; i < sizeof firsts; i++) {
        run(NOAUTH | USERPASS, &firsts[i], 1, &t);
        ck_assert_int_eq(t.last, SOCKS_FAIL);
        ck_assert_uint_eq(t.outlen, 0);
        ck_assert_str_eq(t.error, "not a SOCKS 4 or 5 client");
    }
    run(NOAUTH, S("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), &t);
    ck_assert_int_eq(t.last, SOCKS_FAIL);
    ck_assert_uint_eq(t.outlen, 0);
}
END_TEST

START_TEST(leftover_kept)
{
    static const unsigned char data[] = "GET / HTTP/1.0\r\n\r\n\0\x05\x04\xff";
    struct msg m = { .n = 0 };
    struct socks s;
    unsigned char out[SOCKS_OUT_MAX];
    const unsigned char *rest;
    size_t n;

    put(&m, "\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 13);
    put(&m, data, sizeof data);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_int_eq(t.last, SOCKS_REQUEST);
    ck_assert_uint_eq(t.restlen, sizeof data);
    ck_assert_mem_eq(t.rest, data, sizeof data);
    check_splits(NOAUTH, m.b, m.n);

    /* SOCKS4 and 4a too. */
    m.n = 0;
    put(&m, "\x04\x01\x00\x50\x7f\x00\x00\x01u\0", 10);
    put(&m, data, sizeof data);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_uint_eq(t.restlen, sizeof data);
    ck_assert_mem_eq(t.rest, data, sizeof data);
    check_splits(NOAUTH, m.b, m.n);
    m.n = 0;
    put(&m, "\x04\x01\x00\x50\x00\x00\x00\x01u\0host\0", 15);
    put(&m, data, sizeof data);
    run(NOAUTH, m.b, m.n, &t);
    ck_assert_str_eq(t.host, "host");
    ck_assert_uint_eq(t.restlen, sizeof data);
    ck_assert_mem_eq(t.rest, data, sizeof data);
    check_splits(NOAUTH, m.b, m.n);

    /* None before the request is complete; grows with later input. */
    socks_init(&s, 1, 0);
    socks_feed(&s, "\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00", 12);
    socks_step(&s, out, &n);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_NEED_MORE);
    socks_leftover(&s, &n);
    ck_assert_uint_eq(n, 0);
    socks_feed(&s, "\x50" "ab", 3);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REQUEST);
    socks_feed(&s, "cd", 2);
    rest = socks_leftover(&s, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(rest, "abcd", 4);
}
END_TEST

START_TEST(feed_overflow)
{
    static unsigned char big[SOCKS_BUF_MAX + 1];
    struct socks s;
    unsigned char out[SOCKS_OUT_MAX];
    size_t n;

    /* More than the buffer in one go. */
    socks_init(&s, 1, 0);
    ck_assert_int_eq(socks_feed(&s, big, sizeof big), -1);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_FAIL);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(s.error, "message too long");

    /* Exactly the buffer, then one byte more, while credentials are
     * being checked (nothing is consumed meanwhile). */
    socks_init(&s, 0, 1);
    ck_assert_int_eq(socks_feed(&s, S("\x05\x01\x02" "\x01\x01" "u"
                                      "\x01" "p")), 0);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_REPLY);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_CHECK_AUTH);
    ck_assert_int_eq(socks_feed(&s, big, SOCKS_BUF_MAX - 100), 0);
    ck_assert_int_eq(socks_feed(&s, big, 100), 0);
    ck_assert_uint_eq(s.len, SOCKS_BUF_MAX);
    ck_assert_int_eq(socks_feed(&s, big, 1), -1);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_FAIL);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(s.error, "message too long");

    /* An empty feed is always fine. */
    socks_init(&s, 1, 0);
    ck_assert_int_eq(socks_feed(&s, big, 0), 0);
    ck_assert_int_eq(socks_step(&s, out, &n), SOCKS_NEED_MORE);
}
END_TEST

/* A conversation for the split test. */
struct convo {
    const char *name;
    int cfg;
    const char *bytes;
    size_t len;
    enum socks_step last;
};

/* A string literal and its length, for a table. */
#define L(lit) lit, sizeof(lit) - 1

/* Valid exchanges, and some refused ones, each fed in every way. */
static const struct convo convos[] = {
    { "v5 ipv4", NOAUTH,
      L("\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"),
      SOCKS_REQUEST },
    { "v5 domain + data", NOAUTH,
      L("\x05\x02\x00\x02\x05\x01\x00\x03\x0b" "example.com" "\x01\xbb"
        "hello"), SOCKS_REQUEST },
    { "v5 ipv6", NOAUTH,
      L("\x05\x01\x00\x05\x01\x00\x04\x20\x01\x0d\xb8\x00\x00\x00\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x01\x1f\x90"), SOCKS_REQUEST },
    { "v5 userpass ok", USERPASS | AUTH_OK,
      L("\x05\x01\x02\x01\x05" "alice" "\x06" "secret"
        "\x05\x01\x00\x03\x04" "host" "\x00\x16" "\x00\x01"),
      SOCKS_REQUEST },
    { "v5 userpass refused", USERPASS,
      L("\x05\x01\x02\x01\x05" "alice" "\x06" "secret"
        "\x05\x01\x00\x03\x04" "host" "\x00\x16"), SOCKS_FAIL },
    { "v5 userpass, empty password", USERPASS | AUTH_OK,
      L("\x05\x01\x02\x01\x01" "a" "\x00"
        "\x05\x01\x00\x01\x01\x02\x03\x04\x00\x16"), SOCKS_REQUEST },
    { "v4", NOAUTH, L("\x04\x01\x00\x50\x7f\x00\x00\x01" "bob" "\x00" "x"),
      SOCKS_REQUEST },
    { "v4a", NOAUTH,
      L("\x04\x01\x01\xbb\x00\x00\x00\x07" "\x00" "example.com" "\x00" "yz"),
      SOCKS_REQUEST },
    { "v5 no method", USERPASS, L("\x05\x01\x00"), SOCKS_FAIL },
    { "v5 bind", NOAUTH,
      L("\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50"), SOCKS_FAIL },
    { "v5 bad atyp", NOAUTH, L("\x05\x01\x00\x05\x01\x00\x02\x01\x02"),
      SOCKS_FAIL },
    { "v4 in v5", NOAUTH,
      L("\x05\x01\x00\x04\x01\x00\x50\x7f\x00\x00\x01\x00"), SOCKS_FAIL },
    { "v4 bind", NOAUTH, L("\x04\x02\x00\x50\x7f\x00\x00\x01\x00"),
      SOCKS_FAIL },
    { "v4 with password required", USERPASS | AUTH_OK,
      L("\x04\x01\x00\x50\x7f\x00\x00\x01\x00"), SOCKS_FAIL },
    { "http", NOAUTH, L("GET / HTTP/1.0\r\n\r\n"), SOCKS_FAIL },
};

START_TEST(every_split)
{
    const struct convo *c = &convos[_i];

    run(c->cfg, (const unsigned char *)c->bytes, c->len, &t);
    ck_assert_msg(t.last == c->last, "%s: ended %d, expected %d", c->name,
                  t.last, c->last);
    check_splits(c->cfg, (const unsigned char *)c->bytes, c->len);
}
END_TEST

/* The suite: methods, user/password, requests, SOCKS4, framing. */
static Suite *socks_suite(void)
{
    Suite *s = suite_create("socks");
    TCase *methods = tcase_create("methods");
    TCase *userpass = tcase_create("userpass");
    TCase *requests = tcase_create("requests");
    TCase *v4 = tcase_create("socks4");
    TCase *framing = tcase_create("framing");

    tcase_add_test(methods, noauth_only);
    tcase_add_test(methods, userpass_only);
    tcase_add_test(methods, both_offered);
    tcase_add_test(methods, none_acceptable);
    tcase_add_test(methods, all_255_methods);
    tcase_add_test(methods, greeting_incomplete);
    suite_add_tcase(s, methods);

    tcase_add_test(userpass, userpass_accepted);
    tcase_add_test(userpass, userpass_refused);
    tcase_add_test(userpass, password_wiped);
    tcase_add_test(userpass, auth_result_out_of_turn);
    tcase_add_test(userpass, userpass_bad_version);
    tcase_add_test(userpass, userpass_empty_user);
    tcase_add_test(userpass, userpass_empty_password);
    tcase_add_test(userpass, userpass_nul_inside);
    tcase_add_test(userpass, userpass_longest);
    suite_add_tcase(s, userpass);

    tcase_add_test(requests, connect_ipv4);
    tcase_add_test(requests, connect_domain);
    tcase_add_test(requests, connect_longest_domain);
    tcase_add_test(requests, connect_ipv6);
    tcase_add_test(requests, port_parsing);
    tcase_add_test(requests, port_zero);
    tcase_add_test(requests, bind_and_udp);
    tcase_add_test(requests, unknown_command);
    tcase_add_test(requests, unknown_atyp);
    tcase_add_test(requests, empty_domain);
    tcase_add_test(requests, nul_in_domain);
    tcase_add_test(requests, request_incomplete);
    tcase_add_test(requests, socks4_after_socks5_greeting);
    tcase_add_test(requests, reply5_encoding);
    tcase_add_test(requests, reply_names);
    suite_add_tcase(s, requests);

    tcase_add_test(v4, socks4_connect);
    tcase_add_test(v4, socks4_bind);
    tcase_add_test(v4, socks4_port_zero);
    tcase_add_test(v4, socks4a_domain);
    tcase_add_test(v4, socks4_user_id_limit);
    tcase_add_test(v4, socks4a_host_limit);
    tcase_add_test(v4, socks4_needs_noauth);
    suite_add_tcase(s, v4);

    tcase_add_test(framing, neither_version);
    tcase_add_test(framing, leftover_kept);
    tcase_add_test(framing, feed_overflow);
    tcase_add_loop_test(framing, every_split, 0,
                        (int)(sizeof convos / sizeof convos[0]));
    suite_add_tcase(s, framing);
    return s;
}

CHECK_MAIN(socks_suite)
