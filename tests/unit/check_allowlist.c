/*
 * check_allowlist.c - unit tests for src/allowlist.c.
 *
 * Parses SOCKS destination rules "HOST[:PORTS]" (`*`, name patterns,
 * IPv4 addresses and networks, bracketed IPv6 ones; ports `*`, single or
 * ranges; comma- and space-separated lists) and checks that bad rules are
 * refused with SSHTUN_ERR_INVAL and a message quoting the rule.  Then
 * matches destinations: port ranges at their edges, name globs with `*`
 * and `?` regardless of case, network prefixes from /0 to full length
 * including ones that end inside a byte, names never matched against
 * networks nor addresses against name patterns, an empty list allowing
 * everything, and the limit on the number of rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/allowlist.h"

#include "check_util.h"

/* A fresh, empty list (static: it is large). */
static struct allowlist *fresh(void)
{
    static struct allowlist l;

    memset(&l, 0, sizeof l);
    return &l;
}

/* A list of exactly the rules in spec, asserting they parse. */
static struct allowlist *rules(const char *spec)
{
    struct allowlist *l = fresh();
    sshtun_error err = { 0, "" };

    ck_assert_msg(allowlist_add(l, spec, &err) == 0, "'%s' refused: %s",
                  spec, err.msg);
    return l;
}

/* Assert spec is refused with a message quoting bad_rule. */
static void bad(const char *spec, const char *bad_rule)
{
    struct allowlist *l = fresh();
    sshtun_error err = { 0, "" };
    char want[600];
    int rc = allowlist_add(l, spec, &err);

    snprintf(want, sizeof want, "bad rule '%s'", bad_rule);
    check_error(spec, rc, &err, SSHTUN_ERR_INVAL, want);
    check_error(spec, rc, &err, SSHTUN_ERR_INVAL, "SocksAllow");
}

/* Whether a name (as a SOCKS client asks for it) is allowed. */
static int name_ok(const struct allowlist *l, const char *host, int port)
{
    return allowlist_match(l, host, 1, port);
}

/* Whether an address (IPv4 or IPv6 text) is allowed. */
static int addr_ok(const struct allowlist *l, const char *host, int port)
{
    return allowlist_match(l, host, 0, port);
}

/* -------------------------------------------------------------- parse */

START_TEST(parse_good)
{
    struct allowlist *l;

    l = rules("*");
    ck_assert_int_eq(l->n, 1);
    ck_assert_int_eq(l->rules[0].kind, ALLOW_ANY);
    ck_assert_int_eq(l->rules[0].port_lo, 1);
    ck_assert_int_eq(l->rules[0].port_hi, 65535);

    l = rules("*.Example.COM:443");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NAME);
    ck_assert_str_eq(l->rules[0].name, "*.example.com");
    ck_assert_int_eq(l->rules[0].port_lo, 443);
    ck_assert_int_eq(l->rules[0].port_hi, 443);

    l = rules("10.0.0.0/8:8000-8999");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NET4);
    ck_assert_int_eq(l->rules[0].prefix, 8);
    ck_assert_int_eq(l->rules[0].addr[0], 10);
    ck_assert_int_eq(l->rules[0].port_lo, 8000);
    ck_assert_int_eq(l->rules[0].port_hi, 8999);

    l = rules("192.168.1.7");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NET4);
    ck_assert_int_eq(l->rules[0].prefix, 32);

    l = rules("[fd00::/8]:22");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NET6);
    ck_assert_int_eq(l->rules[0].prefix, 8);
    ck_assert_int_eq(l->rules[0].addr[0], 0xfd);
    ck_assert_int_eq(l->rules[0].port_lo, 22);

    l = rules("[::1]");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NET6);
    ck_assert_int_eq(l->rules[0].prefix, 128);
    ck_assert_int_eq(l->rules[0].port_lo, 1);
    ck_assert_int_eq(l->rules[0].port_hi, 65535);

    l = rules("host-1.under_score.example:*");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NAME);
    ck_assert_str_eq(l->rules[0].name, "host-1.under_score.example");

    l = rules("db??.internal:5432");
    ck_assert_str_eq(l->rules[0].name, "db??.internal");
}
END_TEST

START_TEST(parse_lists)
{
    struct allowlist *l = fresh();
    sshtun_error err = { 0, "" };

    ck_assert_int_eq(allowlist_add(l, "a.example:80, 10.0.0.0/8,[::1]:22",
                                   &err), 0);
    ck_assert_int_eq(l->n, 3);
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NAME);
    ck_assert_int_eq(l->rules[1].kind, ALLOW_NET4);
    ck_assert_int_eq(l->rules[2].kind, ALLOW_NET6);
    /* Later calls add to the list (one per option). */
    ck_assert_int_eq(allowlist_add(l, "b.example\tc.example", &err), 0);
    ck_assert_int_eq(l->n, 5);
    ck_assert_str_eq(l->rules[3].name, "b.example");
    ck_assert_str_eq(l->rules[4].name, "c.example");
}
END_TEST

START_TEST(parse_ports)
{
    struct allowlist *l;

    l = rules("h:1");
    ck_assert_int_eq(l->rules[0].port_lo, 1);
    ck_assert_int_eq(l->rules[0].port_hi, 1);
    l = rules("h:65535");
    ck_assert_int_eq(l->rules[0].port_lo, 65535);
    l = rules("h:1-65535");
    ck_assert_int_eq(l->rules[0].port_lo, 1);
    ck_assert_int_eq(l->rules[0].port_hi, 65535);
    l = rules("h:22-22");
    ck_assert_int_eq(l->rules[0].port_lo, 22);
    ck_assert_int_eq(l->rules[0].port_hi, 22);

    bad("h:0", "h:0");
    bad("h:65536", "h:65536");
    bad("h:", "h:");
    bad("h:-5", "h:-5");
    bad("h:90-80", "h:90-80");
    bad("h:80-", "h:80-");
    bad("h:80-90-100", "h:80-90-100");
    bad("h:0-10", "h:0-10");
    bad("h:10-65536", "h:10-65536");
    bad("h:http", "h:http");
    bad("h:0x50", "h:0x50");
    bad("h:80:81", "h:80:81");
    bad("10.0.0.1:99999", "10.0.0.1:99999");
    bad("[::1]:", "[::1]:");
    bad("[::1]:0", "[::1]:0");
}
END_TEST

START_TEST(parse_bad_hosts)
{
    char spec[300];

    bad("exa$mple.com", "exa$mple.com");
    bad("ex/ample", "ex/ample");
    bad(":80", ":80");
    bad("10.0.0.0/33", "10.0.0.0/33");
    bad("10.0.0.0/", "10.0.0.0/");
    bad("10.0.0.0/-1", "10.0.0.0/-1");
    bad("10.0.0.0/8/8", "10.0.0.0/8/8");
    bad("10.0.0", "10.0.0");
    bad("256.0.0.1", "256.0.0.1");
    bad("1234", "1234");
    bad("[fd00::/129]", "[fd00::/129]");
    bad("[fd00::", "[fd00::");
    bad("[fd00::]x", "[fd00::]x");
    bad("[]", "[]");
    bad("[example.com]", "[example.com]");
    bad("[10.0.0.1]", "[10.0.0.1]");
    bad("fd00::1", "fd00::1");          /* IPv6 needs brackets */
    /* The bad rule of a list is the one named. */
    bad("ok.example,b@d,also.ok", "b@d");
    /* A name of 255 characters is fine, 256 is not. */
    memset(spec, 'a', 255);
    spec[255] = '\0';
    rules(spec);
    memset(spec, 'a', 256);
    spec[256] = '\0';
    bad(spec, spec);
}
END_TEST

START_TEST(parse_bad_value)
{
    struct allowlist *l = fresh();
    sshtun_error err = { 0, "" };
    char *big = malloc(2000);

    ck_assert_int_eq(allowlist_add(l, NULL, &err), SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "SocksAllow"));
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', 1999);
    big[1999] = '\0';
    ck_assert_int_eq(allowlist_add(l, big, &err), SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "bad value"));
    ck_assert_int_eq(l->n, 0);
    free(big);
}
END_TEST

START_TEST(too_many_rules)
{
    struct allowlist *l = fresh();
    sshtun_error err = { 0, "" };
    char rule[32];

    for (int i = 0; i < ALLOW_MAX_RULES; i++) {
        snprintf(rule, sizeof rule, "h%d.example:%d", i, i + 1);
        ck_assert_int_eq(allowlist_add(l, rule, &err), 0);
    }
    ck_assert_int_eq(l->n, ALLOW_MAX_RULES);
    ck_assert_int_eq(allowlist_add(l, "one.more", &err), SSHTUN_ERR_INVAL);
    ck_assert_int_eq(l->n, ALLOW_MAX_RULES);
    snprintf(rule, sizeof rule, "more than %d rules", ALLOW_MAX_RULES);
    ck_assert_msg(strstr(err.msg, rule), "message '%s'", err.msg);
    /* The rules already in still work. */
    ck_assert(name_ok(l, "h63.example", 64));
    ck_assert(!name_ok(l, "one.more", 64));

    /* Too many in a single spec. */
    l = fresh();
    {
        char spec[1000] = "";
        for (int i = 0; i <= ALLOW_MAX_RULES; i++)
            strcat(spec, "x.y,");
        ck_assert_int_eq(allowlist_add(l, spec, &err), SSHTUN_ERR_INVAL);
        ck_assert_ptr_nonnull(strstr(err.msg, rule));
    }
}
END_TEST

/* -------------------------------------------------------------- match */

START_TEST(empty_allows_all)
{
    struct allowlist *l = fresh();

    ck_assert(name_ok(l, "anything.example", 1));
    ck_assert(name_ok(l, "x", 65535));
    ck_assert(addr_ok(l, "10.1.2.3", 22));
    ck_assert(addr_ok(l, "::1", 80));
}
END_TEST

START_TEST(match_any)
{
    struct allowlist *l = rules("*:443");

    ck_assert(name_ok(l, "example.com", 443));
    ck_assert(addr_ok(l, "1.2.3.4", 443));
    ck_assert(addr_ok(l, "2001:db8::1", 443));
    ck_assert(!name_ok(l, "example.com", 80));
    ck_assert(!addr_ok(l, "1.2.3.4", 444));
}
END_TEST

START_TEST(match_ports)
{
    struct allowlist *l = rules("h.example:8000-8999,h.example:22");

    ck_assert(!name_ok(l, "h.example", 7999));
    ck_assert(name_ok(l, "h.example", 8000));
    ck_assert(name_ok(l, "h.example", 8500));
    ck_assert(name_ok(l, "h.example", 8999));
    ck_assert(!name_ok(l, "h.example", 9000));
    ck_assert(name_ok(l, "h.example", 22));
    ck_assert(!name_ok(l, "h.example", 21));
    ck_assert(!name_ok(l, "h.example", 23));
    l = rules("h.example");
    ck_assert(name_ok(l, "h.example", 1));
    ck_assert(name_ok(l, "h.example", 65535));
}
END_TEST

START_TEST(match_globs)
{
    struct allowlist *l = rules("*.example.com:443");

    ck_assert(name_ok(l, "www.example.com", 443));
    ck_assert(name_ok(l, "a.b.example.com", 443));
    ck_assert(name_ok(l, "WWW.Example.COM", 443));
    ck_assert(!name_ok(l, "example.com", 443));         /* needs the dot */
    ck_assert(!name_ok(l, "www.example.com.evil", 443));
    ck_assert(!name_ok(l, "wwwexample.com", 443));
    ck_assert(!name_ok(l, "www.example.org", 443));

    l = rules("DB??.internal");
    ck_assert(name_ok(l, "db01.internal", 5432));
    ck_assert(name_ok(l, "DBxy.INTERNAL", 5432));
    ck_assert(!name_ok(l, "db1.internal", 5432));
    ck_assert(!name_ok(l, "db001.internal", 5432));

    l = rules("exact.host");
    ck_assert(name_ok(l, "exact.host", 1));
    ck_assert(name_ok(l, "EXACT.HOST", 1));
    ck_assert(!name_ok(l, "exact.hostx", 1));
    ck_assert(!name_ok(l, "xexact.host", 1));
    ck_assert(!name_ok(l, "exact.hos", 1));

    l = rules("a*b*c");
    ck_assert(name_ok(l, "abc", 1));
    ck_assert(name_ok(l, "a-b-c", 1));
    ck_assert(name_ok(l, "axxbyybzzc", 1));
    ck_assert(!name_ok(l, "axxbyybzzcd", 1));
    ck_assert(!name_ok(l, "acb", 1));

    l = rules("**.x");
    ck_assert(name_ok(l, "a.x", 1));
    ck_assert(name_ok(l, ".x", 1));
    ck_assert(!name_ok(l, "x", 1));
}
END_TEST

START_TEST(match_ipv4)
{
    struct allowlist *l = rules("10.0.0.0/8");

    ck_assert(addr_ok(l, "10.0.0.0", 80));
    ck_assert(addr_ok(l, "10.255.255.255", 80));
    ck_assert(!addr_ok(l, "11.0.0.0", 80));
    ck_assert(!addr_ok(l, "9.255.255.255", 80));
    ck_assert(addr_ok(l, "::ffff:10.0.0.1", 80));       /* mapped: IPv4 */

    /* A prefix ending inside a byte. */
    l = rules("10.0.0.0/9");
    ck_assert(addr_ok(l, "10.127.255.255", 80));
    ck_assert(!addr_ok(l, "10.128.0.0", 80));
    l = rules("192.168.1.64/26");
    ck_assert(!addr_ok(l, "192.168.1.63", 80));
    ck_assert(addr_ok(l, "192.168.1.64", 80));
    ck_assert(addr_ok(l, "192.168.1.127", 80));
    ck_assert(!addr_ok(l, "192.168.1.128", 80));

    /* /32 and a bare address: that address only. */
    l = rules("192.168.1.7/32");
    ck_assert(addr_ok(l, "192.168.1.7", 80));
    ck_assert(!addr_ok(l, "192.168.1.6", 80));
    ck_assert(!addr_ok(l, "192.168.1.8", 80));
    l = rules("192.168.1.7");
    ck_assert(addr_ok(l, "192.168.1.7", 80));
    ck_assert(!addr_ok(l, "192.168.1.70", 80));

    /* /0: every IPv4 address, nothing else. */
    l = rules("0.0.0.0/0:22");
    ck_assert(addr_ok(l, "0.0.0.0", 22));
    ck_assert(addr_ok(l, "255.255.255.255", 22));
    ck_assert(addr_ok(l, "8.8.8.8", 22));
    ck_assert(!addr_ok(l, "8.8.8.8", 23));
    ck_assert(!addr_ok(l, "::1", 22));
    ck_assert(!name_ok(l, "example.com", 22));

    /* Host bits in the rule's address are ignored. */
    l = rules("10.1.2.3/8");
    ck_assert(addr_ok(l, "10.200.0.1", 1));
}
END_TEST

START_TEST(match_ipv6)
{
    struct allowlist *l = rules("[fd00::/8]");

    ck_assert(addr_ok(l, "fd00::1", 80));
    ck_assert(addr_ok(l, "fdff:ffff::", 80));
    ck_assert(addr_ok(l, "FD12:3456::9", 80));
    ck_assert(!addr_ok(l, "fc00::1", 80));
    ck_assert(!addr_ok(l, "fe80::1", 80));
    ck_assert(!addr_ok(l, "10.0.0.1", 80));

    l = rules("[fc00::/7]:22");
    ck_assert(addr_ok(l, "fc00::1", 22));
    ck_assert(addr_ok(l, "fdab::1", 22));
    ck_assert(!addr_ok(l, "fe00::1", 22));
    ck_assert(!addr_ok(l, "fc00::1", 23));

    l = rules("[2001:db8::1/128]");
    ck_assert(addr_ok(l, "2001:db8::1", 80));
    ck_assert(addr_ok(l, "2001:0db8:0000::0001", 80));
    ck_assert(!addr_ok(l, "2001:db8::2", 80));
    l = rules("[::1]");
    ck_assert(addr_ok(l, "::1", 80));
    ck_assert(!addr_ok(l, "::", 80));
    ck_assert(!addr_ok(l, "127.0.0.1", 80));

    /* A prefix ending inside the last byte. */
    l = rules("[2001:db8::80/121]");
    ck_assert(addr_ok(l, "2001:db8::80", 80));
    ck_assert(addr_ok(l, "2001:db8::ff", 80));
    ck_assert(!addr_ok(l, "2001:db8::7f", 80));

    l = rules("[::/0]");
    ck_assert(addr_ok(l, "::", 1));
    ck_assert(addr_ok(l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1));
    ck_assert(!addr_ok(l, "::ffff:1.2.3.4", 1));    /* mapped: IPv4 */
    ck_assert(!addr_ok(l, "1.2.3.4", 1));
    ck_assert(!name_ok(l, "example.com", 1));
}
END_TEST

START_TEST(names_never_networks)
{
    /* A real name is resolved on the far side, so it is never checked
     * against a network; but a name a resolver reads as a number is that
     * address. */
    struct allowlist *l = rules("10.0.0.0/8,[::1],127.0.0.1");

    ck_assert(!name_ok(l, "localhost", 80));
    ck_assert(!name_ok(l, "10.0.0.1.example", 80));
    ck_assert(name_ok(l, "10.0.0.1", 80));      /* the address, by name */
    ck_assert(name_ok(l, "::1", 80));
    ck_assert(name_ok(l, "127.0.0.1", 80));
    ck_assert(addr_ok(l, "10.0.0.1", 80));
    ck_assert(addr_ok(l, "::1", 80));
    ck_assert(addr_ok(l, "127.0.0.1", 80));

    /* Addresses are never matched against name patterns. */
    l = rules("*.example,*:443");
    ck_assert(!addr_ok(l, "10.0.0.1", 80));
    ck_assert(addr_ok(l, "10.0.0.1", 443));

    /* Text that is no address is not matched as one. */
    l = rules("0.0.0.0/0,[::/0]");
    ck_assert(!addr_ok(l, "not-an-address", 80));
    ck_assert(!addr_ok(l, "", 80));
    ck_assert(!name_ok(l, "not-an-address", 80));
}
END_TEST

START_TEST(mapped_ipv6_is_ipv4)
{
    struct allowlist *l = rules("10.0.0.0/8");

    /* ::ffff:10.0.0.1 goes to 10.0.0.1: judged as that IPv4 address. */
    ck_assert(addr_ok(l, "::ffff:10.0.0.1", 80));
    ck_assert(addr_ok(l, "::FFFF:0a00:0001", 80));
    ck_assert(!addr_ok(l, "::ffff:11.0.0.1", 80));
    ck_assert(name_ok(l, "::ffff:10.0.0.1", 80));
    /* An IPv6 rule does not let a mapped IPv4 address through... */
    l = rules("[::/0]");
    ck_assert(!addr_ok(l, "::ffff:1.2.3.4", 1));
    ck_assert(addr_ok(l, "::1.2.3.4", 1));      /* not mapped: IPv6 */
    /* ...and a mapped rule is an IPv4 rule. */
    l = rules("[::ffff:10.0.0.0/104]");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_NET4);
    ck_assert_int_eq(l->rules[0].prefix, 8);
    ck_assert(addr_ok(l, "10.1.2.3", 1));
    ck_assert(addr_ok(l, "::ffff:10.1.2.3", 1));
    ck_assert(!addr_ok(l, "11.1.2.3", 1));
}
END_TEST

START_TEST(address_patterns_never_names)
{
    /* 192.168.1.* is an address pattern: the name
     * 192.168.1.5.attacker.example resolves anywhere. */
    struct allowlist *l = rules("192.168.1.*");

    ck_assert_int_eq(l->rules[0].kind, ALLOW_ADDR4_PATTERN);
    ck_assert(addr_ok(l, "192.168.1.5", 80));
    ck_assert(!addr_ok(l, "192.168.2.5", 80));
    ck_assert(!name_ok(l, "192.168.1.5.attacker.example", 80));
    ck_assert(!name_ok(l, "192.168.1.x", 80));
    ck_assert(name_ok(l, "192.168.1.5", 80));   /* a number by name */
    ck_assert(addr_ok(l, "::ffff:192.168.1.9", 80));
    l = rules("10.?.*.1:22");
    ck_assert(addr_ok(l, "10.3.200.1", 22));
    ck_assert(!addr_ok(l, "10.33.200.1", 22));
    ck_assert(!addr_ok(l, "10.3.200.1", 23));
    l = rules("*.1");
    ck_assert_int_eq(l->rules[0].kind, ALLOW_ADDR4_PATTERN);
    ck_assert(!name_ok(l, "a.1", 80));
}
END_TEST

START_TEST(numeric_names_are_addresses)
{
    /* inet_aton's forms are all 127.0.0.1 to a resolver. */
    static const char *const loopback[] = {
        "127.1", "127.0.1", "2130706433", "0x7f.1", "0x7F000001",
        "017700000001", "0177.0.0.01", "127.1 junk",
    };
    struct allowlist *l = rules("127.0.0.0/8:80");
    uint8_t a[4];

    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
        ck_assert_msg(name_ok(l, loopback[i], 80), "%s", loopback[i]);
        ck_assert_int_eq(allowlist_parse_aton(loopback[i], a), 0);
        ck_assert_int_eq(a[0], 127);
        ck_assert_int_eq(a[3], 1);
    }
    /* So a name rule never lets them through. */
    l = rules("*:443,localhost,box7*,*x*,*junk*,*.0.1.");
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
        ck_assert_msg(!name_ok(l, loopback[i], 80), "%s", loopback[i]);
    ck_assert(name_ok(l, "localhost", 80));
    ck_assert(name_ok(l, "box7.lan", 80));
    ck_assert(!name_ok(l, "127.0.0.1.", 80));   /* a final dot */
    ck_assert(name_ok(rules("127.0.0.1"), "127.0.0.1.", 80));
    /* Not numbers: ordinary names. */
    ck_assert_int_eq(allowlist_parse_aton("1e100.net", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("08.1", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("256.1.1.1", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("1.2.3.4.5", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("1.2.65536", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("4294967296", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("1..2", a), -1);
    ck_assert_int_eq(allowlist_parse_aton("1.2.65535", a), 0);
    ck_assert_int_eq(a[2], 255);
    /* Names with characters no host name has match no name rule. */
    l = rules("*.example");
    ck_assert(!name_ok(l, "127.0.0.1 .example", 80));
    ck_assert(!name_ok(l, "a b.example", 80));
    ck_assert(name_ok(l, "www.example.", 80));  /* a final dot */
    /* A name rule that is a number in disguise is refused. */
    bad("0x7f.1", "0x7f.1");
    bad("127.1", "127.1");
}
END_TEST

START_TEST(first_match_any_rule)
{
    struct allowlist *l = rules("a.example:80,10.0.0.0/8:22,[::1]:443");

    ck_assert(name_ok(l, "a.example", 80));
    ck_assert(!name_ok(l, "a.example", 22));
    ck_assert(addr_ok(l, "10.9.9.9", 22));
    ck_assert(!addr_ok(l, "10.9.9.9", 80));
    ck_assert(addr_ok(l, "::1", 443));
    ck_assert(!addr_ok(l, "::1", 22));
    ck_assert(!name_ok(l, "b.example", 80));
}
END_TEST

/* The suite: parsing, then matching. */
static Suite *allowlist_suite(void)
{
    Suite *s = suite_create("allowlist");
    TCase *parse = tcase_create("parse");
    TCase *match = tcase_create("match");

    tcase_add_test(parse, parse_good);
    tcase_add_test(parse, parse_lists);
    tcase_add_test(parse, parse_ports);
    tcase_add_test(parse, parse_bad_hosts);
    tcase_add_test(parse, parse_bad_value);
    tcase_add_test(parse, too_many_rules);
    suite_add_tcase(s, parse);

    tcase_add_test(match, empty_allows_all);
    tcase_add_test(match, match_any);
    tcase_add_test(match, match_ports);
    tcase_add_test(match, match_globs);
    tcase_add_test(match, match_ipv4);
    tcase_add_test(match, match_ipv6);
    tcase_add_test(match, names_never_networks);
    tcase_add_test(match, mapped_ipv6_is_ipv4);
    tcase_add_test(match, address_patterns_never_names);
    tcase_add_test(match, numeric_names_are_addresses);
    tcase_add_test(match, first_match_any_rule);
    suite_add_tcase(s, match);
    return s;
}

CHECK_MAIN(allowlist_suite)
