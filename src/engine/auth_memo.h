/*
 * auth_memo.h - how the first connection of a session authenticated, so
 * that its other connections authenticate the same way without asking
 * the user again.
 *
 * One memo is shared by the connections of a session (each connection's
 * auth_run reads and fills it, under the memo's own lock).  It remembers
 * the method, the identity (a key file's path, the index of a key given in
 * memory, or an agent key's blob) and the password or key passphrase the
 * user typed.  That secret lives in memory locked against swapping and is
 * wiped when the memo is freed.  Keyboard-interactive answers are never
 * kept: they may be one-time codes.
 */
#ifndef SSHTUN_AUTH_MEMO_H
#define SSHTUN_AUTH_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "config/options.h"

enum auth_method { AUTH_METHOD_NONE, AUTH_METHOD_PUBLICKEY,
                   AUTH_METHOD_PASSWORD, AUTH_METHOD_KBDINT };

enum auth_identity { AUTH_ID_NONE, AUTH_ID_FILE, AUTH_ID_MEMORY,
                     AUTH_ID_AGENT };

#define AUTH_MEMO_SECRET_MAX 1024
#define AUTH_MEMO_PATH_MAX 4096
#define AUTH_MEMO_BLOB_MAX 16384

/* What the memo holds, as copied out by auth_memo_get. */
struct auth_memo_entry {
    enum auth_method method;
    enum auth_identity identity;
    char path[AUTH_MEMO_PATH_MAX];      /* AUTH_ID_FILE */
    int index;                          /* AUTH_ID_MEMORY */
    uint8_t blob[AUTH_MEMO_BLOB_MAX];   /* AUTH_ID_AGENT */
    size_t blob_len;
    int has_secret;
    char secret[AUTH_MEMO_SECRET_MAX];  /* NUL-terminated */
};

struct auth_memo;

/* A new, empty memo (NULL if out of memory). */
struct auth_memo *auth_memo_new(void);

/* Wipe and free (NULL is fine). */
void auth_memo_free(struct auth_memo *m);

/* Record a success (the first one recorded stays).  e->secret is copied
 * when e->has_secret, never for keyboard-interactive. */
void auth_memo_record(struct auth_memo *m, const struct auth_memo_entry *e);

/* Copy what the memo holds into e: 1, or 0 when nothing succeeded yet.
 * The caller wipes e->secret after use. */
int auth_memo_get(struct auth_memo *m, struct auth_memo_entry *e);

/* Whether another connection can authenticate as the first did without
 * a person: 0 when the first success was keyboard-interactive and
 * BatchMode=yes (its answers are not reused), else 1. */
int auth_memo_can_repeat(const struct auth_memo *m,
                         const sshtun_options *o);

#endif
