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

#include "engine/session.h"

/* Authenticate as user.  Returns 0 or SSHTUN_ERR_AUTH / _TIMEOUT /
 * _SESSION with err explaining what was tried. */
int auth_run(struct sshtun_session *s, const char *user, sshtun_error *err);

#endif
