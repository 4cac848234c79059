/*
 * allowlist.c - SOCKS destination rules (see allowlist.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/allowlist.h"
#include "base/error.h"
#include "base/pattern.h"

/* The first 12 bytes of an IPv4-mapped IPv6 address. */
static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0xff, 0xff };

/* One inet_aton part at *p (decimal, 0 octal, 0x hex); -1 if none or
 * over 32 bits. */
static long aton_part(const char **p)
{
    const char *s = *p;
    unsigned long v = 0;
    int base = 10, digits = 0;

    if (!isdigit((unsigned char)*s))
        return -1;
    if (*s == '0') {
        base = 8;
        s++;
        digits = 1;
        if (*s == 'x' || *s == 'X') {
            base = 16;
            s++;
        }
    }
    for (;; s++, digits++) {
        int c = tolower((unsigned char)*s), d;
        if (isdigit(c) && c - '0' < base)
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            break;
        v = v * (unsigned)base + (unsigned)d;
        if (v > 0xffffffffUL)
            return -1;
    }
    if (isdigit((unsigned char)*s))
        return -1;                  /* 8 or 9 in an octal part */
    (void)digits;
    *p = s;
    return (long)v;
}

/* Parse one of inet_aton's forms: a, a.b, a.b.c, a.b.c.d, parts in
 * decimal, octal or hex, the last filling the remaining bytes; like
 * glibc, anything after a blank is ignored.  0, or -1. */
int allowlist_parse_aton(const char *s, uint8_t out[4])
{
    static const unsigned long last_max[] = { 0xffffffffUL, 0xffffffUL,
                                              0xffffUL, 0xffUL };
    long part[4];
    int n = 0;
    unsigned long v = 0;

    for (;;) {
        if ((part[n] = aton_part(&s)) < 0)
            return -1;
        n++;
        if (*s != '.')
            break;
        if (n == 4)
            return -1;
        s++;
    }
    if (*s && !isspace((unsigned char)*s))
        return -1;
    for (int i = 0; i < n - 1; i++) {
        if (part[i] > 255)
            return -1;
        v |= (unsigned long)part[i] << (24 - 8 * i);
    }
    if ((unsigned long)part[n - 1] > last_max[n - 1])
        return -1;
    v |= (unsigned long)part[n - 1];
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(v >> (24 - 8 * i));
    return 0;
}

/* Parse "*", "N" or "N-M" into a port range. */
static int parse_ports(const char *s, struct allow_rule *r)
{
    char *end;
    long lo, hi;

    if (!strcmp(s, "*")) {
        r->port_lo = 1;
        r->port_hi = 65535;
        return 0;
    }
    lo = strtol(s, &end, 10);
    hi = lo;
    if (end == s)
        return -1;
    if (*end == '-') {
        const char *h = end + 1;
        hi = strtol(h, &end, 10);
        if (end == h)
            return -1;
    }
    if (*end || lo < 1 || hi > 65535 || lo > hi)
        return -1;
    r->port_lo = (int)lo;
    r->port_hi = (int)hi;
    return 0;
}

/* Parse "addr[/prefix]" for one family. */
static int parse_net(const char *s, int family, struct allow_rule *r)
{
    char buf[64], *slash;
    int max = family == AF_INET ? 32 : 128;

    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    r->prefix = max;
    if ((slash = strchr(buf, '/'))) {
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || p < 0 || p > max)
            return -1;
        r->prefix = (int)p;
        *slash = '\0';
    }
    if (inet_pton(family, buf, r->addr) != 1)
        return -1;
    r->kind = family == AF_INET ? ALLOW_NET4 : ALLOW_NET6;
    if (r->kind == ALLOW_NET6 && r->prefix >= 96
        && !memcmp(r->addr, v4mapped, sizeof v4mapped)) {
        /* ::ffff:a.b.c.d/n is an IPv4 rule, as its addresses are. */
        memmove(r->addr, r->addr + 12, 4);
        r->prefix -= 96;
        r->kind = ALLOW_NET4;
    }
    return 0;
}

/* Parse one rule "HOST[:PORTS]". */
static int parse_rule(const char *rule, struct allow_rule *r)
{
    char host[300];
    const char *ports = "*";
    size_t hlen;

    memset(r, 0, sizeof *r);
    if (rule[0] == '[') {
        const char *close = strchr(rule, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -1;
        hlen = (size_t)(close - rule - 1);
        if (hlen >= sizeof host)
            return -1;
        memcpy(host, rule + 1, hlen);
        host[hlen] = '\0';
        if (close[1] == ':')
            ports = close + 2;
        if (parse_ports(ports, r))
            return -1;
        return parse_net(host, AF_INET6, r);
    }
    {
        const char *colon = strchr(rule, ':');
        hlen = colon ? (size_t)(colon - rule) : strlen(rule);
        if (colon)
            ports = colon + 1;
    }
    if (hlen == 0 || hlen >= 256)
        return -1;
    memcpy(host, rule, hlen);
    host[hlen] = '\0';
    if (parse_ports(ports, r))
        return -1;
    if (!strcmp(host, "*")) {
        r->kind = ALLOW_ANY;
        return 0;
    }
    if (strspn(host, "0123456789./") == hlen)
        return parse_net(host, AF_INET, r);
    if (strspn(host, "0123456789.*?") == hlen) {
        /* Digits, dots and wildcards: an IPv4 address pattern. */
        memcpy(r->name, host, hlen + 1);
        r->kind = ALLOW_ADDR4_PATTERN;
        return 0;
    }
    if (allowlist_parse_aton(host, r->addr) == 0)
        return -1;                  /* a number in disguise: write it as one */
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)host[i];
        if (!isalnum(ch) && !strchr("-._*?", ch))
            return -1;
        r->name[i] = (char)tolower(ch);
    }
    r->name[hlen] = '\0';
    r->kind = ALLOW_NAME;
    return 0;
}

/* Add comma-separated rules. */
int allowlist_add(struct allowlist *l, const char *spec, sshtun_error *err)
{
    char buf[1024], *save = NULL, *tok;

    if (!spec || strlen(spec) >= sizeof buf)
        return error_set(err, SSHTUN_ERR_INVAL, "SocksAllow: bad value");
    strcpy(buf, spec);
    for (tok = strtok_r(buf, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (l->n == ALLOW_MAX_RULES)
            return error_set(err, SSHTUN_ERR_INVAL, "SocksAllow: more than %d "
                             "rules", ALLOW_MAX_RULES);
        if (parse_rule(tok, &l->rules[l->n]))
            return error_set(err, SSHTUN_ERR_INVAL, "SocksAllow: bad rule "
                             "'%s' (want HOST[:PORTS], e.g. *.example.com:443, "
                             "10.0.0.0/8:*, [fd00::/8]:22)", tok);
        l->n++;
    }
    return 0;
}

/* Whether the first prefix bits of a and b agree. */
static int prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)bytes))
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        return (a[bytes] & mask) == (b[bytes] & mask);
    }
    return 1;
}

/* Where a destination really goes, as the rules judge it. */
struct dest {
    enum { DEST_NAME, DEST_V4, DEST_V6, DEST_OTHER } kind;
    uint8_t addr[16];
    char name[256];                 /* DEST_NAME: lower case, no final dot */
    char dotted[INET_ADDRSTRLEN];   /* DEST_V4 */
};

/* Whether s is made only of host name characters. */
static int name_chars(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-._", *s))
            return 0;
    return 1;
}

/* Judge host: an address (IPv4-mapped IPv6 as IPv4; a name a resolver
 * reads as a number as that number), a plain name, or neither. */
static void classify(const char *host, int is_name, struct dest *d)
{
    char buf[256], *pct;
    size_t len = strlen(host);

    memset(d, 0, sizeof *d);
    d->kind = DEST_OTHER;
    if (len >= sizeof buf)
        return;
    memcpy(buf, host, len + 1);
    if (is_name && len > 1 && buf[len - 1] == '.')
        buf[--len] = '\0';         /* "a.b." is "a.b" to a resolver */
    if (inet_pton(AF_INET, buf, d->addr) == 1
        || (is_name && allowlist_parse_aton(buf, d->addr) == 0)) {
        d->kind = DEST_V4;
    } else {
        if (is_name && (pct = strchr(buf, '%')))
            *pct = '\0';           /* fe80::1%eth0: scope aside */
        if (inet_pton(AF_INET6, buf, d->addr) == 1) {
            d->kind = DEST_V6;
            if (!memcmp(d->addr, v4mapped, sizeof v4mapped)) {
                memmove(d->addr, d->addr + 12, 4);
                d->kind = DEST_V4;
            }
        } else if (is_name && len && name_chars(buf)) {
            d->kind = DEST_NAME;
            for (size_t i = 0; i <= len; i++)
                d->name[i] = (char)tolower((unsigned char)buf[i]);
        }
    }
    if (d->kind == DEST_V4)
        inet_ntop(AF_INET, d->addr, d->dotted, sizeof d->dotted);
}

/* Whether one rule (ports aside) covers the destination. */
static int rule_covers(const struct allow_rule *r, const struct dest *d)
{
    switch (r->kind) {
    case ALLOW_ANY:
        return 1;
    case ALLOW_NAME:
        return d->kind == DEST_NAME && pattern_match(r->name, d->name);
    case ALLOW_ADDR4_PATTERN:
        return d->kind == DEST_V4 && pattern_match(r->name, d->dotted);
    case ALLOW_NET4:
        return d->kind == DEST_V4 && prefix_equal(r->addr, d->addr,
                                                  r->prefix);
    case ALLOW_NET6:
        return d->kind == DEST_V6 && prefix_equal(r->addr, d->addr,
                                                  r->prefix);
    }
    return 0;
}

/* Check a destination against the rules. */
int allowlist_match(const struct allowlist *l, const char *host,
                    int is_name, int port)
{
    struct dest d;

    if (l->n == 0)
        return 1;
    classify(host, is_name, &d);
    for (int i = 0; i < l->n; i++) {
        const struct allow_rule *r = &l->rules[i];
        if (port >= r->port_lo && port <= r->port_hi && rule_covers(r, &d))
            return 1;
    }
    return 0;
}
