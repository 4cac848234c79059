/*
 * keyfile.h - telling what kind of private key a file holds.
 *
 * RSA keys are signed by sshtun itself (libssh2 1.10 signs them only
 * with SHA-1), other keys by libssh2, which fails on encrypted keys
 * without saying so.  Classifying a key before use picks the signer, skips
 * unusable keys with a clear reason and asks for a passphrase only when
 * one is needed.  Pure: works on the file's bytes.
 */
#ifndef SSHTUN_KEYFILE_H
#define SSHTUN_KEYFILE_H

#include <stddef.h>

enum key_type { KEY_UNKNOWN, KEY_ED25519, KEY_ECDSA, KEY_RSA, KEY_DSA,
                KEY_SK };

struct key_info {
    enum key_type type;
    int encrypted;
    char alg[48];                   /* OpenSSH format: the key's type name */
};

/* Classify a private key from its text.  Returns 0, or -1 if it does not
 * look like a private key at all. */
int keyfile_classify(const char *text, size_t len, struct key_info *out);

/* The base64 text between an OpenSSH-format key's markers: 0, or -1 if
 * text holds none. */
int keyfile_openssh_body(const char *text, size_t len, const char **body,
                         size_t *blen);

/* "ED25519", "ECDSA", "RSA", "DSA", "security key" or "unknown". */
const char *keyfile_type_name(enum key_type t);

/* Decode base64 (ignoring whitespace) into out; returns bytes or -1. */
long keyfile_base64_decode(const char *in, size_t len, unsigned char *out,
                           size_t outsize);

#endif
