/*
 * check_knownhosts_match.c - unit tests for src/engine/knownhosts_match.c.
 *
 * Lines: comments and blanks, plain entries, @revoked and
 * @cert-authority, unknown markers, the old RSA1 form and broken fields
 * refused, CR LF endings.  Host fields: names compared without regard to
 * case, `*` and `?`, "[host]:port", lists, negation that takes a host
 * out of a line whatever else matches, hashed names (made here as ssh
 * makes them).  Keys compared as blobs, types by name, names that may be
 * written literally, and bare key lines as in RevokedHostKeys.
 */
#include "config.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/knownhosts_match.h"

#include "check_util.h"

/* "AAAA" decodes to three zero bytes; this is a small fake key blob. */
static const unsigned char blob[] = "\0\0\0\x0bssh-ed25519";
#define BLOB_LEN (sizeof blob - 1)

/* base64 of blob, as a known_hosts line holds it. */
static const char *blob64(void)
{
    static char b64[64];

    EVP_EncodeBlock((unsigned char *)b64, blob, (int)BLOB_LEN);
    return b64;
}

/* Parse line, asserting the result. */
static struct kh_entry parse(const char *line, int want)
{
    struct kh_entry e;

    ck_assert_msg(knownhosts_match_parse(line, strlen(line), &e) == want,
                  "'%s' did not parse as %d", line, want);
    return e;
}

/* Whether hosts covers name, through a whole line. */
static int covers(const char *hosts, const char *name)
{
    char line[512];
    struct kh_entry e;

    snprintf(line, sizeof line, "%s ssh-ed25519 %s", hosts, blob64());
    ck_assert_int_eq(knownhosts_match_parse(line, strlen(line), &e), 1);
    return knownhosts_match_host(&e, name);
}

START_TEST(lines)
{
    char line[256];
    struct kh_entry e;

    parse("", 0);
    parse("   \t\n", 0);
    parse("# comment", 0);
    parse("  # indented comment", 0);
    snprintf(line, sizeof line, "host.example ssh-ed25519 %s comment here\r\n",
             blob64());
    e = parse(line, 1);
    ck_assert_int_eq(e.marker, KH_MARK_NONE);
    ck_assert_int_eq((int)e.hosts_len, 12);
    ck_assert(knownhosts_match_type(&e, "ssh-ed25519"));
    ck_assert(!knownhosts_match_type(&e, "ssh-ed2551"));
    ck_assert(!knownhosts_match_type(&e, "ssh-rsa"));
    ck_assert(knownhosts_match_key(&e, blob, BLOB_LEN));
    ck_assert(!knownhosts_match_key(&e, blob, BLOB_LEN - 1));
    ck_assert(!knownhosts_match_key(&e, (const unsigned char *)"xxxxxxxxxxxxxxx",
                                    BLOB_LEN));
    snprintf(line, sizeof line, "@revoked * ssh-ed25519 %s", blob64());
    ck_assert_int_eq(parse(line, 1).marker, KH_MARK_REVOKED);
    snprintf(line, sizeof line, "@cert-authority *.example ssh-ed25519 %s",
             blob64());
    ck_assert_int_eq(parse(line, 1).marker, KH_MARK_CA);
    snprintf(line, sizeof line, "@revoke * ssh-ed25519 %s", blob64());
    parse(line, -1);
    snprintf(line, sizeof line, "@revoked ssh-ed25519 %s", blob64());
    parse(line, -1);                /* the marker and no host field */
    parse("host 2048 35 1234567", -1);          /* RSA1 */
    parse("host ssh-ed25519", -1);
    parse("host", -1);
    parse("host ssh-ed25519 not*base64", -1);
    parse("host ssh-ed25519 AAA=A===", -1);
    parse("@", -1);
    /* Embedded NUL bytes end nothing: the length decides. */
    ck_assert_int_eq(knownhosts_match_parse("h\0 a AAAA", 9, &e), 1);
    ck_assert(!knownhosts_match_host(&e, "h"));
}
END_TEST

START_TEST(host_patterns)
{
    ck_assert(covers("gateway.example.com", "gateway.example.com"));
    ck_assert(covers("Gateway.Example.COM", "gateway.example.com"));
    ck_assert(!covers("gateway.example.com", "gateway.example.co"));
    ck_assert(covers("*.example.com", "a.b.example.com"));
    ck_assert(!covers("*.example.com", "example.com"));
    ck_assert(covers("db?.lan", "db1.lan"));
    ck_assert(!covers("db?.lan", "db12.lan"));
    ck_assert(covers("a,b,c", "b"));
    ck_assert(!covers("a,b,c", "d"));
    ck_assert(covers("[host]:2222", "[host]:2222"));
    ck_assert(!covers("[host]:2222", "host"));
    ck_assert(!covers("host", "[host]:2222"));
    ck_assert(covers("[*.lan]:*", "[x.lan]:22"));
    /* Negation takes a host out of the line. */
    ck_assert(covers("*.example.com,!bad.example.com", "good.example.com"));
    ck_assert(!covers("*.example.com,!bad.example.com", "bad.example.com"));
    ck_assert(!covers("!bad.example.com,*.example.com", "BAD.example.com"));
    ck_assert(!covers("!bad.example.com", "other"));
    ck_assert(!covers(",,", "x"));
    ck_assert(covers(",x,", "x"));
    ck_assert(!covers("!", "x"));
    ck_assert(covers("*", "anything"));
    /* Many stars cost nothing. */
    ck_assert(!covers("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}
END_TEST

/* "|1|salt|hmac" for name, as ssh-keygen -H writes it. */
static void hashed(const char *name, char *out, size_t size)
{
    unsigned char salt[20], mac[20], s64[32], m64[32];
    unsigned int len = sizeof mac;

    for (int i = 0; i < 20; i++)
        salt[i] = (unsigned char)(i * 7 + 1);
    HMAC(EVP_sha1(), salt, sizeof salt, (const unsigned char *)name,
         strlen(name), mac, &len);
    EVP_EncodeBlock(s64, salt, sizeof salt);
    EVP_EncodeBlock(m64, mac, sizeof mac);
    snprintf(out, size, "|1|%s|%s", s64, m64);
}

START_TEST(hashed_names)
{
    char h[128];

    hashed("[127.0.0.1]:2222", h, sizeof h);
    ck_assert(covers(h, "[127.0.0.1]:2222"));
    ck_assert(!covers(h, "[127.0.0.1]:2223"));
    ck_assert(!covers(h, "127.0.0.1"));
    ck_assert(!covers("|1|AAAA", "x"));
    ck_assert(!covers("|1||", "x"));
    ck_assert(!covers("|1|AAAA|AAAA", "x"));
    ck_assert(!covers("|1|!!!!|AAAA", "x"));
}
END_TEST

START_TEST(names_to_write)
{
    ck_assert(knownhosts_match_name_ok("gateway.example.com"));
    ck_assert(knownhosts_match_name_ok("[127.0.0.1]:2222"));
    ck_assert(knownhosts_match_name_ok("[fe80::1%eth0]:22"));
    ck_assert(!knownhosts_match_name_ok(""));
    ck_assert(!knownhosts_match_name_ok("*"));
    ck_assert(!knownhosts_match_name_ok("a*"));
    ck_assert(!knownhosts_match_name_ok("a?"));
    ck_assert(!knownhosts_match_name_ok("!a"));
    ck_assert(!knownhosts_match_name_ok("a,b"));
    ck_assert(!knownhosts_match_name_ok("a b"));
    ck_assert(!knownhosts_match_name_ok("a\nb ssh-ed25519 AAAA"));
    ck_assert(!knownhosts_match_name_ok("@revoked"));
    ck_assert(!knownhosts_match_name_ok("|1|x|y"));
    ck_assert(!knownhosts_match_name_ok("#x"));
    ck_assert(!knownhosts_match_name_ok("gw$(id)"));
    ck_assert(!knownhosts_match_name_ok("caf\xc3\xa9"));
}
END_TEST

START_TEST(key_lines)
{
    char line[256];
    struct kh_entry e;

    snprintf(line, sizeof line, "ssh-ed25519 %s old server\n", blob64());
    ck_assert_int_eq(knownhosts_match_parse_key(line, strlen(line), &e), 1);
    ck_assert(e.hosts == NULL);
    ck_assert(knownhosts_match_key(&e, blob, BLOB_LEN));
    ck_assert(!knownhosts_match_host(&e, "x"));
    ck_assert_int_eq(knownhosts_match_parse_key("# c", 3, &e), 0);
    ck_assert_int_eq(knownhosts_match_parse_key("ssh-ed25519", 11, &e), -1);
}
END_TEST

static Suite *khm_suite(void)
{
    Suite *s = suite_create("knownhosts_match");
    TCase *t = tcase_create("match");

    tcase_add_test(t, lines);
    tcase_add_test(t, host_patterns);
    tcase_add_test(t, hashed_names);
    tcase_add_test(t, names_to_write);
    tcase_add_test(t, key_lines);
    suite_add_tcase(s, t);
    return s;
}

CHECK_MAIN(khm_suite)
