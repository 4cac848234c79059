/*
 * allowlist.h - which destinations a SOCKS proxy may connect to.
 *
 * Rules are written "HOST[:PORTS]", comma-separated or one per option:
 * HOST is `*`, a host name pattern with `*` and `?` ("*.example.com"),
 * an IPv4 address or network ("10.0.0.0/8"), an IPv4 address pattern
 * (digits, dots and wildcards: "10.1.*"), or an IPv6 address or network
 * in brackets ("[fd00::/8]"); PORTS is `*`, a port, or a range
 * "8000-8999" (default `*`).
 *
 * Rules judge where a connection really goes.  An IPv4-mapped IPv6
 * address is the IPv4 address; a name that a resolver reads as a number
 * (inet_aton's forms "127.1", "2130706433", "0x7f.1") is that address;
 * both are judged by address rules only.  Name patterns match only real
 * names (letters, digits, '-', '.', '_'; a final dot ignored), and
 * address rules never match a name, which is resolved on the far side.
 * Pure: no I/O.
 */
#ifndef SSHTUN_ALLOWLIST_H
#define SSHTUN_ALLOWLIST_H

#include <stdint.h>

#include "sshtun.h"

#define ALLOW_MAX_RULES 64

struct allow_rule {
    enum { ALLOW_ANY, ALLOW_NAME, ALLOW_NET4, ALLOW_NET6,
           ALLOW_ADDR4_PATTERN } kind;
    char name[256];                 /* NAME / ADDR4_PATTERN pattern */
    uint8_t addr[16];
    int prefix;
    int port_lo, port_hi;
};

struct allowlist {
    int n;                          /* 0: everything allowed */
    struct allow_rule rules[ALLOW_MAX_RULES];
};

/* Add the rules of a comma-separated spec.  Returns 0 or SSHTUN_ERR_INVAL
 * with err naming the bad rule. */
int allowlist_add(struct allowlist *l, const char *spec, sshtun_error *err);

/* Parse one of inet_aton's IPv4 forms (see above) into out: 0, or -1. */
int allowlist_parse_aton(const char *s, uint8_t out[4]);

/* Whether host (as the client gave it; is_name: a name, not an address)
 * and port are allowed.  An empty list allows everything. */
int allowlist_match(const struct allowlist *l, const char *host,
                    int is_name, int port);

#endif
