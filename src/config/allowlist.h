/*
 * allowlist.h - which destinations a SOCKS proxy may connect to.
 *
 * Rules are written "HOST[:PORTS]", comma-separated or one per option:
 * HOST is `*`, a host name pattern with `*` and `?` ("*.example.com"),
 * an IPv4 address or network ("10.0.0.0/8"), or an IPv6 one in brackets
 * ("[fd00::/8]"); PORTS is `*`, a port, or a range "8000-8999" (default
 * `*`).  Name patterns match names asked for by name; network rules match
 * addresses asked for by address (names are resolved on the far side, so
 * they are never matched against networks).  Pure: no I/O.
 */
#ifndef SSHTUN_ALLOWLIST_H
#define SSHTUN_ALLOWLIST_H

#include <stdint.h>

#include "sshtun.h"

#define ALLOW_MAX_RULES 64

struct allow_rule {
    enum { ALLOW_ANY, ALLOW_NAME, ALLOW_NET4, ALLOW_NET6 } kind;
    char name[256];                 /* ALLOW_NAME pattern, lower case */
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

/* Whether host (as the client gave it; is_name: a name, not an address)
 * and port are allowed.  An empty list allows everything. */
int allowlist_match(const struct allowlist *l, const char *host,
                    int is_name, int port);

#endif
