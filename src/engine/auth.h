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

#include "engine/auth_ctx.h"
#include "sshtun.h"


/* Authenticate as user.  Returns 0 or SSHTUN_ERR_AUTH / _TIMEOUT /
 * _SESSION / _NOMEM with err explaining what was tried. */
int auth_run(struct auth_ctx *s, const char *user, sshtun_error *err);

#endif
