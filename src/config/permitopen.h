/*
 * permitopen.h - PermitRemoteOpen: where a `-R port` SOCKS proxy may
 * connect, as ssh_config(5) defines it.
 *
 * The value is blank-separated "host:port" or "[ipv6]:port" entries,
 * where host or port may be `*`, or the single word `any` (no limit) or
 * `none` (nothing).  Names are compared as written (without regard to
 * case): no pattern matching and no lookups, as in ssh.  Pure: no I/O.
 */
#ifndef SSHTUN_PERMITOPEN_H
#define SSHTUN_PERMITOPEN_H

#include "sshtun.h"

#define PERMITOPEN_MAX 32
#define PERMITOPEN_HOST_MAX 256

struct permitopen {
    int any;                        /* no limit (unset or "any") */
    int n;                          /* entries; 0 with !any: "none" */
    struct {
        char host[PERMITOPEN_HOST_MAX];     /* "*": any host */
        int port;                           /* 0: any port */
    } v[PERMITOPEN_MAX];
};

/* Parse a value (NULL: unset, no limit).  Returns 0 or SSHTUN_ERR_INVAL
 * with err naming the bad entry. */
int permitopen_parse(struct permitopen *p, const char *value,
                     sshtun_error *err);

/* Whether host:port may be opened. */
int permitopen_match(const struct permitopen *p, const char *host, int port);

#endif
