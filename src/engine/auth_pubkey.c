/*
 * auth_pubkey.c - publickey authentication with keys from files and from
 * memory, and the order of every identity (see auth.h).
 *
 * RSA keys are loaded by sshkey.c and signed by rsasign.c under the first
 * RSA algorithm PubkeyAcceptedAlgorithms lists (rsa-sha2-512 by
 * default); when the server refuses, the next algorithm is offered only
 * after every other key has had its turn, so that an unknown RSA key
 * costs one attempt before a key the server knows.  Other keys go to
 * libssh2 as they are.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fdreserve.h"
#include "base/log.h"
#include "base/path.h"
#include "base/clock.h"
#include "config/algolist.h"
#include "engine/auth_agent.h"
#include "engine/auth_pubkey.h"
#include "engine/auth_state.h"
#include "engine/keyfile.h"
#include "engine/rsasign.h"
#include "engine/sshkey.h"
#include "engine/ssherr.h"

#define PASSPHRASE_TRIES 3
#define KEY_NEEDS_PASS 1            /* attempt_key: ask, then try again */

/* ssh's default identities, in its order. */
static const char *const default_identities[] = {
    "~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519",
};

/* A key being tried: its text, its kind and where it came from. */
struct key_try {
    const char *data;
    size_t len;
    struct key_info ki;
    struct auth_memo_entry *who;    /* identity; secret filled on use */
    const char *label;
};

/* An RSA key held here, for the sign callback. */
struct key_signer {
    EVP_PKEY *key;
    const char *alg;
};

/* libssh2's sign callback for an RSA key held here. */
static LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC(sign_with_key)
{
    struct key_signer *ks = *abstract;

    (void)session;
    return rsasign_sign(ks->key, ks->alg, data, data_len, sig, sig_len)
           ? -1 : 0;
}

/* Offer an RSA key held here under alg. */
static int offer_rsa(struct auth_state *st, EVP_PKEY *key, const char *alg,
                     const char *label)
{
    uint8_t blob[RSASIGN_BLOB_MAX];
    struct key_signer ks = { key, alg };
    long n = rsasign_blob(key, alg, blob, sizeof blob);

    if (n < 0)
        return SSHTUN_ERR_AUTH;
    log_msg(st->o, SSHTUN_LOG_VERBOSE, "Offering RSA key %s with %s (offer "
            "%d)", label, alg, st->offers + 1);
    return auth_state_offer(st, blob, (size_t)n, sign_with_key, &ks);
}

/* A copy of who with secret pass, for a deferred fallback. */
static struct auth_memo_entry *copy_who(const struct auth_memo_entry *who,
                                        const char *pass)
{
    struct auth_memo_entry *c = malloc(sizeof *c);

    if (!c)
        return NULL;
    memcpy(c, who, sizeof *c);
    c->has_secret = pass != NULL;
    snprintf(c->secret, sizeof c->secret, "%s", pass ? pass : "");
    return c;
}

/* Offer an RSA key held here under the first accepted algorithm. */
static int try_rsa_key(struct auth_state *st, EVP_PKEY *key,
                       struct key_try *kt, const char *pass)
{
    int rc;

    if (!st->n_rsa_algs) {
        auth_state_note(st, "skipped RSA key %s: PubkeyAcceptedAlgorithms allows "
                  "no RSA algorithm", kt->label);
        return SSHTUN_ERR_AUTH;
    }
    rc = offer_rsa(st, key, st->rsa_algs[0], kt->label);
    if (rc == 0)
        auth_state_won(st, kt->who);
    else if (rc == SSHTUN_ERR_AUTH && st->n_rsa_algs > 1
             && EVP_PKEY_up_ref(key))
        auth_state_defer(st, key, NULL, 0, 1, copy_who(kt->who, pass),
                          kt->label);
    return rc;
}

/* A non-RSA key through libssh2: 0, SSHTUN_ERR_AUTH, SSHTUN_ERR_KEY for
 * a wrong passphrase, or a session-level error. */
static int try_libssh2_key(struct auth_state *st, struct key_try *kt,
                           const char *pass)
{
    int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
    int rc, w;

    log_msg(st->o, SSHTUN_LOG_VERBOSE, "Offering %s key %s (offer %d)",
            kt->ki.alg[0] ? kt->ki.alg : keyfile_type_name(kt->ki.type),
            kt->label, st->offers + 1);
    st->offers++;
    do {
        rc = libssh2_userauth_publickey_frommemory(
            st->ctx->ssh, st->user, strlen(st->user), NULL, 0, kt->data,
            kt->len, pass);
    } while ((w = auth_state_wait(st, rc, deadline)) == 1);
    if (w < 0)
        return w;
    if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED) {
        if (pass)
            return SSHTUN_ERR_KEY;
        auth_state_note(st, "could not load key %s", kt->label);
        return SSHTUN_ERR_AUTH;
    }
    if ((rc = auth_state_result(st, rc)) == 0)
        auth_state_won(st, kt->who);
    return rc;
}

/* One attempt at a key with passphrase pass (NULL: none): 0,
 * SSHTUN_ERR_AUTH, SSHTUN_ERR_KEY (wrong passphrase), KEY_NEEDS_PASS or a
 * session-level error. */
static int attempt_key(struct auth_state *st, struct key_try *kt,
                       const char *pass)
{
    char why[200];
    EVP_PKEY *key = NULL;
    int rc;

    if (kt->ki.type == KEY_ED25519 || kt->ki.type == KEY_ECDSA)
        return try_libssh2_key(st, kt, pass);
    switch (sshkey_load_rsa(kt->data, kt->len, pass, &key, why, sizeof why)) {
    case SSHKEY_OK:
        rc = try_rsa_key(st, key, kt, pass);
        EVP_PKEY_free(key);
        return rc;
    case SSHKEY_NOT_RSA:
        return try_libssh2_key(st, kt, pass);
    case SSHKEY_BAD_PASS:
        return SSHTUN_ERR_KEY;
    case SSHKEY_NEED_PASS:
        return KEY_NEEDS_PASS;
    case SSHKEY_NOMEM:
        return error_set(st->err, SSHTUN_ERR_NOMEM, "out of memory");
    default:
        auth_state_note(st, "cannot use %s: %s", kt->label, why);
        log_msg(st->o, SSHTUN_LOG_VERBOSE, "Cannot use %s: %s", kt->label,
                why);
        return SSHTUN_ERR_AUTH;
    }
}

/* Whether the memo remembers this identity with its passphrase. */
static int memo_secret_for(const struct auth_state *st,
                           const struct auth_memo_entry *who)
{
    const struct auth_memo_entry *m = st->memo;

    return m && m->method == AUTH_METHOD_PUBLICKEY && m->has_secret
           && m->identity == who->identity
           && (who->identity == AUTH_ID_FILE ? !strcmp(m->path, who->path)
                                             : m->index == who->index);
}

/* An encrypted key: the memo's passphrase, then asking. */
static int with_passphrase(struct auth_state *st, struct key_try *kt)
{
    char prompt[PATH_MAX + 40], *pass = kt->who->secret;
    int rc;

    if (memo_secret_for(st, kt->who)
        && (rc = attempt_key(st, kt, st->memo->secret)) != SSHTUN_ERR_KEY) {
        if (rc == 0)
            memcpy(pass, st->memo->secret, sizeof kt->who->secret);
        kt->who->has_secret = rc == 0;
        return rc;
    }
    snprintf(prompt, sizeof prompt, "Enter passphrase for key '%s': ",
             kt->label);
    for (int tries = 0; tries < PASSPHRASE_TRIES; tries++) {
        if (auth_state_ask(st, prompt, pass, sizeof kt->who->secret)) {
            auth_state_note(st, "skipped encrypted key %s (no passphrase given; "
                      "BatchMode=yes or no way to ask)", kt->label);
            return SSHTUN_ERR_AUTH;
        }
        if ((rc = attempt_key(st, kt, pass)) != SSHTUN_ERR_KEY) {
            kt->who->has_secret = rc == 0;
            return rc;
        }
        OPENSSL_cleanse(pass, sizeof kt->who->secret);
        log_msg(st->o, SSHTUN_LOG_ERROR, "Bad passphrase, try again for %s",
                kt->label);
    }
    auth_state_note(st, "wrong passphrase for %s", kt->label);
    return SSHTUN_ERR_AUTH;
}

/* Whether the key's type may be offered at all; notes why not. */
static int key_usable(struct auth_state *st, const struct key_try *kt)
{
    switch (kt->ki.type) {
    case KEY_DSA:
        auth_state_note(st, "skipped DSA key %s (ssh no longer uses DSA)",
                  kt->label);
        return 0;
    case KEY_SK:
        auth_state_note(st, "skipped %s: security key (sk-) keys need a "
                  "hardware token, which sshtun cannot use", kt->label);
        return 0;
    case KEY_ED25519:
    case KEY_ECDSA:
        if (kt->ki.alg[0] && !algolist_has(st->accepted, kt->ki.alg)) {
            auth_state_note(st, "skipped %s: %s is not in "
                      "PubkeyAcceptedAlgorithms", kt->label, kt->ki.alg);
            return 0;
        }
        return 1;
    default:
        return 1;
    }
}

/* Try one key given as text; who says where it came from. */
static int try_key_text(struct auth_state *st, const char *data, size_t len,
                        struct auth_memo_entry *who, const char *label)
{
    struct key_try kt = { data, len, { 0 }, who, label };
    int rc;

    if (keyfile_classify(data, len, &kt.ki) < 0) {
        auth_state_note(st, "%s is not a private key", label);
        return SSHTUN_ERR_AUTH;
    }
    if (!key_usable(st, &kt))
        return SSHTUN_ERR_AUTH;
    log_msg(st->o, SSHTUN_LOG_DEBUG, "Trying private key: %s", label);
    /* Without a passphrase first when we read the key ourselves: a key
     * sshtun cannot use is then refused before anyone is asked. */
    rc = kt.ki.encrypted && (kt.ki.type == KEY_ED25519
                             || kt.ki.type == KEY_ECDSA)
             ? KEY_NEEDS_PASS : attempt_key(st, &kt, NULL);
    if (rc == KEY_NEEDS_PASS)
        rc = with_passphrase(st, &kt);
    if (rc == 0 && who->has_secret) {
        memcpy(st->won->secret, who->secret, sizeof who->secret);
        st->won->has_secret = 1;
    }
    OPENSSL_cleanse(who->secret, sizeof who->secret);
    return rc == SSHTUN_ERR_KEY ? SSHTUN_ERR_AUTH : rc;
}

/* Read a key file into buf; returns its length or -errno. */
static long read_key(const char *path, char *buf, size_t size)
{
    FILE *fp = fdreserve_fopen(path, "r");
    size_t n;

    if (!fp)
        return -errno;
    n = fread(buf, 1, size - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return (long)n;
}

/* Try one identity file (explicit: named by IdentityFile). */
static int try_file(struct auth_state *st, const char *path, int explicit)
{
    struct auth_memo_entry *who = calloc(1, sizeof *who);
    char *data = malloc(SSHKEY_TEXT_MAX + 1);
    long len;
    int rc = SSHTUN_ERR_AUTH;

    if (!who || !data) {
        free(who);
        free(data);
        return error_set(st->err, SSHTUN_ERR_NOMEM, "out of memory");
    }
    who->identity = AUTH_ID_FILE;
    snprintf(who->path, sizeof who->path, "%s", path);
    len = read_key(path, data, SSHKEY_TEXT_MAX + 1);
    if (len >= 0)
        rc = try_key_text(st, data, (size_t)len, who, path);
    else if (explicit)
        log_msg(st->o, SSHTUN_LOG_ERROR, "Warning: Identity file %s "
                "not accessible: %s.", path, strerror((int)-len));
    if (len > 0)
        OPENSSL_cleanse(data, (size_t)len);
    free(data);
    free(who);
    return rc;
}

/* Try the key given in memory at index i. */
static int try_memory(struct auth_state *st, int i)
{
    struct auth_memo_entry *who = calloc(1, sizeof *who);
    const char *key = st->o->identity_data.v[i];
    char label[32];
    int rc;

    if (!who)
        return error_set(st->err, SSHTUN_ERR_NOMEM, "out of memory");
    who->identity = AUTH_ID_MEMORY;
    who->index = i;
    snprintf(label, sizeof label, "(key %d in memory)", i + 1);
    rc = try_key_text(st, key, strlen(key), who, label);
    free(who);
    return rc;
}

/* The deferred RSA fallbacks, each under its remaining algorithms. */
static int try_fallbacks(struct auth_state *st)
{
    for (int i = 0; i < st->n_retry; i++) {
        struct auth_retry *r = &st->retry[i];
        for (int a = r->next_alg; a < st->n_rsa_algs; a++) {
            int rc = r->key
                ? offer_rsa(st, r->key, st->rsa_algs[a], r->label)
                : auth_agent_retry(st, r->blob, r->blob_len,
                                   st->rsa_algs[a], r->label);
            if (rc == 0) {
                auth_state_won(st, r->who);
                memcpy(st->won->secret, r->who->secret,
                       sizeof r->who->secret);
                st->won->has_secret = r->who->has_secret;
            }
            if (rc != SSHTUN_ERR_AUTH)
                return rc;
        }
        auth_state_note(st, "RSA key %s refused under every algorithm tried (if "
                  "the server knows it, it may not take rsa-sha2 as libssh2 "
                  "1.10 sends it: RSA needs an OpenSSH-compatible server)",
                  r->label);
    }
    return SSHTUN_ERR_AUTH;
}

/* The identity the memo remembers, tried first (SSHTUN_ERR_AUTH when
 * there is none, or it is an agent key). */
static int try_remembered(struct auth_state *st)
{
    const struct auth_memo_entry *m = st->memo;

    if (!m || m->method != AUTH_METHOD_PUBLICKEY)
        return SSHTUN_ERR_AUTH;
    if (m->identity == AUTH_ID_FILE)
        return try_file(st, m->path, 1);
    if (m->identity == AUTH_ID_MEMORY && m->index < st->o->identity_data.n)
        return try_memory(st, m->index);
    return SSHTUN_ERR_AUTH;     /* an agent key: auth_agent puts it first */
}

/* Whether the memo's identity is this file or memory key (tried first). */
static int remembered(const struct auth_state *st, enum auth_identity kind,
                      const char *path, int index)
{
    const struct auth_memo_entry *m = st->memo;

    return m && m->method == AUTH_METHOD_PUBLICKEY && m->identity == kind
           && (kind == AUTH_ID_FILE ? !strcmp(m->path, path)
                                    : m->index == index);
}

/* Identity files, or ssh's default ones. */
static int try_files(struct auth_state *st)
{
    const struct opt_list *files = &st->o->identity_files;
    int n = files->n ? files->n
                     : (int)(sizeof default_identities
                             / sizeof default_identities[0]);

    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        int rc;
        path_expand_tilde(path, sizeof path, files->n ? files->v[i]
                                                      : default_identities[i]);
        if (remembered(st, AUTH_ID_FILE, path, 0))
            continue;
        if ((rc = try_file(st, path, files->n > 0)) != SSHTUN_ERR_AUTH)
            return rc;
    }
    return SSHTUN_ERR_AUTH;
}

/* Publickey with every identity. */
int auth_pubkey(struct auth_state *st)
{
    int rc;

    if ((rc = try_remembered(st)) != SSHTUN_ERR_AUTH)
        return rc;
    if (!options_flag(st->o->identities_only)
        && (rc = auth_agent(st)) != SSHTUN_ERR_AUTH)
        return rc;
    for (int i = 0; i < st->o->identity_data.n; i++)
        if (!remembered(st, AUTH_ID_MEMORY, NULL, i)
            && (rc = try_memory(st, i)) != SSHTUN_ERR_AUTH)
            return rc;
    if ((rc = try_files(st)) != SSHTUN_ERR_AUTH)
        return rc;
    return try_fallbacks(st);
}
