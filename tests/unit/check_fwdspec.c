/*
 * check_fwdspec.c - unit tests for src/fwdspec.c.
 *
 * Parses `-L [bind_address:]port:host:hostport` specs (three and four
 * fields, "*" and empty binds, bracketed IPv6 on either side, host names,
 * listen port 0) and checks that malformed ones are refused with
 * SSHTUN_ERR_INVAL and a message naming what is wrong.  Also covers the
 * port parser and the ssh_config form "[bind:]port host:hostport".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/fwdspec.h"

#include "check_util.h"

/* Parse spec, asserting success, into *fs. */
static void parse_ok(const char *spec, struct fwdspec *fs)
{
    sshtun_error err = { 0, "" };
    int rc = fwdspec_parse_local(spec, fs, &err);

    ck_assert_msg(rc == 0, "'%s' refused: %s", spec, err.msg);
}

/* Parse spec, asserting SSHTUN_ERR_INVAL with a message containing want. */
static void parse_bad(const char *spec, const char *want)
{
    sshtun_error err = { 0, "" };
    struct fwdspec fs;
    int rc = fwdspec_parse_local(spec, &fs, &err);

    check_error(spec, rc, &err, SSHTUN_ERR_INVAL,
                "Bad local forwarding specification");
    check_error(spec, rc, &err, SSHTUN_ERR_INVAL, want);
}

/* A string of n copies of c (caller frees). */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    ck_assert_ptr_nonnull(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(unix_socket_forms)
{
    struct fwdspec fs;

    parse_ok("8080:/run/app.sock", &fs);
    ck_assert_int_eq(fs.listen_port, 8080);
    ck_assert_str_eq(fs.target_path, "/run/app.sock");
    ck_assert_str_eq(fs.listen_path, "");
    parse_ok("127.0.0.1:8080:/run/app.sock", &fs);
    ck_assert_int_eq(fs.has_bind, 1);
    ck_assert_str_eq(fs.bind, "127.0.0.1");
    ck_assert_str_eq(fs.target_path, "/run/app.sock");
    parse_ok("/tmp/local.sock:db:5432", &fs);
    ck_assert_str_eq(fs.listen_path, "/tmp/local.sock");
    ck_assert_str_eq(fs.host, "db");
    ck_assert_int_eq(fs.port, 5432);
    parse_ok("/tmp/a.sock:/run/b.sock", &fs);
    ck_assert_str_eq(fs.listen_path, "/tmp/a.sock");
    ck_assert_str_eq(fs.target_path, "/run/b.sock");
    parse_bad("/tmp/a.sock", "expected host:hostport or a socket path");
    parse_bad("/tmp/a.sock:db", "expected host:hostport or a socket path");
    parse_bad("/tmp/a.sock:db:0", "bad port");
    parse_bad("x:/run/b.sock", "bad port");
    {
        char *longp = repeat('a', 200);
        char spec[300];
        longp[0] = '/';
        snprintf(spec, sizeof spec, "80:%s", longp);
        parse_bad(spec, "socket path longer than");
        free(longp);
    }
}
END_TEST

START_TEST(three_fields)
{
    struct fwdspec fs;

    parse_ok("8080:example.com:80", &fs);
    ck_assert_int_eq(fs.has_bind, 0);
    ck_assert_str_eq(fs.bind, "");
    ck_assert_int_eq(fs.listen_port, 8080);
    ck_assert_str_eq(fs.host, "example.com");
    ck_assert_int_eq(fs.port, 80);
}
END_TEST

START_TEST(four_fields)
{
    struct fwdspec fs;

    parse_ok("127.0.0.2:1234:10.0.0.1:5432", &fs);
    ck_assert_int_eq(fs.has_bind, 1);
    ck_assert_str_eq(fs.bind, "127.0.0.2");
    ck_assert_int_eq(fs.listen_port, 1234);
    ck_assert_str_eq(fs.host, "10.0.0.1");
    ck_assert_int_eq(fs.port, 5432);
}
END_TEST

START_TEST(star_and_empty_bind)
{
    struct fwdspec fs;

    parse_ok("*:8080:localhost:80", &fs);
    ck_assert_int_eq(fs.has_bind, 1);
    ck_assert_str_eq(fs.bind, "*");
    ck_assert_int_eq(fs.listen_port, 8080);

    parse_ok(":8081:localhost:81", &fs);
    ck_assert_int_eq(fs.has_bind, 1);
    ck_assert_str_eq(fs.bind, "");
    ck_assert_int_eq(fs.listen_port, 8081);
    ck_assert_str_eq(fs.host, "localhost");
    ck_assert_int_eq(fs.port, 81);
}
END_TEST

START_TEST(ipv6_brackets)
{
    struct fwdspec fs;

    parse_ok("[::1]:8080:[fe80::1]:80", &fs);
    ck_assert_int_eq(fs.has_bind, 1);
    ck_assert_str_eq(fs.bind, "::1");
    ck_assert_int_eq(fs.listen_port, 8080);
    ck_assert_str_eq(fs.host, "fe80::1");
    ck_assert_int_eq(fs.port, 80);

    parse_ok("9000:[2001:db8::42]:443", &fs);
    ck_assert_int_eq(fs.has_bind, 0);
    ck_assert_int_eq(fs.listen_port, 9000);
    ck_assert_str_eq(fs.host, "2001:db8::42");
    ck_assert_int_eq(fs.port, 443);

    parse_ok("[::]:22:host:22", &fs);
    ck_assert_str_eq(fs.bind, "::");
}
END_TEST

START_TEST(host_names)
{
    struct fwdspec fs;

    parse_ok("2000:db-1.internal.example.org:5432", &fs);
    ck_assert_str_eq(fs.host, "db-1.internal.example.org");
    parse_ok("localhost:2001:web_2:8000", &fs);
    ck_assert_str_eq(fs.bind, "localhost");
    ck_assert_str_eq(fs.host, "web_2");
    ck_assert_int_eq(fs.port, 8000);
}
END_TEST

START_TEST(port_limits)
{
    struct fwdspec fs;

    parse_ok("0:host:80", &fs);             /* 0: pick a free port */
    ck_assert_int_eq(fs.listen_port, 0);
    parse_ok("65535:host:65535", &fs);
    ck_assert_int_eq(fs.listen_port, 65535);
    ck_assert_int_eq(fs.port, 65535);
    parse_ok("1:host:1", &fs);
    ck_assert_int_eq(fs.listen_port, 1);
    ck_assert_int_eq(fs.port, 1);
}
END_TEST

START_TEST(longest_host)
{
    struct fwdspec fs;
    char *host = repeat('h', FWD_HOST_MAX - 1);
    char spec[FWD_HOST_MAX + 32];

    snprintf(spec, sizeof spec, "80:%s:80", host);
    parse_ok(spec, &fs);
    ck_assert_str_eq(fs.host, host);
    free(host);
}
END_TEST

START_TEST(missing_fields)
{
    parse_bad("", "empty");
    parse_bad(NULL, "empty");
    parse_bad("8080", "expected [bind_address:]port:host:hostport");
    parse_bad("8080:host", "expected [bind_address:]port:host:hostport");
}
END_TEST

START_TEST(five_fields)
{
    parse_bad("a:1:b:2:c", "too many fields");
    parse_bad("a:1:b:2:3", "too many fields");
}
END_TEST

START_TEST(bad_ports)
{
    parse_bad("65536:host:80", "bad port '65536'");
    parse_bad("8080:host:65536", "bad port '65536'");
    parse_bad("-1:host:80", "bad port '-1'");
    parse_bad("8080:host:-1", "bad port '-1'");
    parse_bad("abc:host:80", "bad port 'abc'");
    parse_bad("8080:host:abc", "bad port 'abc'");
    parse_bad(":host:80", "bad port ''");
    parse_bad("8080:host:", "bad port ''");
    parse_bad("8080:host:0", "bad port '0'");   /* target port 0 */
    parse_bad("bind:80x:host:80", "bad port '80x'");
    parse_bad("100000:host:80", "bad port '100000'");
}
END_TEST

START_TEST(bad_brackets)
{
    parse_bad("[::1:8080:host:80", "unmatched");
    parse_bad("8080:[fe80::1:80", "unmatched");
    parse_bad("8080:fe80::1]:80", "unmatched");
    parse_bad("[::1]x:8080:host:80", "unmatched");
}
END_TEST

START_TEST(bare_ipv6)
{
    parse_bad("::1:8080:host:80", "IPv6 addresses must be in brackets");
    parse_bad("8080:fe80::1:80", "IPv6 addresses must be in brackets");
    parse_bad("2001:db8::1:8080:host:80",
              "IPv6 addresses must be in brackets");
}
END_TEST

START_TEST(empty_host)
{
    parse_bad("8080::80", "empty host");
    parse_bad("bind:8080::80", "empty host");
    parse_bad("8080:[]:80", "empty host");
}
END_TEST

START_TEST(overlong_host)
{
    char *host = repeat('h', FWD_HOST_MAX);
    char spec[FWD_HOST_MAX + 32];

    snprintf(spec, sizeof spec, "80:%s:80", host);
    parse_bad(spec, "longer than 255");
    snprintf(spec, sizeof spec, "[%s]:80:host:80", host);
    parse_bad(spec, "longer than 255");
    free(host);
}
END_TEST

START_TEST(null_err_allowed)
{
    struct fwdspec fs;

    ck_assert_int_eq(fwdspec_parse_local("x", &fs, NULL), SSHTUN_ERR_INVAL);
    ck_assert_int_eq(fwdspec_parse_local("1:h:2", &fs, NULL), 0);
}
END_TEST

START_TEST(port_parser)
{
    ck_assert_int_eq(fwdspec_port("0"), 0);
    ck_assert_int_eq(fwdspec_port("22"), 22);
    ck_assert_int_eq(fwdspec_port("00022"), 22);
    ck_assert_int_eq(fwdspec_port("65535"), 65535);
    ck_assert_int_eq(fwdspec_port("65536"), -1);
    ck_assert_int_eq(fwdspec_port("000022"), -1);
    ck_assert_int_eq(fwdspec_port(""), -1);
    ck_assert_int_eq(fwdspec_port(NULL), -1);
    ck_assert_int_eq(fwdspec_port("-1"), -1);
    ck_assert_int_eq(fwdspec_port("+1"), -1);
    ck_assert_int_eq(fwdspec_port(" 1"), -1);
    ck_assert_int_eq(fwdspec_port("1 "), -1);
    ck_assert_int_eq(fwdspec_port("0x10"), -1);
}
END_TEST

START_TEST(config_form)
{
    char buf[600];
    sshtun_error err = { 0, "" };

    ck_assert_int_eq(fwdspec_from_config("8080 host:80", buf, sizeof buf,
                                         &err), 0);
    ck_assert_str_eq(buf, "8080:host:80");
    ck_assert_int_eq(fwdspec_from_config("127.0.0.1:8080 \t host:80", buf,
                                         sizeof buf, &err), 0);
    ck_assert_str_eq(buf, "127.0.0.1:8080:host:80");
    ck_assert_int_eq(fwdspec_from_config("[::1]:8080 [fe80::1]:80", buf,
                                         sizeof buf, &err), 0);
    ck_assert_str_eq(buf, "[::1]:8080:[fe80::1]:80");
}
END_TEST

START_TEST(config_form_bad)
{
    char buf[600];
    sshtun_error err = { 0, "" };

    ck_assert_int_eq(fwdspec_from_config("8080", buf, sizeof buf, &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "Bad forwarding specification"));
    ck_assert_ptr_nonnull(strstr(err.msg, "port host:hostport"));
    ck_assert_int_eq(fwdspec_from_config("8080 host:80 extra", buf,
                                         sizeof buf, &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_int_eq(fwdspec_from_config(" host:80", buf, sizeof buf, &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_int_eq(fwdspec_from_config("8080 ", buf, sizeof buf, &err),
                     SSHTUN_ERR_INVAL);
    /* Result does not fit the buffer. */
    ck_assert_int_eq(fwdspec_from_config("8080 host:80", buf, 12, &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
}
END_TEST

/* The suite: good specs, bad specs, helpers. */
static Suite *fwdspec_suite(void)
{
    Suite *s = suite_create("fwdspec");
    TCase *good = tcase_create("good");
    TCase *bad = tcase_create("bad");
    TCase *misc = tcase_create("misc");

    tcase_add_test(good, three_fields);
    tcase_add_test(good, unix_socket_forms);
    tcase_add_test(good, four_fields);
    tcase_add_test(good, star_and_empty_bind);
    tcase_add_test(good, ipv6_brackets);
    tcase_add_test(good, host_names);
    tcase_add_test(good, port_limits);
    tcase_add_test(good, longest_host);
    suite_add_tcase(s, good);

    tcase_add_test(bad, missing_fields);
    tcase_add_test(bad, five_fields);
    tcase_add_test(bad, bad_ports);
    tcase_add_test(bad, bad_brackets);
    tcase_add_test(bad, bare_ipv6);
    tcase_add_test(bad, empty_host);
    tcase_add_test(bad, overlong_host);
    suite_add_tcase(s, bad);

    tcase_add_test(misc, null_err_allowed);
    tcase_add_test(misc, port_parser);
    tcase_add_test(misc, config_form);
    tcase_add_test(misc, config_form_bad);
    suite_add_tcase(s, misc);
    return s;
}

CHECK_MAIN(fwdspec_suite)
