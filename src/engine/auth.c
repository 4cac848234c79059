/*
 * auth.c - authentication: the methods in order, password and
 * keyboard-interactive, and the memo of what worked (see auth.h).
 * publickey is in auth_pubkey.c and auth_agent.c.
 */
#include "config.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/clock.h"
#include "config/algolist.h"
#include "config/options.h"
#include "engine/auth.h"
#include "engine/auth_agent.h"
#include "engine/auth_pubkey.h"
#include "engine/auth_state.h"
#include "engine/rsasign.h"
#include "engine/ssherr.h"

#define PASSWORD_TRIES 3
#define DEFAULT_METHODS "publickey,keyboard-interactive,password"

/* The authentication running on this thread, for kbdint_answer: libssh2
 * calls it synchronously inside libssh2_userauth_keyboard_interactive_ex
 * with only the session's abstract pointer. */
static __thread struct auth_state *kbdint_state;

/* keyboard-interactive: answer each prompt through the passphrase
 * callback (libssh2 frees the answers with free()). */
static LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC(kbdint_answer)
{
    const sshtun_options *o = kbdint_state->o;

    (void)name;
    (void)name_len;
    (void)instruction;
    (void)instruction_len;
    (void)abstract;
    for (int i = 0; i < num_prompts; i++) {
        char prompt[512], answer[1024];
        snprintf(prompt, sizeof prompt, "(%s@%s) %.*s", o->user, o->hostname,
                 (int)prompts[i].length, prompts[i].text);
        log_strip_controls(prompt);     /* the server's text, for a tty */
        responses[i].text = NULL;
        responses[i].length = 0;
        if (o->pass_fn(prompt, answer, sizeof answer, o->pass_user) == 0) {
            responses[i].text = strdup(answer);
            responses[i].length = responses[i].text
                                      ? (unsigned)strlen(answer) : 0;
        }
        OPENSSL_cleanse(answer, sizeof answer);
    }
}

/* Whether password-like methods may run; notes why not. */
static int may_ask_secrets(struct auth_state *st, const char *method)
{
    if (st->ctx->no_secrets) {
        /* As ssh: never a password to a server whose key changed. */
        auth_state_note(st, "%s is disabled: the host key has changed", method);
        return 0;
    }
    if (!st->o->pass_fn || options_flag(st->o->batch_mode)) {
        auth_state_note(st, "%s needs a prompt (BatchMode=yes or no way to ask)",
                  method);
        return 0;
    }
    return 1;
}

/* keyboard-interactive, up to PASSWORD_TRIES rounds. */
static int try_kbdint(struct auth_state *st)
{
    LIBSSH2_SESSION *ssh = st->ctx->ssh;
    int rc, w;

    if (!may_ask_secrets(st, "keyboard-interactive"))
        return SSHTUN_ERR_AUTH;
    for (int tries = 0; tries < PASSWORD_TRIES; tries++) {
        int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
        kbdint_state = st;
        do {
            rc = libssh2_userauth_keyboard_interactive_ex(
                ssh, st->user, (unsigned)strlen(st->user), kbdint_answer);
        } while ((w = auth_state_wait(st, rc, deadline)) == 1);
        kbdint_state = NULL;
        if (w < 0)
            return w;
        if ((rc = auth_state_result(st, rc)) != SSHTUN_ERR_AUTH) {
            st->won->method = AUTH_METHOD_KBDINT;
            return rc;
        }
        log_msg(st->o, SSHTUN_LOG_ERROR, "Permission denied, please try "
                "again.");
    }
    return SSHTUN_ERR_AUTH;
}

/* Send one password: 0, SSHTUN_ERR_AUTH or a session-level error. */
static int send_password(struct auth_state *st, const char *pass)
{
    int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
    int rc, w;

    do {
        rc = libssh2_userauth_password_ex(st->ctx->ssh, st->user,
                                          (unsigned)strlen(st->user), pass,
                                          (unsigned)strlen(pass), NULL);
    } while ((w = auth_state_wait(st, rc, deadline)) == 1);
    return w < 0 ? w : auth_state_result(st, rc);
}

/* password: the memo's first, then asking up to PASSWORD_TRIES times. */
static int try_password(struct auth_state *st)
{
    char prompt[300];
    char *pass = st->won->secret;
    int rc;

    if (!st->ctx->no_secrets && st->memo
        && st->memo->method == AUTH_METHOD_PASSWORD && st->memo->has_secret) {
        log_msg(st->o, SSHTUN_LOG_DEBUG, "Trying the password of the first "
                "connection");
        if ((rc = send_password(st, st->memo->secret)) != SSHTUN_ERR_AUTH) {
            if (rc == 0)
                memcpy(pass, st->memo->secret, sizeof st->won->secret);
            st->won->has_secret = rc == 0;
            st->won->method = AUTH_METHOD_PASSWORD;
            return rc;
        }
    }
    if (!may_ask_secrets(st, "password"))
        return SSHTUN_ERR_AUTH;
    snprintf(prompt, sizeof prompt, "%s@%s's password: ", st->user,
             st->o->hostname);
    for (int tries = 0; tries < PASSWORD_TRIES; tries++) {
        if (auth_state_ask(st, prompt, pass, sizeof st->won->secret))
            return SSHTUN_ERR_AUTH;
        if ((rc = send_password(st, pass)) != SSHTUN_ERR_AUTH) {
            st->won->method = AUTH_METHOD_PASSWORD;
            st->won->has_secret = rc == 0;
            return rc;
        }
        OPENSSL_cleanse(pass, sizeof st->won->secret);
        log_msg(st->o, SSHTUN_LOG_ERROR, "Permission denied, please try "
                "again.");
    }
    return SSHTUN_ERR_AUTH;
}

/* Ask the server which methods it accepts: 0 (st->methods set), 1 when
 * "none" already succeeded, or an error. */
static int list_methods(struct auth_state *st)
{
    int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
    const char *list;
    int rc;

    for (;;) {
        list = libssh2_userauth_list(st->ctx->ssh, st->user,
                                     (unsigned)strlen(st->user));
        if (libssh2_userauth_authenticated(st->ctx->ssh))
            return 1;
        if (list)
            break;
        if (libssh2_session_last_errno(st->ctx->ssh) != LIBSSH2_ERROR_EAGAIN)
            return error_set(st->err, SSHTUN_ERR_SESSION, "authentication: %s",
                             ssherr_text(st->ctx->ssh));
        if ((rc = st->ctx->wait(st->ctx->wait_arg, deadline, st->err)))
            return rc;
    }
    /* libssh2 may reuse its buffer during the attempts: keep a copy. */
    snprintf(st->methods, sizeof st->methods, "%s", list);
    log_msg(st->o, SSHTUN_LOG_DEBUG, "Authentications that can continue: %s",
            st->methods);
    return 0;
}

/* Run one method if enabled and offered: 0, SSHTUN_ERR_AUTH or an error. */
static int run_method(struct auth_state *st, const char *m)
{
    const sshtun_options *o = st->o;

    if (!algolist_has(st->methods, m))
        return SSHTUN_ERR_AUTH;
    if (!strcmp(m, "publickey") && o->pubkey_authentication != 0)
        return auth_pubkey(st);
    /* Of the two methods that ask, only the first offered is used, so
     * the user is asked for one secret, as the documentation says. */
    if (st->asked_interactive)
        return SSHTUN_ERR_AUTH;
    if (!strcmp(m, "keyboard-interactive") && o->kbdint_authentication != 0) {
        st->asked_interactive = 1;
        return try_kbdint(st);
    }
    if (!strcmp(m, "password") && o->password_authentication != 0) {
        st->asked_interactive = 1;
        return try_password(st);
    }
    return SSHTUN_ERR_AUTH;
}

/* The RSA algorithms of the accepted list, in its order. */
static void pick_rsa_algs(struct auth_state *st)
{
    static const char *const rsa[] = { "rsa-sha2-512", "rsa-sha2-256",
                                       "ssh-rsa" };
    int pos[3];

    for (int i = 0; i < 3; i++)
        pos[i] = algolist_index(st->accepted, rsa[i]);
    st->n_rsa_algs = 0;
    for (;;) {
        int best = -1;
        for (int i = 0; i < 3; i++)
            if (pos[i] >= 0 && (best < 0 || pos[i] < pos[best]))
                best = i;
        if (best < 0)
            break;
        snprintf(st->rsa_algs[st->n_rsa_algs++], sizeof st->rsa_algs[0],
                 "%s", rsa[best]);
        pos[best] = -1;
    }
}

/* Set up a run: accepted algorithms and the memo's record. */
static int state_init(struct auth_state *st, struct auth_ctx *s,
                      const char *user, sshtun_error *err)
{
    memset(st, 0, sizeof *st);
    st->ctx = s;
    st->o = s->opts;
    st->user = user;
    st->err = err;
    if (algolist_assemble("PubkeyAcceptedAlgorithms",
                          s->opts->pubkey_accepted_algorithms,
                          algolist_pubkey_default, algolist_pubkey_known,
                          st->accepted, sizeof st->accepted, err))
        return SSHTUN_ERR_INVAL;
    pick_rsa_algs(st);
    if (!(st->won = calloc(1, sizeof *st->won)))
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    if (s->memo) {
        if (!(st->memo = calloc(1, sizeof *st->memo)))
            return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        if (!auth_memo_get(s->memo, st->memo)) {
            free(st->memo);
            st->memo = NULL;
        }
    }
    return 0;
}

/* Wipe and free what a run holds. */
static void state_free(struct auth_state *st)
{
    for (int i = 0; i < st->n_retry; i++) {
        EVP_PKEY_free(st->retry[i].key);
        free(st->retry[i].blob);
        if (st->retry[i].who)
            OPENSSL_cleanse(st->retry[i].who, sizeof *st->retry[i].who);
        free(st->retry[i].who);
    }
    if (st->won)
        OPENSSL_cleanse(st->won, sizeof *st->won);
    if (st->memo)
        OPENSSL_cleanse(st->memo, sizeof *st->memo);
    free(st->won);
    free(st->memo);
}

/* Try the methods in PreferredAuthentications' order. */
static int run_methods(struct auth_state *st)
{
    const char *pref = st->o->preferred_authentications
                           ? st->o->preferred_authentications
                           : DEFAULT_METHODS;
    char m[64];
    int rc;

    while (*pref) {
        size_t n = strcspn(pref, ",");
        snprintf(m, sizeof m, "%.*s", (int)(n < sizeof m ? n : 0), pref);
        pref += n + (pref[n] == ',');
        if ((rc = run_method(st, m)) != SSHTUN_ERR_AUTH)
            return rc;
    }
    return SSHTUN_ERR_AUTH;
}

/* Authenticate as user. */
int auth_run(struct auth_ctx *s, const char *user, sshtun_error *err)
{
    struct auth_state *st = calloc(1, sizeof *st);
    int rc;

    if (!st)
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    if (!(rc = state_init(st, s, user, err))
        && (rc = list_methods(st)) == 0) {
        rc = run_methods(st);
        if (rc == 0)
            auth_memo_record(s->memo, st->won);
        else if (rc == SSHTUN_ERR_AUTH)
            error_set(err, SSHTUN_ERR_AUTH, "%s@%s: Permission denied (%s)%s%s",
                      user, s->opts->hostname, st->methods,
                      st->notes[0] ? ": " : ".", st->notes);
    } else if (rc == 1) {
        rc = 0;
    }
    state_free(st);
    free(st);
    return rc;
}
