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

/* Check a destination against the rules. */
int allowlist_match(const struct allowlist *l, const char *host,
                    int is_name, int port)
{
    uint8_t a4[4], a6[16];
    int is4 = !is_name && inet_pton(AF_INET, host, a4) == 1;
    int is6 = !is_name && !is4 && inet_pton(AF_INET6, host, a6) == 1;

    if (l->n == 0)
        return 1;
    for (int i = 0; i < l->n; i++) {
        const struct allow_rule *r = &l->rules[i];
        if (port < r->port_lo || port > r->port_hi)
            continue;
        switch (r->kind) {
        case ALLOW_ANY:
            return 1;
        case ALLOW_NAME:
            if (is_name && pattern_match(r->name, host))
                return 1;
            break;
        case ALLOW_NET4:
            if (is4 && prefix_equal(r->addr, a4, r->prefix))
                return 1;
            break;
        case ALLOW_NET6:
            if (is6 && prefix_equal(r->addr, a6, r->prefix))
                return 1;
            break;
        }
    }
    return 0;
}
