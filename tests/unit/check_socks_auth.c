/*
 * check_socks_auth.c - unit tests for src/socks_auth.c.
 *
 * Parses SocksAuthFile text: "user:password" lines with '#' comments,
 * blank lines and CRLF endings, a password that itself holds ':', and the
 * refusals (no colon, empty or overlong user or password, no entries at
 * all) with messages naming path:line.  Checks credentials: the right
 * pair only, never a prefix or an extension of a stored user or password.
 * Loads real files from a private temporary directory: one readable by
 * group or others is refused, 0600 and 0400 are accepted, a missing file
 * is an I/O error, an oversized one is refused.  Freeing wipes the list
 * and may repeat.  The failed-password throttle (socks_throttle.c), with
 * explicit clocks: an address is refused after SOCKS_AUTH_MAX_FAILURES,
 * others are not; failures older than the window no longer count, a good
 * password forgets them, and a full table gives up its stalest address.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socks/socks_auth.h"
#include "socks/socks_throttle.h"

#include "check_util.h"

/* Parse text as "creds", asserting success. */
static void parse_ok(struct socks_creds *c, const char *text)
{
    sshtun_error err = { 0, "" };

    ck_assert_msg(socks_auth_parse(c, text, "creds", &err) == 0,
                  "refused: %s", err.msg);
}

/* Parse text as "creds", asserting SSHTUN_ERR_INVAL with a message
 * containing want and an empty list left behind. */
static void parse_bad(const char *text, const char *want)
{
    struct socks_creds c = { 99, NULL };
    sshtun_error err = { 0, "" };
    int rc = socks_auth_parse(&c, text, "creds", &err);

    check_error(text, rc, &err, SSHTUN_ERR_INVAL, want);
    ck_assert_int_eq(c.n, 0);
    ck_assert_ptr_null(c.v);
}

/* n copies of ch followed by tail, in buf. */
static const char *fill(char *buf, char ch, size_t n, const char *tail)
{
    memset(buf, ch, n);
    strcpy(buf + n, tail);
    return buf;
}

/* A private temporary directory (caller removes it). */
static char *temp_dir(void)
{
    static char dir[256];
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/check_socks_auth.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

/* Write text to dir/name with exactly the given mode; returns the path. */
static const char *write_file(const char *dir, const char *name,
                              const char *text, mode_t mode)
{
    static char path[512];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), fp), strlen(text));
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
    return path;
}

/* -------------------------------------------------------------- parse */

START_TEST(parse_lines)
{
    struct socks_creds c;

    parse_ok(&c, "alice:secret\nbob:hunter2\n");
    ck_assert_int_eq(c.n, 2);
    ck_assert_str_eq(c.v[0].user, "alice");
    ck_assert_str_eq(c.v[0].pass, "secret");
    ck_assert_str_eq(c.v[1].user, "bob");
    ck_assert_str_eq(c.v[1].pass, "hunter2");
    socks_auth_free(&c);

    /* No newline at the end. */
    parse_ok(&c, "carol:pw");
    ck_assert_int_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].pass, "pw");
    socks_auth_free(&c);
}
END_TEST

START_TEST(parse_comments)
{
    struct socks_creds c;

    parse_ok(&c, "# SOCKS users\n\n#bob:old\nalice:pw\n\n# end\n");
    ck_assert_int_eq(c.n, 1);
    ck_assert_str_eq(c.v[0].user, "alice");
    ck_assert(!socks_auth_check(&c, "#bob", "old"));
    socks_auth_free(&c);
}
END_TEST

START_TEST(parse_crlf)
{
    struct socks_creds c;

    parse_ok(&c, "alice:pw\r\n\r\n# note\r\nbob:x\r\n");
    ck_assert_int_eq(c.n, 2);
    ck_assert_str_eq(c.v[0].pass, "pw");
    ck_assert_str_eq(c.v[1].pass, "x");
    ck_assert(socks_auth_check(&c, "alice", "pw"));
    ck_assert(!socks_auth_check(&c, "alice", "pw\r"));
    socks_auth_free(&c);
}
END_TEST

START_TEST(parse_colon_in_password)
{
    struct socks_creds c;

    parse_ok(&c, "alice:pa:ss:\n");
    ck_assert_str_eq(c.v[0].user, "alice");
    ck_assert_str_eq(c.v[0].pass, "pa:ss:");
    ck_assert(socks_auth_check(&c, "alice", "pa:ss:"));
    ck_assert(!socks_auth_check(&c, "alice:pa", "ss:"));
    socks_auth_free(&c);
}
END_TEST

START_TEST(parse_empty_password)
{
    /* Refused: a forgotten password must not let the user in with none. */
    parse_bad("guest:\n", "creds:1: expected user:password");
    parse_bad("alice:pw\nguest:\r\n", "creds:2:");
}
END_TEST

START_TEST(parse_errors)
{
    parse_bad("alice\n", "creds:1: expected user:password");
    parse_bad("# users\n\nalice:pw\nbob\n", "creds:4:");
    parse_bad("alice:pw\r\nbob\r\n", "creds:2:");
    parse_bad(":pw\n", "creds:1:");
    parse_bad("alice:pw\n:\n", "creds:2:");
    parse_bad(" # indented comment\n", "creds:1:");
    /* Nothing to use. */
    parse_bad("", "creds: no user:password lines");
    parse_bad("\n\n", "creds: no user:password lines");
    parse_bad("# only a comment\n#x:y\n", "creds: no user:password lines");
}
END_TEST

START_TEST(parse_lengths)
{
    static char text[700], user[300], pass[300];
    struct socks_creds c;

    /* 255 bytes each: the most. */
    fill(user, 'u', 255, "");
    fill(pass, 'p', 255, "");
    snprintf(text, sizeof text, "%s:%s\n", user, pass);
    parse_ok(&c, text);
    ck_assert_str_eq(c.v[0].user, user);
    ck_assert_str_eq(c.v[0].pass, pass);
    ck_assert(socks_auth_check(&c, user, pass));
    socks_auth_free(&c);

    /* 256 bytes: too long, for either field. */
    snprintf(text, sizeof text, "ok:pw\n%s:%s\n", fill(user, 'u', 256, ""),
             pass);
    parse_bad(text, "creds:2:");
    fill(user, 'u', 255, "");
    snprintf(text, sizeof text, "%s:%s\n", user, fill(pass, 'p', 256, ""));
    parse_bad(text, "creds:1:");
}
END_TEST

START_TEST(parse_many)
{
    static char text[20000];
    char line[64], user[32], pass[32];
    struct socks_creds c;

    text[0] = '\0';
    for (int i = 0; i < 500; i++) {
        snprintf(line, sizeof line, "user%d:pass%d\n", i, i * 7);
        strcat(text, line);
    }
    parse_ok(&c, text);
    ck_assert_int_eq(c.n, 500);
    for (int i = 0; i < 500; i += 37) {
        snprintf(user, sizeof user, "user%d", i);
        snprintf(pass, sizeof pass, "pass%d", i * 7);
        ck_assert_str_eq(c.v[i].user, user);
        ck_assert(socks_auth_check(&c, user, pass));
    }
    ck_assert(socks_auth_check(&c, "user499", "pass3493"));
    ck_assert(!socks_auth_check(&c, "user499", "pass0"));
    socks_auth_free(&c);
}
END_TEST

/* -------------------------------------------------------------- check */

START_TEST(check_pairs)
{
    struct socks_creds c;

    parse_ok(&c, "alice:secret\nbob:hunter2\n");
    ck_assert_int_eq(socks_auth_check(&c, "alice", "secret"), 1);
    ck_assert_int_eq(socks_auth_check(&c, "bob", "hunter2"), 1);
    /* Wrong password, wrong user, crossed pairs, case. */
    ck_assert_int_eq(socks_auth_check(&c, "alice", "hunter2"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "bob", "secret"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "carol", "secret"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "Alice", "secret"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alice", "Secret"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "", ""), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alice", ""), 0);
    socks_auth_free(&c);
}
END_TEST

START_TEST(check_prefix_and_longer)
{
    struct socks_creds c;
    char big[400];

    parse_ok(&c, "alice:secret\n");
    /* Prefixes never match. */
    ck_assert_int_eq(socks_auth_check(&c, "alice", "secre"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alice", "s"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alic", "secret"), 0);
    /* Nor anything longer. */
    ck_assert_int_eq(socks_auth_check(&c, "alice", "secret1"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alice", "secret "), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alicex", "secret"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "alice",
                                      fill(big, 'x', 399, "")), 0);
    ck_assert_int_eq(socks_auth_check(&c, fill(big, 'x', 399, ""),
                                      "secret"), 0);
    /* A 255-byte password extended to 256 must not match either. */
    socks_auth_free(&c);
    {
        static char text[600], pass[300];
        fill(pass, 'p', 255, "");
        snprintf(text, sizeof text, "u:%s\n", pass);
        parse_ok(&c, text);
        ck_assert_int_eq(socks_auth_check(&c, "u", pass), 1);
        ck_assert_int_eq(socks_auth_check(&c, "u", fill(pass, 'p', 256,
                                                        "")), 0);
        ck_assert_int_eq(socks_auth_check(&c, "u", fill(pass, 'p', 254,
                                                        "")), 0);
        socks_auth_free(&c);
    }
}
END_TEST

START_TEST(check_empty_list)
{
    struct socks_creds c = { 0, NULL };

    ck_assert_int_eq(socks_auth_check(&c, "alice", "secret"), 0);
    ck_assert_int_eq(socks_auth_check(&c, "", ""), 0);
}
END_TEST

/* --------------------------------------------------------------- load */

START_TEST(load_modes)
{
    static const mode_t refused[] = { 0644, 0640, 0604, 0660, 0606, 0666,
                                      0610, 0601 };
    char *dir = temp_dir();
    struct socks_creds c;
    sshtun_error err = { 0, "" };
    const char *path;
    char want[32];

    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        path = write_file(dir, "creds", "alice:secret\n", refused[i]);
        c.n = 99;
        c.v = NULL;
        ck_assert_int_eq(socks_auth_load(&c, path, &err), SSHTUN_ERR_INVAL);
        ck_assert_msg(strstr(err.msg, path), "'%s' lacks the path", err.msg);
        ck_assert_msg(strstr(err.msg, "chmod 600"), "'%s'", err.msg);
        snprintf(want, sizeof want, "mode %03o", (unsigned)refused[i]);
        ck_assert_msg(strstr(err.msg, want), "'%s' lacks '%s'", err.msg,
                      want);
        ck_assert_ptr_null(c.v);
        ck_assert_int_eq(unlink(path), 0);
    }

    path = write_file(dir, "creds", "# users\nalice:secret\nbob:pw\n", 0600);
    ck_assert_msg(socks_auth_load(&c, path, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(c.n, 2);
    ck_assert(socks_auth_check(&c, "alice", "secret"));
    ck_assert(socks_auth_check(&c, "bob", "pw"));
    socks_auth_free(&c);
    ck_assert_int_eq(unlink(path), 0);

    path = write_file(dir, "ro", "alice:secret\n", 0400);
    ck_assert_msg(socks_auth_load(&c, path, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(c.n, 1);
    socks_auth_free(&c);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(load_errors)
{
    char *dir = temp_dir();
    struct socks_creds c = { 0, NULL };
    sshtun_error err = { 0, "" };
    char missing[512], want[600];
    const char *path;

    snprintf(missing, sizeof missing, "%s/absent", dir);
    ck_assert_int_eq(socks_auth_load(&c, missing, &err), SSHTUN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));

    /* Bad content in a private file: named by path and line. */
    path = write_file(dir, "creds", "alice:secret\nnocolon\n", 0600);
    ck_assert_int_eq(socks_auth_load(&c, path, &err), SSHTUN_ERR_INVAL);
    snprintf(want, sizeof want, "%s:2:", path);
    ck_assert_msg(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
    ck_assert_int_eq(c.n, 0);
    ck_assert_ptr_null(c.v);
    ck_assert_int_eq(unlink(path), 0);

    path = write_file(dir, "empty", "", 0600);
    ck_assert_int_eq(socks_auth_load(&c, path, &err), SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "no user:password lines"));
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(load_size_limit)
{
    /* Up to 1 MiB is read; one byte more is refused, not cut short. */
    const size_t max = 1024 * 1024;
    char *dir = temp_dir(), *text = malloc(max + 2);
    struct socks_creds c = { 0, NULL };
    sshtun_error err = { 0, "" };
    const char *path;

    ck_assert_ptr_nonnull(text);
    memset(text, '#', max + 1);
    memcpy(text, "alice:secret\n", 13);
    text[max] = '\0';
    path = write_file(dir, "big", text, 0600);
    ck_assert_msg(socks_auth_load(&c, path, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(c.n, 1);
    socks_auth_free(&c);
    ck_assert_int_eq(unlink(path), 0);

    text[max] = '#';
    text[max + 1] = '\0';
    path = write_file(dir, "big", text, 0600);
    ck_assert_int_eq(socks_auth_load(&c, path, &err), SSHTUN_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, "larger than"), "'%s'", err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(c.n, 0);
    ck_assert_ptr_null(c.v);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    free(text);
}
END_TEST

/* --------------------------------------------------------------- free */

START_TEST(free_twice)
{
    struct socks_creds c = { 0, NULL };

    socks_auth_free(&c);               /* nothing loaded: fine */
    parse_ok(&c, "alice:secret\n");
    socks_auth_free(&c);
    ck_assert_int_eq(c.n, 0);
    ck_assert_ptr_null(c.v);
    ck_assert_int_eq(socks_auth_check(&c, "alice", "secret"), 0);
    socks_auth_free(&c);               /* again: fine */
}
END_TEST

/* The suite: parsing, checking, loading, freeing. */
/* ------------------------------------------------------- throttle */

START_TEST(throttle_blocks_after_max)
{
    struct socks_throttle *t = socks_throttle_new();
    int64_t now = 1000000;

    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < SOCKS_AUTH_MAX_FAILURES; i++) {
        ck_assert(!socks_throttle_blocked(t, "192.0.2.1", now));
        socks_throttle_failed(t, "192.0.2.1", now + i);
    }
    ck_assert(socks_throttle_blocked(t, "192.0.2.1", now + 100));
    ck_assert(!socks_throttle_blocked(t, "192.0.2.2", now + 100));
    /* A window after the last attempt, the address may try again. */
    ck_assert(!socks_throttle_blocked(t, "192.0.2.1",
                                      now + 9 + SOCKS_AUTH_FAIL_WINDOW_MS));
    socks_throttle_failed(t, "192.0.2.1", now + 10 + SOCKS_AUTH_FAIL_WINDOW_MS);
    ck_assert(!socks_throttle_blocked(t, "192.0.2.1",
                                      now + 11 + SOCKS_AUTH_FAIL_WINDOW_MS));
    socks_throttle_free(t);
}
END_TEST

START_TEST(throttle_success_forgets)
{
    struct socks_throttle *t = socks_throttle_new();

    for (int i = 0; i < SOCKS_AUTH_MAX_FAILURES - 1; i++)
        socks_throttle_failed(t, "::1", 5);
    socks_throttle_succeeded(t, "::1");
    socks_throttle_failed(t, "::1", 6);
    ck_assert(!socks_throttle_blocked(t, "::1", 7));
    socks_throttle_free(t);
}
END_TEST

START_TEST(throttle_table_bounded)
{
    struct socks_throttle *t = socks_throttle_new();
    char addr[32];

    for (int i = 0; i < SOCKS_AUTH_MAX_FAILURES; i++)
        socks_throttle_failed(t, "198.51.100.7", 10);
    /* A flood of new addresses, each newer than the first one. */
    for (int i = 0; i < SOCKS_THROTTLE_SLOTS; i++) {
        snprintf(addr, sizeof addr, "10.0.%d.%d", i / 256, i % 256);
        socks_throttle_failed(t, addr, 20 + i);
    }
    /* The stalest entry gave its place up; the newest are all there. */
    ck_assert(!socks_throttle_blocked(t, "198.51.100.7", 30));
    for (int i = 0; i < SOCKS_AUTH_MAX_FAILURES - 1; i++)
        socks_throttle_failed(t, "10.0.3.255", 5000);
    ck_assert(socks_throttle_blocked(t, "10.0.3.255", 5001));
    socks_throttle_free(t);
}
END_TEST

static Suite *socks_auth_suite(void)
{
    Suite *s = suite_create("socks_auth");
    TCase *parse = tcase_create("parse");
    TCase *check = tcase_create("check");
    TCase *load = tcase_create("load");
    TCase *release = tcase_create("free");
    TCase *throttle = tcase_create("throttle");

    tcase_add_test(parse, parse_lines);
    tcase_add_test(parse, parse_comments);
    tcase_add_test(parse, parse_crlf);
    tcase_add_test(parse, parse_colon_in_password);
    tcase_add_test(parse, parse_empty_password);
    tcase_add_test(parse, parse_errors);
    tcase_add_test(parse, parse_lengths);
    tcase_add_test(parse, parse_many);
    suite_add_tcase(s, parse);

    tcase_add_test(check, check_pairs);
    tcase_add_test(check, check_prefix_and_longer);
    tcase_add_test(check, check_empty_list);
    suite_add_tcase(s, check);

    tcase_add_test(load, load_modes);
    tcase_add_test(load, load_errors);
    tcase_add_test(load, load_size_limit);
    suite_add_tcase(s, load);

    tcase_add_test(release, free_twice);
    suite_add_tcase(s, release);

    tcase_add_test(throttle, throttle_blocks_after_max);
    tcase_add_test(throttle, throttle_success_forgets);
    tcase_add_test(throttle, throttle_table_bounded);
    suite_add_tcase(s, throttle);
    return s;
}

CHECK_MAIN(socks_auth_suite)
