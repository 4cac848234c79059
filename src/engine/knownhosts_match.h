/*
 * knownhosts_match.h - one known_hosts line, parsed and matched as ssh
 * does it, with no I/O (so it is unit-tested and fuzzed).
 *
 * A line is "[@marker] hosts keytype base64key [comment]".  hosts is a
 * comma-separated list of patterns (`*`, `?`, `!` negation, compared
 * without regard to case) or one hashed name "|1|salt|hmac".  The marker
 * is @revoked or @cert-authority.  libssh2's own matcher compares names
 * with strcmp and knows no markers, hence this module.
 */
#ifndef SSHTUN_KNOWNHOSTS_MATCH_H
#define SSHTUN_KNOWNHOSTS_MATCH_H

#include <stddef.h>

enum kh_marker { KH_MARK_NONE, KH_MARK_REVOKED, KH_MARK_CA };

/* Fields point into the parsed line (not NUL-terminated). */
struct kh_entry {
    enum kh_marker marker;
    const char *hosts;              /* NULL for a bare key line */
    size_t hosts_len;
    const char *type;               /* "ssh-ed25519", ... */
    size_t type_len;
    const char *key64;              /* the key blob, base64 */
    size_t key64_len;
};

/* Longest key blob we decode (an RSA key of 16384 bits is ~2 KiB). */
#define KH_KEY_MAX 8192

/* Parse a known_hosts line of len bytes (a trailing newline is ignored).
 * Returns 1 for an entry, 0 for a blank or comment line, -1 for a line
 * that is not an entry (unknown marker, old RSA1 form, bad fields). */
int knownhosts_match_parse(const char *line, size_t len, struct kh_entry *e);

/* Parse a public key line "keytype base64key [comment]", as in a
 * RevokedHostKeys file: same returns; e->hosts is NULL. */
int knownhosts_match_parse_key(const char *line, size_t len,
                               struct kh_entry *e);

/* Whether the entry's hosts cover name (lower case, "host" or
 * "[host]:port"): a pattern matches and no negated one does, or the
 * hashed name is name's. */
int knownhosts_match_host(const struct kh_entry *e, const char *name);

/* Whether the entry's key is exactly the raw key blob. */
int knownhosts_match_key(const struct kh_entry *e, const unsigned char *blob,
                         size_t len);

/* Whether the entry's key type is alg. */
int knownhosts_match_type(const struct kh_entry *e, const char *alg);

/* Whether name can be written as a literal host field: not empty, no
 * blank, control, pattern (`*?!`), list (`,`) or shell characters, and
 * no leading marker (`@`, `|`, `#`). */
int knownhosts_match_name_ok(const char *name);

#endif
