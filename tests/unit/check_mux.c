/*
 * check_mux.c - unit tests for src/control/muxmsg.c and ctlpath.c.
 *
 * The codec: every message sshtun sends or answers survives an encode and
 * a parse with its fields; frames are found only when complete and any
 * split of a stream yields the same frames; bytes OpenSSH's client writes
 * (written out by hand from PROTOCOL.mux) parse as expected; short,
 * over-long, NUL-holding and trailing-garbage bodies are refused; a body
 * length beyond the bound is refused before any allocation.  ControlPath:
 * every token, %C as OpenSSH 9.2 computes it, unknown tokens and paths
 * over 107 bytes refused with a clear message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctlpath.h"
#include "control/muxmsg.h"

#include "check_util.h"

/* Encode m, split the frame, parse it back into out (whose text points
 * into a buffer that stays valid until the next call). */
static void roundtrip(const struct mux_msg *m, struct mux_msg *out)
{
    static unsigned char buf[4096];
    const unsigned char *body;
    size_t n = muxmsg_encode(m, buf, sizeof buf), blen;
    char err[128];

    ck_assert_uint_gt(n, 8);
    ck_assert_int_eq(muxmsg_frame(buf, n, &body, &blen), (long)n);
    ck_assert_int_eq(muxmsg_frame(buf, n - 1, &body, &blen), 0);
    ck_assert_msg(muxmsg_parse(body, blen, out, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(out->type, m->type);
    ck_assert_uint_eq(out->rid, m->rid);
}

START_TEST(roundtrip_forward)
{
    struct mux_msg m = { .type = MUX_C_OPEN_FWD, .rid = 7,
                         .fwd_type = MUX_FWD_REMOTE, .listen_port = 0,
                         .connect_port = 8080 }, out;

    strcpy(m.listen_host, "*");
    strcpy(m.connect_host, "intranet");
    roundtrip(&m, &out);
    ck_assert_uint_eq(out.fwd_type, MUX_FWD_REMOTE);
    ck_assert_str_eq(out.listen_host, "*");
    ck_assert_str_eq(out.connect_host, "intranet");
    ck_assert_uint_eq(out.connect_port, 8080);
    m.type = MUX_C_CLOSE_FWD;
    m.listen_port = MUX_PORT_PATH;
    strcpy(m.listen_host, "/tmp/sock");
    roundtrip(&m, &out);
    ck_assert_uint_eq(out.listen_port, MUX_PORT_PATH);
    ck_assert_str_eq(out.listen_host, "/tmp/sock");
}
END_TEST

START_TEST(roundtrip_replies)
{
    struct mux_msg m = { .type = MUX_S_FAILURE, .rid = 3,
                         .text = "port not forwarded", .text_len = 18 }, out;
    static const uint32_t valued[] = { MUX_S_ALIVE, MUX_S_REMOTE_PORT,
                                       MUX_S_SESSION_OPENED, MUX_C_STATS };

    roundtrip(&m, &out);
    ck_assert_uint_eq(out.text_len, 18);
    ck_assert(!memcmp(out.text, "port not forwarded", 18));
    for (size_t i = 0; i < sizeof valued / sizeof valued[0]; i++) {
        struct mux_msg v = { .type = valued[i], .rid = 9, .value = 4242 };
        roundtrip(&v, &out);
        ck_assert_uint_eq(out.value, 4242);
    }
    m = (struct mux_msg){ .type = MUX_MSG_HELLO, .version = MUX_VERSION,
                          .has_stats_ext = 1 };
    roundtrip(&m, &out);
    ck_assert_uint_eq(out.version, 4);
    ck_assert_int_eq(out.has_stats_ext, 1);
}
END_TEST

/* The bytes of OpenSSH's "ssh -O forward -L 8080:db:5432" request. */
static const unsigned char openssh_open_fwd[] = {
    0, 0, 0, 0x1e,                  /* length 30 */
    0x10, 0, 0, 0x06,               /* MUX_C_OPEN_FWD */
    0, 0, 0, 1,                     /* request id */
    0, 0, 0, 1,                     /* MUX_FWD_LOCAL */
    0, 0, 0, 0,                     /* listen host "" */
    0, 0, 0x1f, 0x90,               /* 8080 */
    0, 0, 0, 2, 'd', 'b',           /* connect host */
    0, 0, 0x15, 0x38,               /* 5432 */
    0x80, 0, 0, 0x01, 0, 0, 0, 1    /* next frame's start: not this one */
};

START_TEST(openssh_bytes)
{
    const unsigned char *body;
    size_t blen;
    struct mux_msg m;
    char err[128];
    /* NEW_STDIO_FWD: reserved "", host "h", port as a uint32. */
    static const unsigned char stdio[] = {
        0x10, 0, 0, 0x08, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 'h',
        0, 0, 0, 22 };

    ck_assert_int_eq(muxmsg_frame(openssh_open_fwd, sizeof openssh_open_fwd,
                                  &body, &blen), 34);
    ck_assert_int_eq(muxmsg_parse(body, blen, &m, err, sizeof err), 0);
    ck_assert_uint_eq(m.type, MUX_C_OPEN_FWD);
    ck_assert_uint_eq(m.fwd_type, MUX_FWD_LOCAL);
    ck_assert_str_eq(m.listen_host, "");
    ck_assert_uint_eq(m.listen_port, 8080);
    ck_assert_str_eq(m.connect_host, "db");
    ck_assert_uint_eq(m.connect_port, 5432);
    ck_assert_int_eq(muxmsg_parse(stdio, sizeof stdio, &m, err, sizeof err), 0);
    ck_assert_str_eq(m.connect_host, "h");
    ck_assert_uint_eq(m.connect_port, 22);
}
END_TEST

START_TEST(split_stream)
{
    unsigned char stream[256];
    size_t len = 0;
    struct mux_msg a = { .type = MUX_C_ALIVE_CHECK, .rid = 1 };
    struct mux_msg b = { .type = MUX_C_TERMINATE, .rid = 2 };

    len += muxmsg_encode(&a, stream + len, sizeof stream - len);
    len += muxmsg_encode(&b, stream + len, sizeof stream - len);
    /* However the bytes arrive, the same two frames come out. */
    for (size_t cut = 0; cut <= len; cut++) {
        const unsigned char *body;
        size_t blen, off = 0;
        int frames = 0;
        long n;
        while ((n = muxmsg_frame(stream + off, (off < cut ? cut : len) - off,
                                 &body, &blen)) > 0) {
            off += (size_t)n;
            frames++;
        }
        ck_assert_int_eq(n, 0);
        if (cut == len)
            ck_assert_int_eq(frames, 2);
    }
}
END_TEST

START_TEST(bad_bodies)
{
    char err[128];
    struct mux_msg m;
    const unsigned char *body;
    size_t blen;
    static const unsigned char nul_host[] = {
        0x10, 0, 0, 0x06, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 'a', 0,
        0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const unsigned char trailing[] = {
        0x10, 0, 0, 0x04, 0, 0, 0, 1, 'x' };
    static const unsigned char short_str[] = {
        0x80, 0, 0, 0x03, 0, 0, 0, 1, 0, 0, 0, 9, 'a' };
    static const unsigned char bad_type[] = {
        0x10, 0, 0, 0x06, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1,
        0, 0, 0, 0, 0, 0, 0, 0 };
    static const unsigned char huge[] = { 0x7f, 0xff, 0xff, 0xff, 0 };
    static const unsigned char tiny[] = { 0, 0, 0, 2, 0, 0 };

    ck_assert_int_eq(muxmsg_parse(nul_host, sizeof nul_host, &m, err, sizeof err), -1);
    ck_assert_int_eq(muxmsg_parse(trailing, sizeof trailing, &m, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "stray bytes"));
    ck_assert_int_eq(muxmsg_parse(short_str, sizeof short_str, &m, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "malformed MUX_S_FAILURE"));
    ck_assert_int_eq(muxmsg_parse(bad_type, sizeof bad_type, &m, err, sizeof err), -1);
    ck_assert_int_eq(muxmsg_parse(huge, 2, &m, err, sizeof err), -1);
    ck_assert_int_eq(muxmsg_frame(huge, sizeof huge, &body, &blen), -1);
    ck_assert_int_eq(muxmsg_frame(tiny, sizeof tiny, &body, &blen), -1);
}
END_TEST

START_TEST(encode_bounds)
{
    unsigned char small[12];
    struct mux_msg m = { .type = MUX_S_FAILURE, .text = "a long reason",
                         .text_len = 13 };
    struct mux_msg unknown = { .type = 0x12345678 };
    unsigned char buf[64];

    ck_assert_uint_eq(muxmsg_encode(&m, small, sizeof small), 0);
    ck_assert_uint_eq(muxmsg_encode(&unknown, buf, sizeof buf), 0);
    ck_assert_str_eq(muxmsg_type_name(MUX_C_NEW_SESSION), "MUX_C_NEW_SESSION");
    ck_assert_str_eq(muxmsg_type_name(0x12345678), "unknown mux message");
}
END_TEST

static const struct ctlpath_info info = {
    "gw.example.com", "gw", 2222, "alice", "box.local.lan", "bob", 1000,
    "/home/bob"
};

START_TEST(ctlpath_tokens)
{
    char out[CTLPATH_MAX + 1], err[256];

    ck_assert_int_eq(ctlpath_expand("/t/%h_%n_%p_%r_%l_%L_%u_%i_%d_%%", &info,
                                    out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(out, "/t/gw.example.com_gw_2222_alice_box.local.lan_box_"
                     "bob_1000_/home/bob_%");
    ck_assert_int_eq(ctlpath_expand("/t/%x", &info, out, sizeof out, err,
                                    sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown token '%x'"));
    ck_assert_int_eq(ctlpath_expand("/t/%", &info, out, sizeof out, err,
                                    sizeof err), -1);
}
END_TEST

START_TEST(ctlpath_hash_and_length)
{
    char out[CTLPATH_MAX + 1], err[256], hash[41], tmpl[200];

    /* sha1("box.local.langw.example.com2222alice") */
    ctlpath_hash(&info, hash);
    ck_assert_str_eq(hash, "abf1e2fb8faf0491220ca1c9a7ea43ebf910bde4");
    ck_assert_int_eq(ctlpath_expand("/s/%C", &info, out, sizeof out, err,
                                    sizeof err), 0);
    ck_assert_str_eq(out + 3, hash);
    memset(tmpl, 'x', sizeof tmpl);
    tmpl[0] = '/';
    tmpl[CTLPATH_MAX] = '\0';
    ck_assert_int_eq(ctlpath_expand(tmpl, &info, out, sizeof out, err,
                                    sizeof err), 0);
    tmpl[CTLPATH_MAX] = 'x';
    tmpl[CTLPATH_MAX + 1] = '\0';
    ck_assert_int_eq(ctlpath_expand(tmpl, &info, out, sizeof out, err,
                                    sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "too long"));
}
END_TEST

static Suite *mux_suite(void)
{
    Suite *s = suite_create("mux");
    TCase *codec = tcase_create("codec"), *path = tcase_create("ctlpath");

    tcase_add_test(codec, roundtrip_forward);
    tcase_add_test(codec, roundtrip_replies);
    tcase_add_test(codec, openssh_bytes);
    tcase_add_test(codec, split_stream);
    tcase_add_test(codec, bad_bodies);
    tcase_add_test(codec, encode_bounds);
    suite_add_tcase(s, codec);
    tcase_add_test(path, ctlpath_tokens);
    tcase_add_test(path, ctlpath_hash_and_length);
    suite_add_tcase(s, path);
    return s;
}

CHECK_MAIN(mux_suite)
