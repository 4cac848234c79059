/*
 * listener.h - binding local TCP listeners the way ssh does.
 *
 * No bind address means loopback only (127.0.0.1 and ::1), or every
 * address with GatewayPorts=yes; "*" or "" means every address; anything
 * else is resolved and each address bound.  An address family the host
 * lacks is skipped; the forward fails only if nothing could be bound.
 */
#ifndef SSHTUN_LISTENER_H
#define SSHTUN_LISTENER_H

#include "sshtun.h"

#define LISTENER_MAX_FDS 8

struct listener {
    int fds[LISTENER_MAX_FDS];
    int nfds;
    int port;                       /* the port bound (first address) */
    char warning[160];              /* an address that failed, if others
                                       were bound */
    char path[108];                 /* Unix socket to remove, or "" */
};

/* Bind and listen.  bind_addr NULL: default (loopback, or all when
 * gateway_ports).  family: AF_INET or AF_INET6 to bind only that family
 * (-4/-6), anything else for both.  Returns 0, or SSHTUN_ERR_BIND /
 * _RESOLVE with err. */
int listener_open(struct listener *l, const char *bind_addr, int port,
                  int gateway_ports, int family, sshtun_error *err);

/* Listen on a Unix socket path (mode 0600, as ssh's StreamLocalBindMask);
 * the path is removed again by listener_close.  An existing path is not
 * replaced.  Returns 0 or SSHTUN_ERR_BIND with err. */
int listener_open_unix(struct listener *l, const char *path,
                       sshtun_error *err);

/* Close every socket (and remove a Unix socket path). */
void listener_close(struct listener *l);

/* Format a socket address as "[addr]:port" or "addr:port". */
void listener_format_sockaddr(const void *sa, char *buf, size_t size);

#endif
