/*
 * algolist.h - algorithm lists in ssh_config's syntax: a comma-separated
 * list replaces the default, "+list" appends to it, "-list" removes from
 * it and "^list" puts names at its head; names may hold the * and ?
 * wildcards, matched against every algorithm known.  Used for
 * PubkeyAcceptedAlgorithms (and its old name PubkeyAcceptedKeyTypes).
 * Pure.
 */
#ifndef SSHTUN_ALGOLIST_H
#define SSHTUN_ALGOLIST_H

#include <stddef.h>

#include "sshtun.h"

/* OpenSSH 9's defaults and every name it knows, for public key
 * authentication. */
extern const char algolist_pubkey_default[];
extern const char algolist_pubkey_known[];

/* The effective list (comma-separated, no duplicates) for spec (NULL or
 * empty: the default) into out.  0, or SSHTUN_ERR_INVAL with err naming
 * kw and the bad name. */
int algolist_assemble(const char *kw, const char *spec, const char *def,
                      const char *known, char *out, size_t size,
                      sshtun_error *err);

/* Whether name is in the comma-separated list (exactly). */
int algolist_has(const char *list, const char *name);

/* The position of name in list (0 first), or -1. */
int algolist_index(const char *list, const char *name);

#endif
