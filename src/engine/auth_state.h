/*
 * auth_state.h - what the parts of user authentication share during one
 * auth_run: auth.c (method order, password, keyboard-interactive),
 * auth_pubkey.c (key files and keys in memory) and auth_agent.c (agent
 * keys) all use this lower module.  Internal to those files.
 */
#ifndef SSHTUN_AUTH_STATE_H
#define SSHTUN_AUTH_STATE_H

#include <openssl/evp.h>
#include <stdint.h>

#include "engine/auth_ctx.h"
#include "engine/auth_memo.h"

#define AUTH_STEP_MS 120000
#define AUTH_RETRY_MAX 8

/* An RSA key refused under its first algorithm, to offer again under the
 * next one once every other key has had its turn (libssh2 1.10 cannot
 * read the server's server-sig-algs, so a refusal may mean "not this
 * algorithm" as well as "not this key"). */
struct auth_retry {
    EVP_PKEY *key;                  /* a key from a file or memory, or */
    uint8_t *blob;                  /* an agent key's ssh-rsa blob */
    size_t blob_len;
    int next_alg;                   /* index in the RSA algorithm list */
    struct auth_memo_entry *who;    /* identity and secret, for the memo */
    char label[300];
};

/* One run of auth_run. */
struct auth_state {
    struct auth_ctx *ctx;
    const sshtun_options *o;
    const char *user;
    sshtun_error *err;
    char methods[256];              /* what the server accepts */
    char notes[768];                /* what we learned, for the failure */
    char accepted[1024];            /* PubkeyAcceptedAlgorithms, assembled */
    char rsa_algs[3][16];           /* its RSA algorithms, in its order */
    int n_rsa_algs;
    int offers;                     /* publickey offers made */
    int asked_interactive;          /* keyboard-interactive or password
                                       has had its turn */
    struct auth_memo_entry *memo;   /* the memo's record, or NULL */
    struct auth_memo_entry *won;    /* filled with what succeeded */
    struct auth_retry retry[AUTH_RETRY_MAX];
    int n_retry;
};

/* Add a note to the final failure message. */
void auth_state_note(struct auth_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Wait for the socket while rc is EAGAIN: 1 to call again, 0 when rc is
 * final, or a negative error. */
int auth_state_wait(struct auth_state *st, int rc, int64_t deadline);

/* Map a final libssh2 result: 0, SSHTUN_ERR_SESSION (connection lost, err
 * set) or SSHTUN_ERR_AUTH. */
int auth_state_result(struct auth_state *st, int rc);

/* Ask the user through the passphrase callback: 0 with the answer in buf,
 * -1 when nobody can be asked. */
int auth_state_ask(struct auth_state *st, const char *prompt, char *buf,
             size_t size);

/* Offer a public key blob, signing with sign (abstract: arg): 0 when
 * accepted, SSHTUN_ERR_AUTH when refused, or a session-level error. */
int auth_state_offer(struct auth_state *st, const uint8_t *blob, size_t len,
                      LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC((*sign)), void *arg);

/* Fill st->won with the identity who used (the secret is not copied). */
void auth_state_won(struct auth_state *st,
                              const struct auth_memo_entry *who);

/* Remember a pending RSA fallback (the key and who are taken over). */
void auth_state_defer(struct auth_state *st, EVP_PKEY *key,
                       const uint8_t *blob, size_t blob_len, int next_alg,
                       struct auth_memo_entry *who, const char *label);

#endif
