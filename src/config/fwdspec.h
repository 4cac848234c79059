/*
 * fwdspec.h - parsing forward specifications as ssh writes them.
 *
 * `-L [bind_address:]port:host:hostport`, where either address may be an
 * IPv6 literal in brackets, the ssh_config form `LocalForward
 * [bind_address:]port host:hostport`, and `-D [bind_address:]port`.
 * Pure: no sockets, no resolving.
 */
#ifndef SSHTUN_FWDSPEC_H
#define SSHTUN_FWDSPEC_H

#include "sshtun.h"

#define FWD_HOST_MAX 256
#define FWD_PATH_MAX 108            /* sun_path */

struct fwdspec {
    int has_bind;                   /* 0: default (loopback or GatewayPorts) */
    char bind[FWD_HOST_MAX];        /* "" or "*" means every address */
    int listen_port;                /* 0..65535; 0 picks a free port */
    char host[FWD_HOST_MAX];        /* target as the server will see it */
    int port;                       /* 1..65535 */
    char listen_path[FWD_PATH_MAX]; /* local Unix socket to listen on, or "" */
    char target_path[FWD_PATH_MAX]; /* server-side Unix socket, or "" */
};

/* Parse a -L spec.  Either side may be a Unix socket path instead
 * (starting with '/'): "/local/path:host:hostport", "[bind:]port:/remote/
 * path".  Returns 0, or SSHTUN_ERR_INVAL with err saying what is wrong. */
int fwdspec_parse_local(const char *spec, struct fwdspec *out,
                        sshtun_error *err);

/* Parse a -D spec "[bind_address:]port" (listen fields only). */
int fwdspec_parse_dynamic(const char *spec, struct fwdspec *out,
                          sshtun_error *err);

/* Turn the ssh_config form "[bind:]port host:hostport" into -L form in
 * buf.  Returns 0 or SSHTUN_ERR_INVAL. */
int fwdspec_from_config(const char *value, char *buf, size_t size,
                        sshtun_error *err);

/* Parse a port number "0".."65535"; -1 if not one. */
int fwdspec_port(const char *s);

#endif
