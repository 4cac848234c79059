/*
 * ctlpath.h - a control socket's path, as ssh makes it: ~ and the %
 * tokens of ControlPath expanded, checked against the size of a Unix
 * socket address.
 */
#ifndef SSHTUN_CTLPATH_H
#define SSHTUN_CTLPATH_H

#include <stddef.h>

/* What the tokens stand for. */
struct ctlpath_info {
    const char *host;               /* %h: HostName after the config files */
    const char *orig_host;          /* %n: the destination as given */
    int port;                       /* %p */
    const char *ruser;              /* %r: the remote user */
    const char *local_host;         /* %l (and %L up to the first dot) */
    const char *local_user;         /* %u */
    unsigned uid;                   /* %i */
    const char *home;               /* %d */
};

/* Longest path a Unix socket address holds (sun_path less its NUL). */
#define CTLPATH_MAX 107

/* Expand tmpl into out (at least CTLPATH_MAX + 1 bytes).  Returns 0, or
 * -1 with a message in err (unknown token, path too long). */
int ctlpath_expand(const char *tmpl, const struct ctlpath_info *in,
                   char *out, size_t size, char *err, size_t errsize);

/* %C: the hex SHA-1 of %l%h%p%r, as OpenSSH 9.2 computes it. */
void ctlpath_hash(const struct ctlpath_info *in, char out[41]);

#endif
