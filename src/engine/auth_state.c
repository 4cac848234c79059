/*
 * auth_state.c - what the parts of one authentication run share (see
 * auth_state.h): notes for the failure message, waiting for the socket,
 * asking the user, offering a public key, and RSA keys kept for a
 * fallback under another algorithm.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "config/options.h"
#include "engine/auth_state.h"
#include "engine/ssherr.h"

/* Add a note to the final failure message. */
void auth_state_note(struct auth_state *st, const char *fmt, ...)
{
    size_t used = strlen(st->notes);
    va_list ap;

    if (used + 3 >= sizeof st->notes)
        return;
    if (used)
        strcat(st->notes, "; ");
    used = strlen(st->notes);
    va_start(ap, fmt);
    vsnprintf(st->notes + used, sizeof st->notes - used, fmt, ap);
    va_end(ap);
}

/* Wait for the socket while rc is EAGAIN. */
int auth_state_wait(struct auth_state *st, int rc, int64_t deadline)
{
    int w;

    if (rc != LIBSSH2_ERROR_EAGAIN)
        return 0;
    if ((w = st->ctx->wait(st->ctx->wait_arg, deadline, st->err)))
        return w;
    return 1;
}

/* Map a final libssh2 result. */
int auth_state_result(struct auth_state *st, int rc)
{
    if (rc == 0 || libssh2_userauth_authenticated(st->ctx->ssh))
        return 0;
    if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND
        || rc == LIBSSH2_ERROR_SOCKET_DISCONNECT
        || rc == LIBSSH2_ERROR_TIMEOUT)
        return error_set(st->err, SSHTUN_ERR_SESSION, "connection lost during "
                         "authentication: %s", ssherr_text(st->ctx->ssh));
    return SSHTUN_ERR_AUTH;
}

/* Ask the user. */
int auth_state_ask(struct auth_state *st, const char *prompt, char *buf,
             size_t size)
{
    const sshtun_options *o = st->o;

    if (!o->pass_fn || options_flag(o->batch_mode))
        return -1;
    if (o->pass_fn(prompt, buf, size, o->pass_user) != 0) {
        OPENSSL_cleanse(buf, size);
        return -1;
    }
    return 0;
}

/* Offer a blob, signing with sign. */
int auth_state_offer(struct auth_state *st, const uint8_t *blob, size_t len,
                      LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC((*sign)), void *arg)
{
    int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
    void *abstract = arg;
    int rc, w;

    st->offers++;
    do {
        rc = libssh2_userauth_publickey(st->ctx->ssh, st->user, blob, len,
                                        sign, &abstract);
    } while ((w = auth_state_wait(st, rc, deadline)) == 1);
    return w < 0 ? w : auth_state_result(st, rc);
}

/* Fill st->won with who's identity. */
void auth_state_won(struct auth_state *st,
                              const struct auth_memo_entry *who)
{
    st->won->method = AUTH_METHOD_PUBLICKEY;
    st->won->identity = who->identity;
    memcpy(st->won->path, who->path, sizeof st->won->path);
    st->won->index = who->index;
    st->won->blob_len = who->blob_len;
    memcpy(st->won->blob, who->blob, who->blob_len);
}

/* Remember a pending RSA fallback. */
void auth_state_defer(struct auth_state *st, EVP_PKEY *key,
                       const uint8_t *blob, size_t blob_len, int next_alg,
                       struct auth_memo_entry *who, const char *label)
{
    struct auth_retry *r;
    uint8_t *b = NULL;

    if (st->n_retry == AUTH_RETRY_MAX || !who
        || (blob && !(b = malloc(blob_len)))) {
        EVP_PKEY_free(key);
        if (who)
            OPENSSL_cleanse(who, sizeof *who);
        free(who);
        return;
    }
    r = &st->retry[st->n_retry++];
    r->key = key;
    r->blob = b;
    if (b)
        memcpy(b, blob, blob_len);
    r->blob_len = blob_len;
    r->next_alg = next_alg;
    r->who = who;
    snprintf(r->label, sizeof r->label, "%s", label);
}

