/*
 * auth.h - user authentication, run by the I/O thread while connecting.
 *
 * As ssh tries them: publickey (agent keys unless IdentitiesOnly, then
 * identity files), keyboard-interactive, password.  RSA keys are skipped
 * with the reason (libssh2 1.10 signs RSA with SHA-1 only, which OpenSSH
 * >= 8.8 refuses); passphrases, passwords and keyboard-interactive answers come
 * from the passphrase callback, never with BatchMode=yes.
 */
#ifndef SSHTUN_AUTH_H
#define SSHTUN_AUTH_H

#include <libssh2.h>
#include <stdint.h>

#include "config/options.h"
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
};

/* Authenticate as user.  Returns 0 or SSHTUN_ERR_AUTH / _TIMEOUT /
 * _SESSION with err explaining what was tried. */
int auth_run(struct auth_ctx *s, const char *user, sshtun_error *err);

#endif
