/*
 * auth_pubkey.h - publickey authentication with key files and keys given
 * in memory (RSA included, signed by rsasign.c), and the deferred RSA
 * fallbacks.
 */
#ifndef SSHTUN_AUTH_PUBKEY_H
#define SSHTUN_AUTH_PUBKEY_H

struct auth_state;

/* Publickey with every identity . */
int auth_pubkey(struct auth_state *st);

#endif
