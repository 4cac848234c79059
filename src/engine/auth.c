/*
 * auth.c - publickey authentication from agent and files (see auth.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/auth.h"
#include "base/error.h"
#include "engine/keyfile.h"
#include "engine/ssherr.h"
#include "base/path.h"
#include "base/log.h"
#include "config/options.h"
#include "base/clock.h"

#define KEYFILE_MAX (64 * 1024)
#define AUTH_STEP_MS 120000
#define PASSPHRASE_TRIES 3

static const char *const default_identities[] = {
    "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa",
};

/* What we learned while trying, for the final message. */
struct auth_notes {
    char text[384];
};

/* Add a note to the final failure message. */
static void note(struct auth_notes *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct auth_notes *n, const char *fmt, ...)
{
    size_t used = strlen(n->text);
    va_list ap;

    if (used + 3 >= sizeof n->text)
        return;
    if (used)
        strcat(n->text, "; ");
    used = strlen(n->text);
    va_start(ap, fmt);
    vsnprintf(n->text + used, sizeof n->text - used, fmt, ap);
    va_end(ap);
}

/* Wait for the socket when rc is EAGAIN; returns 1 to retry, 0 when rc is
 * final, or a negative error. */
static int retry(struct auth_ctx *s, int rc, int64_t deadline,
                 sshtun_error *err)
{
    int w;

    if (rc != LIBSSH2_ERROR_EAGAIN)
        return 0;
    if ((w = s->wait(s->wait_arg, deadline, err)))
        return w;
    return 1;
}

/* Try every agent identity that is not RSA/DSA. */
static int try_agent(struct auth_ctx *s, const char *user,
                     struct auth_notes *notes, sshtun_error *err)
{
    const sshtun_options *o = s->opts;
    LIBSSH2_AGENT *agent;
    struct libssh2_agent_publickey *id = NULL, *prev = NULL;
    int rc, result = SSHTUN_ERR_AUTH;

    if (o->identity_agent && !strcasecmp(o->identity_agent, "none"))
        return SSHTUN_ERR_AUTH;
    if (!o->identity_agent && !getenv("SSH_AUTH_SOCK"))
        return SSHTUN_ERR_AUTH;
    if (!(agent = libssh2_agent_init(s->ssh)))
        return SSHTUN_ERR_AUTH;
    if (o->identity_agent && strcasecmp(o->identity_agent, "SSH_AUTH_SOCK")) {
        char path[PATH_MAX];
        path_expand_tilde(path, sizeof path, o->identity_agent);
        libssh2_agent_set_identity_path(agent, path);
    }
    if (libssh2_agent_connect(agent) || libssh2_agent_list_identities(agent)) {
        log_msg(o, SSHTUN_LOG_DEBUG, "ssh-agent not usable: %s",
                ssherr_text(s->ssh));
        libssh2_agent_free(agent);
        return SSHTUN_ERR_AUTH;
    }
    while (result == SSHTUN_ERR_AUTH
           && libssh2_agent_get_identity(agent, &id, prev) == 0) {
        int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
        prev = id;
        if (id->blob_len > 11 && (!memcmp(id->blob + 4, "ssh-rsa", 7)
                                  || !memcmp(id->blob + 4, "ssh-dss", 7))) {
            note(notes, "skipped agent RSA/DSA key %s (libssh2 1.10 has no "
                 "rsa-sha2)", id->comment ? id->comment : "");
            continue;
        }
        log_msg(o, SSHTUN_LOG_DEBUG, "Offering agent key: %s",
                id->comment ? id->comment : "");
        do {
            rc = libssh2_agent_userauth(agent, user, id);
        } while ((rc = rc ? retry(s, rc, deadline, err) : 0) == 1);
        if (rc < 0 && (rc == SSHTUN_ERR_TIMEOUT || rc == SSHTUN_ERR_SESSION))
            result = rc;
        else if (libssh2_userauth_authenticated(s->ssh))
            result = 0;
    }
    libssh2_agent_disconnect(agent);
    libssh2_agent_free(agent);
    return result;
}

/* Read a key file into buf; returns its length or -errno. */
static long read_key(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    size_t n;

    if (!fp)
        return -errno;
    n = fread(buf, 1, size - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return (long)n;
}

/* Authenticate with one key held in memory.  Returns 0 if accepted,
 * SSHTUN_ERR_KEY for a wrong passphrase or bad file, SSHTUN_ERR_AUTH if
 * refused, or a session-level error. */
static int try_key_data(struct auth_ctx *s, const char *user,
                        const char *data, size_t len, const char *pass,
                        sshtun_error *err)
{
    int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
    int rc;

    for (;;) {
        rc = libssh2_userauth_publickey_frommemory(
            s->ssh, user, strlen(user), NULL, 0, data, len, pass);
        if (rc != LIBSSH2_ERROR_EAGAIN)
            break;
        if ((rc = s->wait(s->wait_arg, deadline, err)))
            return rc;
    }
    if (rc == 0)
        return 0;
    if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
        return SSHTUN_ERR_KEY;
    if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND
        || rc == LIBSSH2_ERROR_SOCKET_DISCONNECT)
        return error_set(err, SSHTUN_ERR_SESSION, "connection lost during "
                         "authentication: %s", ssherr_text(s->ssh));
    return SSHTUN_ERR_AUTH;
}

/* Try one key given as text; label names it in messages. */
static int try_key_text(struct auth_ctx *s, const char *user,
                        const char *data, size_t len, const char *label,
                        struct auth_notes *notes, sshtun_error *err)
{
    const sshtun_options *o = s->opts;
    struct key_info ki;
    int rc = SSHTUN_ERR_AUTH;

    if (keyfile_classify(data, len, &ki) < 0) {
        note(notes, "%s is not a private key", label);
        return SSHTUN_ERR_AUTH;
    }
    if (ki.type == KEY_RSA || ki.type == KEY_DSA) {
        note(notes, "skipped %s: RSA and DSA keys cannot be used "
             "(libssh2 1.10 signs RSA only with SHA-1, which OpenSSH 8.8 "
             "and later refuse); use an ed25519 or ECDSA key", label);
        log_msg(o, SSHTUN_LOG_VERBOSE, "Skipping RSA/DSA key %s", label);
        return SSHTUN_ERR_AUTH;
    }
    log_msg(o, SSHTUN_LOG_DEBUG, "Trying private key: %s", label);
    if (!ki.encrypted) {
        rc = try_key_data(s, user, data, len, NULL, err);
        if (rc == SSHTUN_ERR_KEY) {
            note(notes, "could not load key %s", label);
            rc = SSHTUN_ERR_AUTH;
        }
        return rc;
    }
    if (!o->pass_fn || options_flag(o->batch_mode)) {
        note(notes, "skipped encrypted key %s (no way to ask for its "
             "passphrase)", label);
        return SSHTUN_ERR_AUTH;
    }
    for (int tries = 0; tries < PASSPHRASE_TRIES; tries++) {
        char prompt[PATH_MAX + 40], pass[1024];
        snprintf(prompt, sizeof prompt, "Enter passphrase for key '%s': ",
                 label);
        if (o->pass_fn(prompt, pass, sizeof pass, o->pass_user) != 0) {
            OPENSSL_cleanse(pass, sizeof pass);
            break;
        }
        rc = try_key_data(s, user, data, len, pass, err);
        OPENSSL_cleanse(pass, sizeof pass);
        if (rc != SSHTUN_ERR_KEY)
            return rc;
        log_msg(o, SSHTUN_LOG_ERROR, "Bad passphrase, try again for %s",
                label);
        rc = SSHTUN_ERR_AUTH;
    }
    note(notes, "no passphrase for %s", label);
    return rc;
}

/* Try one identity file. */
static int try_file(struct auth_ctx *s, const char *user,
                    const char *path, int explicit, struct auth_notes *notes,
                    sshtun_error *err)
{
    char *data;
    long len;
    int rc;

    if (!(data = malloc(KEYFILE_MAX)))
        return SSHTUN_ERR_NOMEM;
    len = read_key(path, data, KEYFILE_MAX);
    if (len < 0) {
        if (explicit)
            log_msg(s->opts, SSHTUN_LOG_ERROR, "Warning: Identity file %s "
                    "not accessible: %s.", path, strerror((int)-len));
        free(data);
        return SSHTUN_ERR_AUTH;
    }
    rc = try_key_text(s, user, data, (size_t)len, path, notes, err);
    OPENSSL_cleanse(data, (size_t)len);
    free(data);
    return rc;
}

#define PASSWORD_TRIES 3

/* Whether we may ask the user anything. */
static int can_prompt(const sshtun_options *o)
{
    return o->pass_fn && !options_flag(o->batch_mode);
}

/* The authentication running on this thread, for kbdint_answer: libssh2
 * calls it synchronously inside libssh2_userauth_keyboard_interactive_ex
 * with only the session's abstract pointer. */
static __thread struct auth_ctx *kbdint_auth;

/* keyboard-interactive: answer each prompt through the passphrase
 * callback (libssh2 frees the answers with free()). */
static LIBSSH2_USERAUTH_KBDINT_RESPONSE_FUNC(kbdint_answer)
{
    const sshtun_options *o = kbdint_auth->opts;

    (void)name;
    (void)name_len;
    (void)instruction;
    (void)instruction_len;
    for (int i = 0; i < num_prompts; i++) {
        char prompt[512], answer[1024];
        snprintf(prompt, sizeof prompt, "(%s@%s) %.*s", o->user, o->hostname,
                 (int)prompts[i].length, prompts[i].text);
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

/* keyboard-interactive, then password, as ssh tries them. */
static int try_interactive(struct auth_ctx *s, const char *user,
                           const char *methods, struct auth_notes *notes,
                           sshtun_error *err)
{
    const sshtun_options *o = s->opts;
    int rc;

    if (!strstr(methods, "keyboard-interactive") && !strstr(methods,
                                                          "password"))
        return SSHTUN_ERR_AUTH;
    if (s->no_secrets) {
        /* As ssh: never a password to a server whose key changed. */
        note(notes, "password and keyboard-interactive are disabled: the "
             "host key has changed");
        return SSHTUN_ERR_AUTH;
    }
    if (!can_prompt(o)) {
        note(notes, "password and keyboard-interactive need a prompt "
             "(BatchMode=yes or no way to ask)");
        return SSHTUN_ERR_AUTH;
    }
    for (int tries = 0; tries < PASSWORD_TRIES; tries++) {
        int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
        if (strstr(methods, "keyboard-interactive")) {
            int w = 0;
            kbdint_auth = s;
            while (libssh2_userauth_keyboard_interactive_ex(
                       s->ssh, user, (unsigned)strlen(user), kbdint_answer)
                   == LIBSSH2_ERROR_EAGAIN)
                if ((w = s->wait(s->wait_arg, deadline, err)))
                    break;
            kbdint_auth = NULL;
            if (w)
                return w;
        } else {
            char prompt[300], pass[1024];
            snprintf(prompt, sizeof prompt, "%s@%s's password: ", user,
                     o->hostname);
            if (o->pass_fn(prompt, pass, sizeof pass, o->pass_user) != 0)
                return SSHTUN_ERR_AUTH;
            while ((rc = libssh2_userauth_password_ex(
                        s->ssh, user, (unsigned)strlen(user), pass,
                        (unsigned)strlen(pass), NULL))
                   == LIBSSH2_ERROR_EAGAIN)
                if ((rc = s->wait(s->wait_arg, deadline, err))) {
                    OPENSSL_cleanse(pass, sizeof pass);
                    return rc;
                }
            OPENSSL_cleanse(pass, sizeof pass);
        }
        if (libssh2_userauth_authenticated(s->ssh))
            return 0;
        log_msg(o, SSHTUN_LOG_ERROR, "Permission denied, please try again.");
    }
    return SSHTUN_ERR_AUTH;
}

/* Run publickey authentication. */
int auth_run(struct auth_ctx *s, const char *user, sshtun_error *err)
{
    const sshtun_options *o = s->opts;
    struct auth_notes notes = { "" };
    int64_t deadline = clock_now_ms() + AUTH_STEP_MS;
    const char *list;
    char methods[256];
    int rc;

    for (;;) {
        list = libssh2_userauth_list(s->ssh, user, (unsigned)strlen(user));
        if (list || libssh2_userauth_authenticated(s->ssh))
            break;
        if (libssh2_session_last_errno(s->ssh) != LIBSSH2_ERROR_EAGAIN)
            return error_set(err, SSHTUN_ERR_SESSION, "authentication: %s",
                             ssherr_text(s->ssh));
        if ((rc = s->wait(s->wait_arg, deadline, err)))
            return rc;
    }
    if (libssh2_userauth_authenticated(s->ssh))
        return 0;
    /* libssh2 may reuse its buffer during the attempts: keep a copy. */
    snprintf(methods, sizeof methods, "%s", list);
    log_msg(o, SSHTUN_LOG_DEBUG, "Authentications that can continue: %s",
            methods);
    if (!strstr(methods, "publickey")) {
        if ((rc = try_interactive(s, user, methods, &notes, err))
            != SSHTUN_ERR_AUTH)
            return rc;
        return error_set(err, SSHTUN_ERR_AUTH, "%s@%s: Permission denied "
                         "(%s)%s%s", user, o->hostname, methods,
                         notes.text[0] ? ": " : ".", notes.text);
    }
    if (!options_flag(o->identities_only)) {
        rc = try_agent(s, user, &notes, err);
        if (rc != SSHTUN_ERR_AUTH)
            return rc;
    }
    for (int i = 0; i < o->identity_data.n; i++) {
        char label[32];
        snprintf(label, sizeof label, "(key %d in memory)", i + 1);
        rc = try_key_text(s, user, o->identity_data.v[i],
                          strlen(o->identity_data.v[i]), label, &notes, err);
        if (rc != SSHTUN_ERR_AUTH)
            return rc;
    }
    if (o->identity_files.n) {
        for (int i = 0; i < o->identity_files.n; i++) {
            char path[PATH_MAX];
            path_expand_tilde(path, sizeof path,
                                    o->identity_files.v[i]);
            rc = try_file(s, user, path, 1, &notes, err);
            if (rc != SSHTUN_ERR_AUTH)
                return rc;
        }
    } else {
        for (size_t i = 0; i < sizeof default_identities
                                   / sizeof default_identities[0]; i++) {
            char path[PATH_MAX];
            path_expand_tilde(path, sizeof path, default_identities[i]);
            rc = try_file(s, user, path, 0, &notes, err);
            if (rc != SSHTUN_ERR_AUTH)
                return rc;
        }
        {
            char path[PATH_MAX];
            FILE *fp;
            path_expand_tilde(path, sizeof path, "~/.ssh/id_rsa");
            if ((fp = fopen(path, "r"))) {
                fclose(fp);
                note(&notes, "%s not tried: RSA keys cannot be used "
                     "(libssh2 1.10 has no rsa-sha2, which OpenSSH 8.8 and "
                     "later require); use an ed25519 or ECDSA key", path);
            }
        }
    }
    if ((rc = try_interactive(s, user, methods, &notes, err))
        != SSHTUN_ERR_AUTH)
        return rc;
    return error_set(err, SSHTUN_ERR_AUTH, "%s@%s: Permission denied "
                     "(%s)%s%s", user, o->hostname, methods,
                     notes.text[0] ? ": " : ".", notes.text);
}
