/*
 * check_agentmsg.c - unit tests for the ssh-agent messages (agentmsg.c)
 * and the wire encoding under them (sshbuf.c).
 *
 * Answers are built here as an agent would send them; the parsers must
 * read them whole, keep comments printable, cap the number of keys and
 * the size of blobs, report SSH_AGENT_FAILURE as a refusal, and refuse
 * every truncation and every lie about a length without reading past the
 * buffer (each input is an exact-size heap copy, so valgrind and ASan
 * see any overread).  Framing must wait for a message that arrives in
 * pieces.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/agentmsg.h"
#include "engine/sshbuf.h"

#include "check_util.h"

/* An identities answer with n keys named key<i>, comment c<i>. */
static size_t build_ids(uint8_t *buf, size_t size, int n, size_t blob_len)
{
    struct sshbuf_writer w;
    uint8_t blob[AGENTMSG_BLOB_MAX + 10];

    memset(blob, 'b', sizeof blob);
    sshbuf_writer_init(&w, buf, size);
    sshbuf_put_u8(&w, AGENT_IDENTITIES_ANSWER);
    sshbuf_put_u32(&w, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        char c[32];
        snprintf(c, sizeof c, "c%d\x1b[2J", i);
        sshbuf_put_string(&w, blob, blob_len);
        sshbuf_put_cstring(&w, c);
    }
    ck_assert(!w.overflow);
    return w.len;
}

/* Parse an exact-size copy of msg. */
static int parse_ids(const uint8_t *msg, size_t len, struct agent_ids *ids)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    memcpy(copy, msg, len);
    rc = agentmsg_parse_identities(copy, len, ids);
    free(copy);
    return rc;
}

START_TEST(identities_parse)
{
    static uint8_t buf[200000];
    struct agent_ids *ids = calloc(1, sizeof *ids);
    size_t len = build_ids(buf, sizeof buf, 3, 50);

    ck_assert_int_eq(parse_ids(buf, len, ids), 0);
    ck_assert_int_eq(ids->n, 3);
    ck_assert_uint_eq(ids->v[2].blob_len, 50);
    ck_assert_str_eq(ids->v[1].comment, "c1[2J");
    agentmsg_free_identities(ids);
    /* Caps: keys past the maximum and oversized blobs are left out. */
    len = build_ids(buf, sizeof buf, AGENTMSG_IDS_MAX + 5, 10);
    ck_assert_int_eq(parse_ids(buf, len, ids), 0);
    ck_assert_int_eq(ids->n, AGENTMSG_IDS_MAX);
    agentmsg_free_identities(ids);
    len = build_ids(buf, sizeof buf, 2, AGENTMSG_BLOB_MAX + 1);
    ck_assert_int_eq(parse_ids(buf, len, ids), 0);
    ck_assert_int_eq(ids->n, 0);
    free(ids);
}
END_TEST

START_TEST(identities_truncated_or_lying)
{
    static uint8_t buf[4096];
    struct agent_ids *ids = calloc(1, sizeof *ids);
    size_t len = build_ids(buf, sizeof buf, 3, 40);
    uint8_t failure = AGENT_FAILURE;

    for (size_t n = 0; n < len; n++)
        ck_assert_int_lt(parse_ids(buf, n, ids), 0);
    /* A count larger than what follows. */
    sshbuf_store_u32(buf + 1, 4);
    ck_assert_int_eq(parse_ids(buf, len, ids), AGENTMSG_BAD);
    /* A blob length past the end. */
    sshbuf_store_u32(buf + 1, 3);
    sshbuf_store_u32(buf + 5, 0xfffffff0u);
    ck_assert_int_eq(parse_ids(buf, len, ids), AGENTMSG_BAD);
    ck_assert_int_eq(parse_ids(&failure, 1, ids), AGENTMSG_REFUSED);
    buf[0] = 99;
    ck_assert_int_eq(parse_ids(buf, len, ids), AGENTMSG_BAD);
    ck_assert_int_eq(ids->n, 0);
    free(ids);
}
END_TEST

/* A sign response whose signature is under alg. */
static size_t build_sig(uint8_t *buf, size_t size, const char *alg)
{
    struct sshbuf_writer w, inner;
    uint8_t whole[300];

    sshbuf_writer_init(&inner, whole, sizeof whole);
    sshbuf_put_cstring(&inner, alg);
    sshbuf_put_string(&inner, "SIGNATURE", 9);
    sshbuf_writer_init(&w, buf, size);
    sshbuf_put_u8(&w, AGENT_SIGN_RESPONSE);
    sshbuf_put_string(&w, whole, inner.len);
    return w.len;
}

START_TEST(signature_parse)
{
    uint8_t buf[400], *copy;
    const uint8_t *sig;
    size_t siglen, len = build_sig(buf, sizeof buf, "rsa-sha2-512");

    ck_assert_int_eq(agentmsg_parse_signature(buf, len, "rsa-sha2-512", &sig,
                                              &siglen), 0);
    ck_assert_uint_eq(siglen, 9);
    ck_assert(!memcmp(sig, "SIGNATURE", 9));
    /* An agent that ignores the flags answers ssh-rsa: refused. */
    len = build_sig(buf, sizeof buf, "ssh-rsa");
    ck_assert_int_eq(agentmsg_parse_signature(buf, len, "rsa-sha2-512", &sig,
                                              &siglen), AGENTMSG_BAD);
    len = build_sig(buf, sizeof buf, "rsa-sha2-256");
    for (size_t n = 0; n < len; n++) {
        copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        ck_assert_int_lt(agentmsg_parse_signature(copy, n, "rsa-sha2-256",
                                                  &sig, &siglen), 0);
        free(copy);
    }
    buf[0] = AGENT_FAILURE;
    ck_assert_int_eq(agentmsg_parse_signature(buf, 1, "x", &sig, &siglen),
                     AGENTMSG_REFUSED);
}
END_TEST

START_TEST(requests)
{
    uint8_t req[5], big[100];
    struct sshbuf_reader r;
    const uint8_t *s;
    size_t slen;
    uint32_t v;
    uint8_t type;
    long n;

    ck_assert_uint_eq(agentmsg_identities_request(req), 5);
    ck_assert_int_eq(agentmsg_frame(req, 5), 5);
    n = agentmsg_sign_request(big, sizeof big, (const uint8_t *)"BLOB", 4,
                              (const uint8_t *)"DATA!", 5,
                              AGENT_RSA_SHA2_512);
    ck_assert_int_eq(n, 4 + 1 + 8 + 9 + 4);
    sshbuf_reader_init(&r, big, (size_t)n);
    ck_assert_int_eq(sshbuf_get_u32(&r, &v), 0);
    ck_assert_uint_eq(v, (uint32_t)n - 4);
    ck_assert_int_eq(sshbuf_get_u8(&r, &type), 0);
    ck_assert_uint_eq(type, AGENTC_SIGN_REQUEST);
    ck_assert_int_eq(sshbuf_get_string(&r, &s, &slen), 0);
    ck_assert(sshbuf_string_is(s, slen, "BLOB"));
    ck_assert_int_eq(sshbuf_get_string(&r, &s, &slen), 0);
    ck_assert(sshbuf_string_is(s, slen, "DATA!"));
    ck_assert_int_eq(sshbuf_get_u32(&r, &v), 0);
    ck_assert_uint_eq(v, AGENT_RSA_SHA2_512);
    ck_assert_uint_eq(sshbuf_left(&r), 0);
    ck_assert_int_eq(agentmsg_sign_request(big, 20, (const uint8_t *)"BLOB",
                                           4, (const uint8_t *)"DATA!", 5, 0),
                     -1);
}
END_TEST

START_TEST(framing)
{
    uint8_t buf[16] = { 0, 0, 0, 3, 12, 0, 0, 7 };

    for (size_t have = 0; have < 7; have++)
        ck_assert_int_eq(agentmsg_frame(buf, have), 0);
    ck_assert_int_eq(agentmsg_frame(buf, 7), 7);
    ck_assert_int_eq(agentmsg_frame(buf, 8), 7);
    sshbuf_store_u32(buf, 0);
    ck_assert_int_eq(agentmsg_frame(buf, 8), AGENTMSG_BAD);
    sshbuf_store_u32(buf, AGENTMSG_MAX + 1);
    ck_assert_int_eq(agentmsg_frame(buf, 4), AGENTMSG_BAD);
    sshbuf_store_u32(buf, AGENTMSG_MAX);
    ck_assert_int_eq(agentmsg_frame(buf, 8), 0);
}
END_TEST

START_TEST(mpint_encoding)
{
    uint8_t out[16];
    struct sshbuf_writer w;
    const uint8_t high[] = { 0, 0, 0x80, 1 }, zero[] = { 0, 0 };

    sshbuf_writer_init(&w, out, sizeof out);
    sshbuf_put_mpint(&w, high, sizeof high);
    ck_assert_uint_eq(w.len, 7);
    ck_assert(!memcmp(out, "\0\0\0\3\0\x80\1", 7));
    sshbuf_writer_init(&w, out, sizeof out);
    sshbuf_put_mpint(&w, zero, sizeof zero);
    ck_assert_uint_eq(w.len, 4);
    sshbuf_writer_init(&w, out, 5);
    sshbuf_put_mpint(&w, high, sizeof high);
    ck_assert(w.overflow);
}
END_TEST

/* The test suite. */
static Suite *suite(void)
{
    Suite *s = suite_create("agentmsg");
    TCase *t = tcase_create("core");

    tcase_add_test(t, identities_parse);
    tcase_add_test(t, identities_truncated_or_lying);
    tcase_add_test(t, signature_parse);
    tcase_add_test(t, requests);
    tcase_add_test(t, framing);
    tcase_add_test(t, mpint_encoding);
    suite_add_tcase(s, t);
    return s;
}

CHECK_MAIN(suite)
