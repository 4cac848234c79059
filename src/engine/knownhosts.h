/*
 * knownhosts.h - checking the server's host key against known_hosts.
 *
 * Reads UserKnownHostsFile and GlobalKnownHostsFile (hashed entries and
 * several key types per host included), decides as ssh does for
 * StrictHostKeyChecking, and appends new keys when allowed.  Runs on the
 * I/O thread during connect.
 */
#ifndef SSHTUN_KNOWNHOSTS_H
#define SSHTUN_KNOWNHOSTS_H

#include <libssh2.h>

#include "sshtun.h"

/* Host key algorithms (libssh2 method list) for the key types known_hosts
 * holds for host:port, best first; NULL when none are known.  Caller frees. */
char *knownhosts_preferred_algs(LIBSSH2_SESSION *ssh,
                                const sshtun_options *o, const char *host,
                                int port);

/* Verify the negotiated host key.  Returns 0 (log lines go through o), or
 * with StrictHostKeyChecking=no and a changed key 0 with *insecure set
 * (the caller must then refuse all forwarding), or
 * SSHTUN_ERR_HOSTKEY_UNKNOWN / _CHANGED / _HANDSHAKE with err saying
 * which key and which file. */
int knownhosts_verify(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                      const char *host, int port, int *insecure,
                      sshtun_error *err);

#endif
