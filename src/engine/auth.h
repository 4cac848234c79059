/*
 * auth.h - user authentication, run by the I/O thread while connecting.
 *
 * As ssh tries them, in PreferredAuthentications' order (publickey,
 * keyboard-interactive, password by default), each only when enabled
 * (PubkeyAuthentication, KbdInteractiveAuthentication,
 * PasswordAuthentication) and offered by the server.  publickey: agent
 * keys unless IdentitiesOnly, then keys given in memory, then identity
 * files (or ~/.ssh/id_rsa, id_ecdsa, id_ed25519).  RSA keys are signed
 * here as rsa-sha2-512 (or -256) since libssh2 1.10 signs them only with
 * SHA-1; PubkeyAcceptedAlgorithms filters every key type.  Passphrases,
 * passwords and keyboard-interactive answers come from the passphrase
 * callback, never with BatchMode=yes.  A session's connections share an
 * auth_memo so that later ones authenticate as the first did without
 * asking again.
 */
#ifndef SSHTUN_AUTH_H
#define SSHTUN_AUTH_H

#include <libssh2.h>
#include <stdint.h>

#include "config/options.h"
#include "engine/auth_memo.h"
#include "sshtun.h"

/* What authentication needs from the connection that runs it: the
 * libssh2 session (non-blocking) and a way to wait for its socket. */
struct auth_ctx {
    LIBSSH2_SESSION *ssh;
    const sshtun_options *opts;
    int no_secrets;                 /* host key changed: offer no password
                                       or keyboard-interactive answers */
    /* Wait until libssh2 can make progress or deadline_ms (clock_now_ms based)
     * passes: 0, or SSHTUN_ERR_TIMEOUT / _SESSION with err. */
    int (*wait)(void *wait_arg, int64_t deadline_ms, sshtun_error *err);
    void *wait_arg;
    struct auth_memo *memo;         /* shared by a session's connections;
                                       NULL: none */
};

/* Authenticate as user.  Returns 0 or SSHTUN_ERR_AUTH / _TIMEOUT /
 * _SESSION / _NOMEM with err explaining what was tried. */
int auth_run(struct auth_ctx *s, const char *user, sshtun_error *err);

#endif
