/*
 * check_options.c - unit tests for src/options.c.
 *
 * sshtun_options_set/parse/get as ssh_config(5) behaves: keywords are
 * case-insensitive, "-o" lines come as "Keyword=value" or "Keyword value",
 * the first value of a scalar wins while IdentityFile and LocalForward
 * accumulate (LocalForward in either spec form, stored normalised), and
 * every bad value is refused with SSHTUN_ERR_INVAL and a message naming
 * the keyword.  Also the defaults helpers, list overflow at OPT_LIST_MAX
 * and options_dup's deep copy.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/options.h"

#include "check_util.h"

static sshtun_options *o;

/* Fresh options for each test. */
static void setup(void)
{
    o = sshtun_options_new();
    ck_assert_ptr_nonnull(o);
}

/* Free the test's options. */
static void teardown(void)
{
    sshtun_options_free(o);
    o = NULL;
}

/* Set kw to v, asserting success. */
static void set_ok(const char *kw, const char *v)
{
    sshtun_error err = { 0, "" };
    int rc = sshtun_options_set(o, kw, v, &err);

    ck_assert_msg(rc == 0, "%s=%s refused: %s", kw, v, err.msg);
}

/* Set kw to v, asserting SSHTUN_ERR_INVAL with a message containing want
 * (and the bad value, if show_value). */
static void set_bad(const char *kw, const char *v, const char *want,
                    int show_value)
{
    sshtun_error err = { 0, "" };
    int rc = sshtun_options_set(o, kw, v, &err);
    char what[600];

    snprintf(what, sizeof what, "%s=%s", kw, v ? v : "(null)");
    check_error(what, rc, &err, SSHTUN_ERR_INVAL, want);
    if (show_value) {
        char quoted[600];
        snprintf(quoted, sizeof quoted, "'%s'", v);
        check_error(what, rc, &err, SSHTUN_ERR_INVAL, quoted);
    }
}

/* Parse one -o line, asserting success. */
static void parse_ok(const char *line)
{
    sshtun_error err = { 0, "" };
    int rc = sshtun_options_parse(o, line, &err);

    ck_assert_msg(rc == 0, "'%s' refused: %s", line, err.msg);
}

/* Parse one -o line, asserting SSHTUN_ERR_INVAL with want in the message. */
static void parse_bad(const char *line, const char *want)
{
    sshtun_error err = { 0, "" };
    int rc = sshtun_options_parse(o, line, &err);

    check_error(line, rc, &err, SSHTUN_ERR_INVAL, want);
}

/* Number of entries an accumulating keyword holds. */
static int list_count(const char *kw)
{
    int n = 0;

    while (sshtun_options_get(o, kw, n))
        n++;
    return n;
}

/* A log callback, only for its address. */
static void dummy_log(int level, const char *msg, void *user)
{
    (void)level;
    (void)msg;
    (void)user;
}

/* A passphrase callback, only for its address. */
static int dummy_pass(const char *prompt, char *buf, size_t size, void *user)
{
    (void)prompt;
    (void)buf;
    (void)size;
    (void)user;
    return -1;
}

/* Text from a server (a keyboard-interactive prompt) or a client must
 * reach a terminal without control characters. */
START_TEST(strip_controls)
{
    char text[] = "Password\x1b[2J\r\n\x07: \x7f\xc3\xa9";

    log_strip_controls(text);
    ck_assert_str_eq(text, "Password?[2J???: ?\xc3\xa9");
}
END_TEST

START_TEST(trailing_blanks)
{
    /* As ssh: blanks after the value are not part of it. */
    parse_ok("Port=2222 \t");
    ck_assert_int_eq(o->port, 2222);
    parse_ok("User  alice  ");
    ck_assert_str_eq(sshtun_options_get(o, "User", 0), "alice");
}
END_TEST

START_TEST(defaults)
{
    ck_assert_ptr_null(o->hostname);
    ck_assert_int_eq(o->port, -1);
    ck_assert_int_eq(options_port(o), 22);
    ck_assert_int_eq(options_log_level(o), SSHTUN_LOG_INFO);
    ck_assert_int_eq(options_window_size(o), OPTS_DEFAULT_WINDOW);
    ck_assert_int_eq(options_strict(o), STRICT_ASK);
    ck_assert_int_eq(options_flag(o->batch_mode), 0);
    ck_assert_int_eq(options_flag(o->gateway_ports), 0);
    ck_assert_int_eq(o->connect_timeout, -1);
    ck_assert_int_eq(o->address_family, -1);
    ck_assert_int_eq(o->identity_files.n, 0);
    ck_assert_int_eq(o->local_forwards.n, 0);
    ck_assert_ptr_null(sshtun_options_get(o, "HostName", 0));
    ck_assert_ptr_null(sshtun_options_get(o, "IdentityFile", 0));
}
END_TEST

START_TEST(case_insensitive)
{
    set_ok("hostname", "example.com");
    ck_assert_str_eq(sshtun_options_get(o, "HOSTNAME", 0), "example.com");
    ck_assert_str_eq(sshtun_options_get(o, "HostName", 0), "example.com");
    set_ok("pOrT", "2222");
    ck_assert_int_eq(o->port, 2222);
    set_ok("STRICTHOSTKEYCHECKING", "Accept-New");
    ck_assert_int_eq(o->strict, STRICT_ACCEPT_NEW);
    set_ok("batchmode", "YES");
    ck_assert_int_eq(o->batch_mode, 1);
    set_ok("loglevel", "debug2");
    ck_assert_int_eq(o->log.level, SSHTUN_LOG_DEBUG2);
    set_ok("addressfamily", "INET6");
    ck_assert_int_eq(o->address_family, AF_INET6);
}
END_TEST

START_TEST(parse_forms)
{
    parse_ok("Port=2222");
    ck_assert_int_eq(o->port, 2222);
    parse_ok("User alice");
    ck_assert_str_eq(sshtun_options_get(o, "User", 0), "alice");
    parse_ok("  HostName = example.org");
    ck_assert_str_eq(sshtun_options_get(o, "HostName", 0), "example.org");
    parse_ok("Ciphers\t=\taes128-ctr,aes256-ctr");
    ck_assert_str_eq(sshtun_options_get(o, "Ciphers", 0),
                     "aes128-ctr,aes256-ctr");
    parse_ok("identityfile=/tmp/id one");   /* value keeps its spaces */
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile", 0),
                     "/tmp/id one");
    parse_ok("LocalForward 8080 db:5432");  /* config form through -o */
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 0),
                     "8080:db:5432");
    parse_ok("LocalForward=8081:db:5433");
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 1),
                     "8081:db:5433");
}
END_TEST

START_TEST(parse_errors)
{
    parse_bad("=2222", "Bad configuration option");
    parse_bad("", "Bad configuration option");
    parse_bad("Port", "Port: missing value");
    parse_bad("Port=", "Port: missing value");
    parse_bad("Port =  ", "Port: missing value");
    parse_bad("Frobnicate=yes", "Bad configuration option: Frobnicate");
    parse_bad("Port=0", "Port");
    {
        char line[128];
        memset(line, 'K', 100);
        strcpy(line + 100, "=1");
        parse_bad(line, "Bad configuration option");
    }
    ck_assert_int_eq(o->port, -1);
}
END_TEST

START_TEST(first_value_wins)
{
    set_ok("Port", "2222");
    set_ok("Port", "3333");
    ck_assert_int_eq(o->port, 2222);
    set_ok("User", "alice");
    set_ok("User", "bob");
    ck_assert_str_eq(sshtun_options_get(o, "User", 0), "alice");
    set_ok("StrictHostKeyChecking", "no");
    set_ok("StrictHostKeyChecking", "yes");
    ck_assert_int_eq(o->strict, STRICT_NO);
    set_ok("GatewayPorts", "no");
    set_ok("GatewayPorts", "yes");
    ck_assert_int_eq(o->gateway_ports, 0);
    set_ok("ConnectTimeout", "none");
    set_ok("ConnectTimeout", "5");
    ck_assert_int_eq(o->connect_timeout, 0);
    set_ok("LogLevel", "QUIET");
    set_ok("LogLevel", "DEBUG3");
    ck_assert_int_eq(o->log.level, SSHTUN_LOG_QUIET);
    set_ok("WindowSize", "64K");
    set_ok("WindowSize", "1M");
    ck_assert_int_eq(o->window_size, 64 * 1024);
    set_ok("AddressFamily", "any");
    set_ok("AddressFamily", "inet");
    ck_assert_int_eq(o->address_family, AF_UNSPEC);
    /* A later bad value is still reported, and changes nothing. */
    set_bad("Port", "x", "Port", 1);
    ck_assert_int_eq(o->port, 2222);
}
END_TEST

START_TEST(identity_files_accumulate)
{
    set_ok("IdentityFile", "~/.ssh/id_ed25519");
    set_ok("IdentityFile", "/keys/a");
    set_ok("identityfile", "/keys/b");
    ck_assert_int_eq(list_count("IdentityFile"), 3);
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile", 0),
                     "~/.ssh/id_ed25519");
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile", 1), "/keys/a");
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile", 2), "/keys/b");
    ck_assert_ptr_null(sshtun_options_get(o, "IdentityFile", 3));
    ck_assert_ptr_null(sshtun_options_get(o, "IdentityFile", -1));
    set_bad("IdentityFile", "", "IdentityFile", 0);
    ck_assert_int_eq(list_count("IdentityFile"), 3);
}
END_TEST

START_TEST(local_forwards_accumulate)
{
    set_ok("LocalForward", "8080:web:80");
    set_ok("LocalForward", "127.0.0.1:8443 web:443");
    set_ok("LocalForward", "[::1]:9000   [fe80::1]:9000");
    set_ok("localforward", "*:0:db:5432");
    ck_assert_int_eq(list_count("LocalForward"), 4);
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 0),
                     "8080:web:80");
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 1),
                     "127.0.0.1:8443:web:443");
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 2),
                     "[::1]:9000:[fe80::1]:9000");
    ck_assert_str_eq(sshtun_options_get(o, "LocalForward", 3),
                     "*:0:db:5432");
}
END_TEST

START_TEST(local_forward_bad)
{
    set_bad("LocalForward", "8080", "Bad local forwarding specification",
            0);
    set_bad("LocalForward", "8080:web:70000", "bad port '70000'", 0);
    set_bad("LocalForward", "8080 web:80 extra", "Bad forwarding", 0);
    set_bad("LocalForward", "8080 web", "Bad local forwarding", 0);
    set_bad("LocalForward", "8080::80", "empty host", 0);
    ck_assert_int_eq(list_count("LocalForward"), 0);
}
END_TEST

START_TEST(bad_port)
{
    set_bad("Port", "0", "Port: bad value", 1);
    set_bad("Port", "70000", "Port: bad value", 1);
    set_bad("Port", "65536", "Port: bad value", 1);
    set_bad("Port", "x", "Port: bad value", 1);
    set_bad("Port", "", "Port: bad value", 1);
    set_bad("Port", "-22", "Port: bad value", 1);
    set_bad("port", "22x", "Port: bad value", 1);   /* canonical name */
    ck_assert_int_eq(o->port, -1);
    set_ok("Port", "65535");
    ck_assert_int_eq(o->port, 65535);
}
END_TEST

START_TEST(yes_no_keywords)
{
    static const char *const kws[] = {
        "IdentitiesOnly", "BatchMode", "ExitOnForwardFailure",
        "GatewayPorts",
    };

    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
        set_bad(kws[i], "maybe", kws[i], 1);
        set_bad(kws[i], "", kws[i], 1);
        set_bad(kws[i], "1", kws[i], 1);
    }
    set_ok("IdentitiesOnly", "yes");
    set_ok("BatchMode", "no");
    set_ok("ExitOnForwardFailure", "true");
    set_ok("GatewayPorts", "False");
    ck_assert_int_eq(o->identities_only, 1);
    ck_assert_int_eq(o->batch_mode, 0);
    ck_assert_int_eq(o->exit_on_forward_failure, 1);
    ck_assert_int_eq(o->gateway_ports, 0);
}
END_TEST

START_TEST(strict_values)
{
    static const struct { const char *v; int want; } t[] = {
        { "accept-new", STRICT_ACCEPT_NEW }, { "ask", STRICT_ASK },
        { "yes", STRICT_YES }, { "no", STRICT_NO }, { "off", STRICT_NO },
        { "true", STRICT_YES }, { "false", STRICT_NO },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sshtun_options_free(o);
        o = sshtun_options_new();
        set_ok("StrictHostKeyChecking", t[i].v);
        ck_assert_msg(o->strict == t[i].want, "%s gave %d", t[i].v,
                      o->strict);
        ck_assert_int_eq(options_strict(o), t[i].want);
    }
    set_bad("StrictHostKeyChecking", "maybe", "StrictHostKeyChecking", 1);
    set_bad("StrictHostKeyChecking", "accept", "StrictHostKeyChecking", 1);
}
END_TEST

START_TEST(connect_timeout)
{
    set_bad("ConnectTimeout", "-1", "ConnectTimeout", 1);
    set_bad("ConnectTimeout", "10s", "ConnectTimeout", 1);
    set_bad("ConnectTimeout", "x", "ConnectTimeout", 1);
    set_bad("ConnectTimeout", "", "ConnectTimeout", 1);
    set_bad("ConnectTimeout", "86401", "ConnectTimeout", 1);
    set_bad("ConnectTimeout", " 5", "ConnectTimeout", 1);
    ck_assert_int_eq(o->connect_timeout, -1);
    set_ok("ConnectTimeout", "86400");
    ck_assert_int_eq(o->connect_timeout, 86400);
    sshtun_options_free(o);
    o = sshtun_options_new();
    set_ok("ConnectTimeout", "0");
    ck_assert_int_eq(o->connect_timeout, 0);
    sshtun_options_free(o);
    o = sshtun_options_new();
    set_ok("ConnectTimeout", "NONE");
    ck_assert_int_eq(o->connect_timeout, 0);
}
END_TEST

START_TEST(window_size)
{
    static const struct { const char *v; long want; } good[] = {
        { "64K", 64L * 1024 }, { "64k", 64L * 1024 }, { "65536", 65536 },
        { "1M", 1024L * 1024 }, { "1m", 1024L * 1024 },
        { "16M", 16L * 1024 * 1024 }, { "16384K", 16L * 1024 * 1024 },
        { "16777216", 16L * 1024 * 1024 }, { "100000", 100000 },
    };
    static const char *const bad[] = {
        "63K", "65535", "0", "17M", "16385K", "16777217", "1G", "K", "",
        "-64K", "64KB", "64 K", "99999999999999999999999", "x",
    };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        sshtun_options_free(o);
        o = sshtun_options_new();
        set_ok("WindowSize", good[i].v);
        ck_assert_msg(o->window_size == good[i].want, "%s gave %ld",
                      good[i].v, o->window_size);
        ck_assert_int_eq(options_window_size(o), good[i].want);
    }
    sshtun_options_free(o);
    o = sshtun_options_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        set_bad("WindowSize", bad[i], "WindowSize", 1);
    ck_assert_int_eq(o->window_size, -1);
}
END_TEST

START_TEST(log_levels)
{
    static const struct { const char *v; int want; } t[] = {
        { "QUIET", SSHTUN_LOG_QUIET }, { "FATAL", SSHTUN_LOG_ERROR },
        { "ERROR", SSHTUN_LOG_ERROR }, { "INFO", SSHTUN_LOG_INFO },
        { "VERBOSE", SSHTUN_LOG_VERBOSE }, { "DEBUG", SSHTUN_LOG_DEBUG },
        { "DEBUG1", SSHTUN_LOG_DEBUG }, { "debug2", SSHTUN_LOG_DEBUG2 },
        { "Debug3", SSHTUN_LOG_DEBUG3 },
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sshtun_options_free(o);
        o = sshtun_options_new();
        set_ok("LogLevel", t[i].v);
        ck_assert_msg(o->log.level == t[i].want, "%s gave %d", t[i].v,
                      o->log.level);
        ck_assert_int_eq(options_log_level(o), t[i].want);
    }
    set_bad("LogLevel", "LOUD", "LogLevel", 1);
    set_bad("LogLevel", "DEBUG4", "LogLevel", 1);
    set_bad("LogLevel", "3", "LogLevel", 1);
}
END_TEST

START_TEST(address_family)
{
    set_bad("AddressFamily", "ipv4", "AddressFamily", 1);
    set_bad("AddressFamily", "4", "AddressFamily", 1);
    set_bad("AddressFamily", "", "AddressFamily", 1);
    set_ok("AddressFamily", "inet");
    ck_assert_int_eq(o->address_family, AF_INET);
    sshtun_options_free(o);
    o = sshtun_options_new();
    set_ok("AddressFamily", "inet6");
    ck_assert_int_eq(o->address_family, AF_INET6);
    sshtun_options_free(o);
    o = sshtun_options_new();
    set_ok("AddressFamily", "any");
    ck_assert_int_eq(o->address_family, AF_UNSPEC);
}
END_TEST

START_TEST(string_keywords)
{
    static const char *const kws[] = {
        "HostName", "User", "IdentityAgent", "UserKnownHostsFile",
        "GlobalKnownHostsFile", "Ciphers", "MACs", "HostKeyAlgorithms",
        "HostKeyAlias", "RevokedHostKeys",
    };

    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
        set_bad(kws[i], "", kws[i], 0);
        ck_assert_ptr_null(sshtun_options_get(o, kws[i], 0));
        set_ok(kws[i], kws[i]);             /* value: its own name */
        ck_assert_str_eq(sshtun_options_get(o, kws[i], 0), kws[i]);
        ck_assert_ptr_null(sshtun_options_get(o, kws[i], 1));
    }
}
END_TEST

START_TEST(permit_remote_open)
{
    set_bad("PermitRemoteOpen", "nohost", "bad entry 'nohost'", 0);
    set_bad("PermitRemoteOpen", "a:b", "bad entry 'a:b'", 0);
    set_bad("PermitRemoteOpen", "a:0", "bad entry", 0);
    set_bad("PermitRemoteOpen", ":80", "bad entry", 0);
    set_bad("PermitRemoteOpen", "[::1:80", "bad entry", 0);
    set_bad("PermitRemoteOpen", "a:1 any", "'any' must be the only", 0);
    set_bad("PermitRemoteOpen", "none a:1", "'none' must be the only", 0);
    ck_assert_ptr_null(sshtun_options_get(o, "PermitRemoteOpen", 0));
    set_ok("PermitRemoteOpen", "host:80 [::1]:* *:443 10.0.0.1:22");
    set_ok("PermitRemoteOpen", "any");      /* the first value wins */
    ck_assert_str_eq(sshtun_options_get(o, "PermitRemoteOpen", 0),
                     "host:80 [::1]:* *:443 10.0.0.1:22");
    /* CheckHostIP is accepted, with any value, and has no effect. */
    set_ok("CheckHostIP", "yes");
    set_ok("CheckHostIP", "no");
}
END_TEST

START_TEST(server_alive_keywords)
{
    ck_assert_int_eq(options_server_alive_count(o), 3);
    parse_ok("ServerAliveInterval 15");
    parse_ok("ServerAliveCountMax=5");
    ck_assert_int_eq(o->server_alive_interval, 15);
    ck_assert_int_eq(options_server_alive_count(o), 5);
    parse_bad("ServerAliveCountMax 0", "ServerAliveCountMax");
    parse_bad("ServerAliveInterval soon", "ServerAliveInterval");
}
END_TEST

START_TEST(dynamic_and_socks_keywords)
{
    sshtun_error err = { 0, "" };

    parse_ok("DynamicForward 1080");
    parse_ok("DynamicForward=[::1]:1081");
    parse_ok("DynamicForward *:1082");
    ck_assert_int_eq(list_count("DynamicForward"), 3);
    ck_assert_str_eq(sshtun_options_get(o, "DynamicForward", 1), "[::1]:1081");
    parse_bad("DynamicForward 1:2:3", "Bad dynamic forwarding");
    parse_bad("DynamicForward 99999", "bad port");
    parse_ok("SocksAllow *.example.com:443,10.0.0.0/8");
    parse_ok("SocksAllow [fd00::/8]:22");
    ck_assert_int_eq(list_count("SocksAllow"), 2);
    parse_bad("SocksAllow 10.0.0.0/33", "bad rule");
    parse_bad("SocksAllow host:0", "bad rule");
    parse_bad("SocksAllow bad_host!:80", "bad rule");
    parse_ok("SocksAuthFile ~/.sshtun-socks");
    ck_assert_str_eq(sshtun_options_get(o, "SocksAuthFile", 0),
                     "~/.sshtun-socks");
    ck_assert_int_eq(options_socks_timeout(o), OPTS_DEFAULT_SOCKS_TIMEOUT);
    parse_ok("SocksTimeout 3");
    ck_assert_int_eq(options_socks_timeout(o), 3);
    ck_assert_int_eq(sshtun_options_set(o, "SocksTimeout", "x", &err),
                     SSHTUN_ERR_INVAL);
    /* There is always a deadline: 0 and none are refused, as the manual
     * says. */
    set_bad("SocksTimeout", "0", "at least 1 second", 1);
    set_bad("SocksTimeout", "none", "at least 1 second", 1);
}
END_TEST

START_TEST(unknown_keyword)
{
    sshtun_error err = { 0, "" };

    ck_assert_int_eq(sshtun_options_set(o, "NoSuchOption", "1080", &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_str_eq(err.msg, "Bad configuration option: NoSuchOption");
    ck_assert_ptr_null(sshtun_options_get(o, "NoSuchOption", 0));
    ck_assert_int_eq(sshtun_options_set(o, "Port2", "1", &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "Bad configuration option"));
}
END_TEST

START_TEST(null_arguments)
{
    sshtun_error err = { 0, "" };

    ck_assert_int_eq(sshtun_options_set(NULL, "Port", "22", &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_int_eq(sshtun_options_set(o, NULL, "22", &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_int_eq(sshtun_options_set(o, "Port", NULL, &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_int_eq(sshtun_options_set(o, "Port", "0", NULL),
                     SSHTUN_ERR_INVAL);
    ck_assert_int_eq(sshtun_options_set(o, "Port", "22", NULL), 0);
    ck_assert_ptr_null(sshtun_options_get(NULL, "User", 0));
    sshtun_options_free(NULL);
}
END_TEST

START_TEST(list_overflow)
{
    char v[64];
    sshtun_error err = { 0, "" };

    for (int i = 0; i < OPT_LIST_MAX; i++) {
        snprintf(v, sizeof v, "/keys/%d", i);
        set_ok("IdentityFile", v);
        snprintf(v, sizeof v, "%d:h:%d", 10000 + i, i + 1);
        set_ok("LocalForward", v);
    }
    ck_assert_int_eq(sshtun_options_set(o, "IdentityFile", "/keys/more",
                                        &err), SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "IdentityFile"));
    ck_assert_ptr_nonnull(strstr(err.msg, "too many"));
    ck_assert_int_eq(sshtun_options_set(o, "LocalForward", "1:h:1", &err),
                     SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "LocalForward"));
    ck_assert_ptr_nonnull(strstr(err.msg, "too many"));
    ck_assert_int_eq(list_count("IdentityFile"), OPT_LIST_MAX);
    ck_assert_int_eq(list_count("LocalForward"), OPT_LIST_MAX);
    ck_assert_str_eq(sshtun_options_get(o, "IdentityFile",
                                        OPT_LIST_MAX - 1), "/keys/31");
}
END_TEST

START_TEST(dup_deep_copy)
{
    sshtun_options *c;
    int ctx;

    set_ok("HostName", "example.com");
    set_ok("User", "alice");
    set_ok("Port", "2200");
    set_ok("IdentityFile", "/keys/a");
    set_ok("IdentityFile", "/keys/b");
    set_ok("LocalForward", "8080 web:80");
    set_ok("StrictHostKeyChecking", "accept-new");
    set_ok("WindowSize", "2M");
    set_ok("UserKnownHostsFile", "/tmp/kh");
    sshtun_options_set_log(o, dummy_log, &ctx);
    sshtun_options_set_passphrase(o, dummy_pass, &ctx);

    c = options_dup(o);
    ck_assert_ptr_nonnull(c);
    /* Same values, own storage. */
    ck_assert_ptr_ne(c->hostname, o->hostname);
    ck_assert_ptr_ne(c->identity_files.v[0], o->identity_files.v[0]);
    ck_assert_ptr_ne(c->local_forwards.v[0], o->local_forwards.v[0]);
    ck_assert_ptr_ne(c->user_known_hosts, o->user_known_hosts);
    ck_assert_ptr_null(c->ciphers);
    ck_assert_ptr_eq(c->log.fn, dummy_log);
    ck_assert_ptr_eq(c->log.user, &ctx);
    ck_assert_ptr_eq(c->pass_fn, dummy_pass);
    ck_assert_ptr_eq(c->pass_user, &ctx);
    /* The copy outlives the original. */
    sshtun_options_free(o);
    o = NULL;
    ck_assert_str_eq(sshtun_options_get(c, "HostName", 0), "example.com");
    ck_assert_str_eq(sshtun_options_get(c, "User", 0), "alice");
    ck_assert_int_eq(c->port, 2200);
    ck_assert_str_eq(sshtun_options_get(c, "IdentityFile", 0), "/keys/a");
    ck_assert_str_eq(sshtun_options_get(c, "IdentityFile", 1), "/keys/b");
    ck_assert_ptr_null(sshtun_options_get(c, "IdentityFile", 2));
    ck_assert_str_eq(sshtun_options_get(c, "LocalForward", 0),
                     "8080:web:80");
    ck_assert_str_eq(sshtun_options_get(c, "UserKnownHostsFile", 0),
                     "/tmp/kh");
    ck_assert_int_eq(c->strict, STRICT_ACCEPT_NEW);
    ck_assert_int_eq(c->window_size, 2L * 1024 * 1024);
    /* And still accumulates on its own. */
    o = c;
    set_ok("IdentityFile", "/keys/c");
    ck_assert_int_eq(list_count("IdentityFile"), 3);
}
END_TEST

START_TEST(dup_empty)
{
    sshtun_options *c = options_dup(o);

    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(c->hostname);
    ck_assert_int_eq(c->port, -1);
    ck_assert_int_eq(c->identity_files.n, 0);
    sshtun_options_free(c);
}
END_TEST

/* The suite: parsing, values, lists, copy. */
static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *kw = tcase_create("keywords");
    TCase *vals = tcase_create("values");
    TCase *lists = tcase_create("lists");
    TCase *dup = tcase_create("dup");

    tcase_add_checked_fixture(kw, setup, teardown);
    tcase_add_test(kw, defaults);
    tcase_add_test(kw, server_alive_keywords);
    tcase_add_test(kw, dynamic_and_socks_keywords);
    tcase_add_test(kw, trailing_blanks);
    tcase_add_test(kw, case_insensitive);
    tcase_add_test(kw, parse_forms);
    tcase_add_test(kw, parse_errors);
    tcase_add_test(kw, first_value_wins);
    tcase_add_test(kw, unknown_keyword);
    tcase_add_test(kw, null_arguments);
    suite_add_tcase(s, kw);

    tcase_add_checked_fixture(vals, setup, teardown);
    tcase_add_test(vals, bad_port);
    tcase_add_test(vals, yes_no_keywords);
    tcase_add_test(vals, strict_values);
    tcase_add_test(vals, connect_timeout);
    tcase_add_test(vals, window_size);
    tcase_add_test(vals, log_levels);
    tcase_add_test(vals, address_family);
    tcase_add_test(vals, string_keywords);
    suite_add_tcase(s, vals);

    tcase_add_checked_fixture(lists, setup, teardown);
    tcase_add_test(lists, identity_files_accumulate);
    tcase_add_test(lists, local_forwards_accumulate);
    tcase_add_test(lists, local_forward_bad);
    tcase_add_test(lists, list_overflow);
    suite_add_tcase(s, lists);

    tcase_add_checked_fixture(dup, setup, teardown);
    tcase_add_test(dup, dup_deep_copy);
    tcase_add_test(dup, permit_remote_open);
    tcase_add_test(dup, dup_empty);
    tcase_add_test(dup, strip_controls);
    suite_add_tcase(s, dup);
    return s;
}

CHECK_MAIN(options_suite)
