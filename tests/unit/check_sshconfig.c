/*
 * check_sshconfig.c - unit tests for the ssh_config parser (sshconfig.c):
 * Host pattern matching with wildcards and negation, first value wins,
 * token expansion, quoting, "Key=value", ignored and unsupported
 * keywords, Match blocks, Include through the callback, and errors that
 * name file:line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/options.h"
#include "config/sshconfig.h"

#include "check_util.h"

static sshtun_options *o;
static char included[256];

/* Fresh options for each test. */
static void setup(void)
{
    o = sshtun_options_new();
    included[0] = '\0';
}

/* Free them. */
static void teardown(void)
{
    sshtun_options_free(o);
}

/* An Include callback that records the pattern and applies a fixed text. */
static int fake_include(struct sshconfig_ctx *ctx, const char *pattern,
                        int depth, sshtun_error *err)
{
    snprintf(included, sizeof included, "%s", pattern);
    return sshconfig_apply(ctx, "Port 2200\n", "inc.conf", depth, err);
}

/* Apply text for host; returns the result, err filled. */
static int apply(const char *text, const char *host, sshtun_error *err)
{
    struct sshconfig_ctx ctx = { o, host, fake_include, NULL, 0 };

    return sshconfig_apply(&ctx, text, "test.conf", 0, err);
}

START_TEST(host_patterns)
{
    ck_assert(sshconfig_host_matches("*", "anything"));
    ck_assert(sshconfig_host_matches("db-*", "db-main"));
    ck_assert(!sshconfig_host_matches("db-*", "web"));
    ck_assert(sshconfig_host_matches("web db-?", "db-1"));
    ck_assert(!sshconfig_host_matches("db-* !db-old", "db-old"));
    ck_assert(sshconfig_host_matches("db-* !db-old", "db-new"));
    ck_assert(!sshconfig_host_matches("!db-old", "web"));  /* only negated */
    ck_assert(sshconfig_host_matches("DB.Example.COM", "db.example.com"));
}
END_TEST

START_TEST(first_value_wins_and_blocks)
{
    sshtun_error err;

    ck_assert_int_eq(apply("Port 2222\nHost other\n  User nobody\n"
                           "Host myhost\n  User alice\n  Port 3333\n"
                           "Host *\n  User bob\n", "myhost", &err), 0);
    ck_assert_int_eq(o->port, 2222);
    ck_assert_str_eq(sshtun_options_get(o, "User", 0), "alice");
}
END_TEST

START_TEST(expansion_quotes_equals)
{
    sshtun_error err;

    ck_assert_int_eq(apply("Host web\n  HostName %h.internal\n"
                           "  IdentityFile \"/keys/my key %h\"\n"
                           "  ConnectTimeout=7\n", "web", &err), 0);
    ck_assert_str_eq(sshtun_options_get(o, "HostName", 0), "web.internal");
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile", 0),
                     "/keys/my key web");
    ck_assert_int_eq(o->connect_timeout, 7);
    setenv("HOME", "/home/tester", 1);
    setenv("USER", "bob", 1);
    ck_assert_int_eq(apply("IdentityFile %d/.ssh/id_%u_%%\n", "web", &err),
                     0);
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile", 1),
                     "/home/tester/.ssh/id_bob_%");
}
END_TEST

START_TEST(forwards_and_lists)
{
    sshtun_error err;

    ck_assert_int_eq(apply("LocalForward 8080 db:5432\n"
                           "LocalForward 127.0.0.1:8081 db:5433\n"
                           "DynamicForward 1080\n"
                           "RemoteForward 9000 localhost:22\n"
                           "UserKnownHostsFile /a /b\n"
                           "PermitRemoteOpen localhost:80  [::1]:*\n"
                           "HostKeyAlias gw-alias\n", "h", &err), 0);
    ck_assert_str_eq(sshtun_options_get(o, "PermitRemoteOpen", 0),
                     "localhost:80 [::1]:*");
    ck_assert_str_eq(sshtun_options_get(o, "HostKeyAlias", 0), "gw-alias");
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 0),
                     "8080:db:5432");
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 1),
                     "127.0.0.1:8081:db:5433");
    ck_assert_str_eq(sshtun_options_get(o, "RemoteForward", 0),
                     "9000:localhost:22");
    ck_assert_str_eq(sshtun_options_get(o, "UserKnownHostsFile", 0),
                     "/a /b");
}
END_TEST

START_TEST(ignored_unsupported_unknown)
{
    sshtun_error err;
    struct sshconfig_ctx ctx = { NULL, "h", NULL, NULL, 0 };

    ck_assert_int_eq(apply("ForwardAgent yes\nControlMaster auto\n"
                           "SendEnv LANG LC_*\nHashKnownHosts yes\n"
                           "GSSAPIAuthentication yes\n", "h", &err), 0);
    ck_assert_int_eq(apply("IPQoS lowdelay throughput\nControlPersist\n"
                           "Host h\n  ProxyCommand sh -c \"nc  %h %p\" # x\n",
                           "h", &err), 0);
    ck_assert_str_eq(sshtun_options_get(o, "ProxyCommand", 0),
                     "sh -c \"nc  %h %p\" # x");
    ck_assert_int_eq(apply("Host h\n  ProxyJump bastion\n", "h", &err), 0);
    ck_assert_str_eq(sshtun_options_get(o, "ProxyJump", 0), "bastion");
    ck_assert_int_eq(apply("\n\nPortt 22\n", "h", &err), SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "test.conf:3"));
    ck_assert_ptr_nonnull(strstr(err.msg, "Portt"));
    ck_assert_int_eq(apply("Port\n", "h", &err), SSHTUN_ERR_INVAL);
    ck_assert_int_eq(apply("Port 1 2\n", "h", &err), SSHTUN_ERR_INVAL);
    ck_assert_int_eq(apply("IdentityFile \"x\n", "h", &err),
                     SSHTUN_ERR_INVAL);
    ctx.opts = o;
    ck_assert_int_eq(sshconfig_apply(&ctx, "Match all\n  Port 1\nHost *\n"
                                     "  Port 2\n", "m.conf", 0, &err), 0);
    ck_assert_int_eq(ctx.match_blocks_skipped, 1);
    ck_assert_int_eq(o->port, 2);
}
END_TEST

START_TEST(include_callback)
{
    sshtun_error err;

    ck_assert_int_eq(apply("Host elsewhere\n  Include skipped.conf\n"
                           "Host h\n  Include conf.d/*.conf\n", "h", &err),
                     0);
    ck_assert_str_eq(included, "conf.d/*.conf");
    ck_assert_int_eq(o->port, 2200);
}
END_TEST

/* The suite. */
static Suite *sshconfig_suite(void)
{
    Suite *s = suite_create("sshconfig");
    TCase *tc = tcase_create("parse");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, host_patterns);
    tcase_add_test(tc, first_value_wins_and_blocks);
    tcase_add_test(tc, expansion_quotes_equals);
    tcase_add_test(tc, forwards_and_lists);
    tcase_add_test(tc, ignored_unsupported_unknown);
    tcase_add_test(tc, include_callback);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(sshconfig_suite)
