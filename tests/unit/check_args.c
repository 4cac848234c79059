/*
 * check_args.c - unit tests for src/cli/args.c.
 *
 * args_parse turns ssh-like command lines into library options: -p -l -i
 * -L -o -c -m -4 -6 -g -F, the flags -N -T -n -q -v (counted) -V -h, and
 * the destination (user@host, host:port, [v6]:port, bare v6,
 * ssh://user@host:port/), with ssh's "first value wins".  Errors must say
 * what is wrong: unknown option, missing argument, no destination, a
 * command after the destination,
 * bad -L specs and bad option values.  Each parse gets fresh options, and
 * getopt's state must not leak from one parse into the next.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/args.h"
#include "config/options.h"

#include "check_util.h"

#define MAX_ARGS 32

static struct cli_args a;
static char *argv[MAX_ARGS + 1];
static int argc;
static char err[512];

/* Free the argument copies and the options of the last parse. */
static void reset(void)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    argc = 0;
    sshtun_options_free(a.opts);
    memset(&a, 0, sizeof a);
    err[0] = '\0';
}

/* Start each test with fresh options and no arguments. */
static void setup(void)
{
    memset(&a, 0, sizeof a);
    argc = 0;
    a.opts = sshtun_options_new();
    ck_assert_ptr_nonnull(a.opts);
}

/* Run args_parse on "sshtun" plus the NULL-terminated arguments, with
 * fresh options; returns its result. */
static int parse(const char *first, ...)
{
    va_list ap;
    const char *s;

    reset();
    a.opts = sshtun_options_new();
    ck_assert_ptr_nonnull(a.opts);
    argv[argc++] = strdup("sshtun");
    va_start(ap, first);
    for (s = first; s; s = va_arg(ap, const char *)) {
        ck_assert_int_lt(argc, MAX_ARGS);
        argv[argc++] = strdup(s);
    }
    va_end(ap);
    argv[argc] = NULL;
    return args_parse(argc, argv, &a, err, sizeof err);
}

/* Assert the last parse failed with want in its message. */
static void expect_error(int rc, const char *want)
{
    check_error_text("argv", rc, -1, err, want);
}

/* Assert the last parse succeeded. */
static void expect_ok(int rc)
{
    ck_assert_msg(rc == 0, "parse failed: %s", err);
}

/* A string option of the last parse ("" if unset). */
static const char *opt(const char *kw, int index)
{
    const char *v = sshtun_options_get(a.opts, kw, index);

    return v ? v : "";
}

/* Parse only a destination into fresh options; returns the result. */
static int dest(const char *d)
{
    reset();
    a.opts = sshtun_options_new();
    ck_assert_ptr_nonnull(a.opts);
    memset(a.host, 0, sizeof a.host);
    return args_destination(d, a.opts, a.host, sizeof a.host, err, sizeof err);
}

START_TEST(plain_host)
{
    expect_ok(parse("example.com", NULL));
    ck_assert_str_eq(a.host, "example.com");
    ck_assert_int_eq(a.opts->port, -1);
    ck_assert_ptr_null(sshtun_options_get(a.opts, "User", 0));
    ck_assert_int_eq(a.nforwards, 0);
    ck_assert_int_eq(a.verbose, 0);
    ck_assert_int_eq(a.quiet, 0);
    ck_assert_int_eq(a.show_help, 0);
    ck_assert_int_eq(a.show_version, 0);
    ck_assert_ptr_null(a.config_file);
}
END_TEST

START_TEST(port_login_identity)
{
    expect_ok(parse("-p", "2222", "-l", "bob", "-i", "/k/one", "-i",
                    "/k/two", "host", NULL));
    ck_assert_int_eq(a.opts->port, 2222);
    ck_assert_str_eq(opt("User", 0), "bob");
    ck_assert_str_eq(opt("IdentityFile", 0), "/k/one");
    ck_assert_str_eq(opt("IdentityFile", 1), "/k/two");
    ck_assert_ptr_null(sshtun_options_get(a.opts, "IdentityFile", 2));
    ck_assert_str_eq(a.host, "host");
    /* Attached arguments, as getopt allows. */
    expect_ok(parse("-p2200", "-lcarol", "host", NULL));
    ck_assert_int_eq(a.opts->port, 2200);
    ck_assert_str_eq(opt("User", 0), "carol");
}
END_TEST

START_TEST(local_forwards)
{
    expect_ok(parse("-L", "8080:web:80", "-L", "[::1]:9000:[fe80::1]:90",
                    "-o", "LocalForward=8081 db:5432", "-o",
                    "localforward 0:db:5433", "host", NULL));
    ck_assert_int_eq(a.nforwards, 4);
    ck_assert_str_eq(opt("LocalForward", 0), "8080:web:80");
    ck_assert_str_eq(opt("LocalForward", 1), "[::1]:9000:[fe80::1]:90");
    ck_assert_str_eq(opt("LocalForward", 2), "8081:db:5432");
    ck_assert_str_eq(opt("LocalForward", 3), "0:db:5433");
}
END_TEST

START_TEST(dash_o)
{
    expect_ok(parse("-o", "Port=2222", "-o", "User alice", "-o",
                    "StrictHostKeyChecking=accept-new", "-o",
                    "batchmode yes", "host", NULL));
    ck_assert_int_eq(a.opts->port, 2222);
    ck_assert_str_eq(opt("User", 0), "alice");
    ck_assert_int_eq(a.opts->strict, STRICT_ACCEPT_NEW);
    ck_assert_int_eq(a.opts->batch_mode, 1);
    ck_assert_int_eq(a.nforwards, 0);
}
END_TEST

START_TEST(first_value_wins)
{
    expect_ok(parse("-p", "2222", "-o", "Port=3333", "host:4444", NULL));
    ck_assert_int_eq(a.opts->port, 2222);
    expect_ok(parse("-o", "Port=3333", "-p", "2222", "host", NULL));
    ck_assert_int_eq(a.opts->port, 3333);
    expect_ok(parse("-l", "alice", "bob@host", NULL));
    ck_assert_str_eq(opt("User", 0), "alice");
    ck_assert_str_eq(a.host, "host");
    expect_ok(parse("-4", "-6", "host", NULL));
    ck_assert_int_eq(a.opts->address_family, AF_INET);
}
END_TEST

START_TEST(cipher_mac_family_gateway_config)
{
    expect_ok(parse("-c", "aes256-ctr", "-m", "hmac-sha2-256", "-6", "-g",
                    "-F", "/dev/null", "host", NULL));
    ck_assert_str_eq(opt("Ciphers", 0), "aes256-ctr");
    ck_assert_str_eq(opt("MACs", 0), "hmac-sha2-256");
    ck_assert_int_eq(a.opts->address_family, AF_INET6);
    ck_assert_int_eq(a.opts->gateway_ports, 1);
    ck_assert_str_eq(a.config_file, "/dev/null");
    expect_ok(parse("-4", "host", NULL));
    ck_assert_int_eq(a.opts->address_family, AF_INET);
    ck_assert_int_eq(a.opts->gateway_ports, -1);
}
END_TEST

START_TEST(flags)
{
    expect_ok(parse("-N", "-T", "-n", "-C", "host", NULL));
    ck_assert_int_eq(a.quiet, 0);
    ck_assert_int_eq(a.verbose, 0);
    ck_assert_str_eq(a.host, "host");
    expect_ok(parse("-q", "host", NULL));
    ck_assert_int_eq(a.quiet, 1);
    expect_ok(parse("-v", "host", NULL));
    ck_assert_int_eq(a.verbose, 1);
    expect_ok(parse("-v", "-vv", "host", NULL));
    ck_assert_int_eq(a.verbose, 3);
    expect_ok(parse("-NTgqv", "-vp22", "host", NULL));
    ck_assert_int_eq(a.verbose, 2);
    ck_assert_int_eq(a.quiet, 1);
    ck_assert_int_eq(a.opts->gateway_ports, 1);
    ck_assert_int_eq(a.opts->port, 22);
}
END_TEST

START_TEST(control_options)
{
    expect_ok(parse("-M", "-S", "/run/c", "-O", "check", "host", NULL));
    ck_assert_int_eq(a.control_master, CTL_YES);
    ck_assert_str_eq(a.control_path, "/run/c");
    ck_assert_str_eq(a.control_cmd, "check");
    /* -o forms on the command line, first value wins as in ssh. */
    expect_ok(parse("-o", "ControlMaster=auto", "-M", "-o",
                    "ControlPath /tmp/%C", "-S", "/x", "host", NULL));
    ck_assert_int_eq(a.control_master, CTL_AUTO);
    ck_assert_str_eq(a.control_path, "/tmp/%C");
    expect_ok(parse("-o", "controlmaster=ask", "host", NULL));
    ck_assert_int_eq(a.control_master, CTL_YES);
    expect_ok(parse("-o", "ControlMaster no", "host", NULL));
    ck_assert_int_eq(a.control_master, CTL_NO);
    expect_error(parse("-o", "ControlMaster=sometimes", "host", NULL),
                 "ControlMaster: bad value 'sometimes'");
    /* ControlPersist is ssh's business: accepted and ignored. */
    expect_ok(parse("-o", "ControlPersist=yes", "host", NULL));
    ck_assert_int_eq(a.control_master, CTL_UNSET);
}
END_TEST

START_TEST(version_and_help)
{
    expect_ok(parse("-V", NULL));
    ck_assert_int_eq(a.show_version, 1);
    expect_ok(parse("-h", NULL));
    ck_assert_int_eq(a.show_help, 1);
    ck_assert_ptr_null(sshtun_options_get(a.opts, "HostName", 0));
    ck_assert_ptr_nonnull(strstr(args_usage(), "usage: sshtun"));
    ck_assert_ptr_nonnull(strstr(args_usage(),
                                 "-L [bind_address:]port:host:hostport"));
}
END_TEST

START_TEST(destinations)
{
    expect_ok(dest("user@host"));
    ck_assert_str_eq(opt("User", 0), "user");
    ck_assert_str_eq(a.host, "host");
    ck_assert_int_eq(a.opts->port, -1);

    expect_ok(dest("host:2222"));
    ck_assert_str_eq(a.host, "host");
    ck_assert_int_eq(a.opts->port, 2222);
    ck_assert_ptr_null(sshtun_options_get(a.opts, "User", 0));

    expect_ok(dest("[::1]:2222"));
    ck_assert_str_eq(a.host, "::1");
    ck_assert_int_eq(a.opts->port, 2222);

    expect_ok(dest("[fe80::1]"));
    ck_assert_str_eq(a.host, "fe80::1");
    ck_assert_int_eq(a.opts->port, -1);

    expect_ok(dest("::1"));
    ck_assert_str_eq(a.host, "::1");
    ck_assert_int_eq(a.opts->port, -1);

    expect_ok(dest("me@2001:db8::7"));
    ck_assert_str_eq(opt("User", 0), "me");
    ck_assert_str_eq(a.host, "2001:db8::7");

    expect_ok(dest("ssh://user@host:2200/"));
    ck_assert_str_eq(opt("User", 0), "user");
    ck_assert_str_eq(a.host, "host");
    ck_assert_int_eq(a.opts->port, 2200);

    expect_ok(dest("ssh://host"));
    ck_assert_str_eq(a.host, "host");
    ck_assert_int_eq(a.opts->port, -1);

    expect_ok(dest("ssh://admin@[::1]:22/"));
    ck_assert_str_eq(opt("User", 0), "admin");
    ck_assert_str_eq(a.host, "::1");
    ck_assert_int_eq(a.opts->port, 22);

    expect_ok(dest("a@b@host"));            /* last '@' splits */
    ck_assert_str_eq(opt("User", 0), "a@b");
    ck_assert_str_eq(a.host, "host");
}
END_TEST

START_TEST(destination_via_parse)
{
    expect_ok(parse("-L", "1:h:1", "bob@[::1]:2022", NULL));
    ck_assert_str_eq(opt("User", 0), "bob");
    ck_assert_str_eq(a.host, "::1");
    ck_assert_int_eq(a.opts->port, 2022);
    ck_assert_int_eq(a.nforwards, 1);
}
END_TEST

START_TEST(bad_destinations)
{
    expect_error(dest(""), "bad destination");
    expect_error(dest("ssh://"), "bad destination");
    expect_error(dest("@host"), "empty user");
    expect_error(dest("user@"), "empty host");
    expect_error(dest(":22"), "empty host");
    expect_error(dest("[]:22"), "empty host");
    expect_error(dest("[::1"), "bad destination '[::1'");
    expect_error(dest("[::1]x"), "bad destination");
    expect_error(dest("host:0"), "Port: bad value '0'");
    expect_error(dest("host:abc"), "Port: bad value 'abc'");
    expect_error(dest("host:"), "Port: bad value ''");
    expect_error(dest("host:70000"), "Port: bad value '70000'");
}
END_TEST

START_TEST(unknown_option)
{
    expect_error(parse("-x", "host", NULL), "unknown option -- x");
    expect_error(parse("-Nx", "host", NULL), "unknown option -- x");
    expect_error(parse("-+", "host", NULL), "unknown option -- +");
    expect_error(parse("-:", "host", NULL), "unknown option -- :");
}
END_TEST

START_TEST(missing_argument)
{
    static const char *const letters[] = {
        "-p", "-l", "-i", "-L", "-o", "-c", "-m", "-F",
    };

    for (size_t i = 0; i < sizeof letters / sizeof letters[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "option requires an argument -- %c",
                 letters[i][1]);
        expect_error(parse(letters[i], NULL), want);
    }
    expect_error(parse("-v", "-p", NULL),
                 "option requires an argument -- p");
}
END_TEST

START_TEST(no_destination)
{
    expect_error(parse(NULL), "no destination given");
    expect_error(parse("-p", "22", "-N", NULL), "no destination given");
}
END_TEST

START_TEST(command_after_destination)
{
    expect_error(parse("host", "ls", NULL), "unexpected 'ls'");
    expect_error(parse("-N", "host", "uname", "-a", NULL),
                 "sshtun runs no remote command");
}
END_TEST

START_TEST(options_after_destination)
{
    /* As ssh: options may follow the destination. */
    expect_ok(parse("host", "-p", "2201", "-L", "8080:web:80", NULL));
    ck_assert_str_eq(a.host, "host");
    ck_assert_int_eq(a.opts->port, 2201);
    ck_assert_str_eq(opt("LocalForward", 0), "8080:web:80");
    expect_ok(parse("--", "host", NULL));
    ck_assert_str_eq(a.host, "host");
    expect_error(parse("host", "--", "-p", NULL), "unexpected '-p'");
    expect_error(parse("host", "-p", "22", "other", NULL),
                 "unexpected 'other'");
}
END_TEST

START_TEST(dynamic_forward)
{
    expect_ok(parse("-D", "1080", "-D", "127.0.0.1:1081", "host", NULL));
    ck_assert_str_eq(opt("DynamicForward", 0), "1080");
    ck_assert_str_eq(opt("DynamicForward", 1), "127.0.0.1:1081");
    ck_assert_int_eq(a.nforwards, 2);
    expect_error(parse("-D", "x", "host", NULL), "Bad dynamic forwarding");
}
END_TEST

START_TEST(remote_forward)
{
    expect_ok(parse("-R", "8080:localhost:80", "-R", "0:web:443", "-R",
                    "1080", "host", NULL));
    ck_assert_str_eq(opt("RemoteForward", 0), "8080:localhost:80");
    ck_assert_str_eq(opt("RemoteForward", 1), "0:web:443");
    ck_assert_str_eq(opt("RemoteForward", 2), "1080");
    ck_assert_int_eq(a.nforwards, 3);
    expect_error(parse("-R", "a:b", "host", NULL),
                 "Bad remote forwarding specification");
}
END_TEST

START_TEST(stdio_forward)
{
    char host[256];
    int port = 0;

    expect_ok(parse("-W", "db:5432", "host", NULL));
    ck_assert_str_eq(a.stdio_host, "db");
    ck_assert_int_eq(a.stdio_port, 5432);
    expect_ok(parse("-W", "[::1]:22", "host", NULL));
    ck_assert_str_eq(a.stdio_host, "::1");
    ck_assert_int_eq(a.stdio_port, 22);
    expect_error(parse("-W", "db", "host", NULL),
                 "Bad stdio forwarding specification 'db'");
    ck_assert_int_eq(args_hostport("h:0", host, sizeof host, &port), -1);
    ck_assert_int_eq(args_hostport("h:65536", host, sizeof host, &port), -1);
    ck_assert_int_eq(args_hostport(":80", host, sizeof host, &port), -1);
    ck_assert_int_eq(args_hostport("::1:80", host, sizeof host, &port), -1);
    ck_assert_int_eq(args_hostport("[::1]80", host, sizeof host, &port), -1);
    ck_assert_int_eq(args_hostport("h:8x", host, sizeof host, &port), -1);
    ck_assert_int_eq(args_hostport("web:80", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "web");
    ck_assert_int_eq(port, 80);
}
END_TEST

START_TEST(jump_host)
{
    expect_ok(parse("-J", "alice@bastion:2222,relay", "host", NULL));
    ck_assert_str_eq(opt("ProxyJump", 0), "alice@bastion:2222,relay");
}
END_TEST

START_TEST(shell_names_refused)
{
    /* CVE-2023-51385: names from the command line reach ProxyCommand's
     * shell through %h and %r; refused as ssh 9.6 does. */
    static const char *const hosts[] = {
        "gw$(touch x)", "gw`id`", "a;b", "a&b", "a|b", "a>b", "a<b",
        "a'b", "a\"b", "a\\b", "a b", "a\tb", "a\nb", "a\x01b",
        "a(b", "a{b",
    };
    static const char *const users[] = {
        "u$(id)", "u`id`", "u;x", "u'x", "-u", "u\n", "u -x", "u\\",
    };
    char buf[64];

    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        expect_error(parse(hosts[i], NULL), "hostname contains invalid");
        snprintf(buf, sizeof buf, "user@%s", hosts[i]);
        expect_error(parse(buf, NULL), "hostname contains invalid");
        snprintf(buf, sizeof buf, "ok,%s:22", hosts[i]);
        expect_error(parse("-J", buf, "host", NULL),
                     "ProxyJump: hostname contains invalid");
        expect_error(parse("-o", "ProxyJump=gw,x@y,bad;hop", "host", NULL),
                     "ProxyJump: hostname contains invalid");
    }
    expect_error(parse("--", "-oProxyCommand=x", NULL),
                 "hostname contains invalid");
    expect_error(parse("-J", "-oProxyCommand=x", "host", NULL),
                 "ProxyJump: hostname contains invalid");
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        snprintf(buf, sizeof buf, "%s@host", users[i]);
        expect_error(parse("--", buf, NULL),
                     "remote username contains invalid");
        expect_error(parse("-l", users[i], "host", NULL),
                     "remote username contains invalid");
        snprintf(buf, sizeof buf, "%s@gw", users[i]);
        expect_error(parse("-J", buf, "host", NULL),
                     "ProxyJump: remote username contains invalid");
    }
    /* Ordinary names, IPv6 addresses and user names with a '$' or a
     * blank are fine (ssh allows them too). */
    expect_ok(parse("-J", "me@gw.example:2222,[fe80::1%eth0]:22",
                    "First.Last@[2001:db8::1]:22", NULL));
    expect_ok(parse("-l", "DOMAIN\\user$", "host_1.example", NULL));
    expect_ok(parse("-l", "with space", "host", NULL));
}
END_TEST

START_TEST(bad_values)
{
    expect_error(parse("-L", "8080:host", "host", NULL),
                 "Bad local forwarding specification '8080:host'");
    expect_error(parse("-L", "8080:host:99999", "host", NULL),
                 "bad port '99999'");
    ck_assert_int_eq(a.nforwards, 0);
    expect_error(parse("-p", "0", "host", NULL), "Port: bad value '0'");
    expect_error(parse("-p", "ssh", "host", NULL), "Port: bad value 'ssh'");
    expect_error(parse("-o", "Frobnicate=yes", "host", NULL),
                 "command-line: Bad configuration option: Frobnicate");
    expect_error(parse("-o", "BatchMode=maybe", "host", NULL),
                 "BatchMode: bad value 'maybe'");
    expect_error(parse("-o", "Port", "host", NULL), "Port: missing value");
    expect_error(parse("-l", "", "host", NULL), "User");
}
END_TEST

START_TEST(state_does_not_leak)
{
    /* An error in the middle of "-xq" must not leave 'q' pending. */
    expect_error(parse("-xq", "host", NULL), "unknown option -- x");
    expect_ok(parse("-v", "host", NULL));
    ck_assert_int_eq(a.quiet, 0);
    ck_assert_int_eq(a.verbose, 1);
    /* Nor after a missing argument in a group. */
    expect_error(parse("-Lv", NULL), "Bad local forwarding");
    expect_ok(parse("host", NULL));
    ck_assert_int_eq(a.verbose, 0);
    /* A parse that stopped early does not offset the next one. */
    expect_error(parse("-N", "-p", "0", "-q", "host", NULL), "Port");
    expect_ok(parse("other", NULL));
    ck_assert_str_eq(a.host, "other");
    ck_assert_int_eq(a.quiet, 0);
}
END_TEST

/* The suite: options, destinations, errors. */
static Suite *args_suite(void)
{
    Suite *s = suite_create("args");
    TCase *good = tcase_create("good");
    TCase *dst = tcase_create("destinations");
    TCase *bad = tcase_create("errors");

    tcase_add_checked_fixture(good, setup, reset);
    tcase_add_test(good, plain_host);
    tcase_add_test(good, port_login_identity);
    tcase_add_test(good, local_forwards);
    tcase_add_test(good, dynamic_forward);
    tcase_add_test(good, stdio_forward);
    tcase_add_test(good, remote_forward);
    tcase_add_test(good, dash_o);
    tcase_add_test(good, first_value_wins);
    tcase_add_test(good, cipher_mac_family_gateway_config);
    tcase_add_test(good, flags);
    tcase_add_test(good, version_and_help);
    tcase_add_test(good, control_options);
    suite_add_tcase(s, good);

    tcase_add_checked_fixture(dst, setup, reset);
    tcase_add_test(dst, destinations);
    tcase_add_test(dst, destination_via_parse);
    tcase_add_test(dst, bad_destinations);
    suite_add_tcase(s, dst);

    tcase_add_checked_fixture(bad, setup, reset);
    tcase_add_test(bad, unknown_option);
    tcase_add_test(bad, missing_argument);
    tcase_add_test(bad, no_destination);
    tcase_add_test(bad, command_after_destination);
    tcase_add_test(bad, options_after_destination);
    tcase_add_test(good, jump_host);
    tcase_add_test(bad, bad_values);
    tcase_add_test(bad, shell_names_refused);
    tcase_add_test(bad, state_does_not_leak);
    suite_add_tcase(s, bad);
    return s;
}

CHECK_MAIN(args_suite)
