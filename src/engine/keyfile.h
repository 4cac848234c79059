/*
 * keyfile.h - telling what kind of private key a file holds.
 *
 * libssh2 1.10 can sign only with ssh-rsa (SHA-1) for RSA keys, which
 * OpenSSH >= 8.8 refuses, and fails on encrypted keys without saying so.
 * Classifying a key before use lets us skip RSA keys with a clear reason
 * and ask for a passphrase only when one is needed.  Pure: works on the
 * file's bytes.
 */
#ifndef SSHTUN_KEYFILE_H
#define SSHTUN_KEYFILE_H

#include <stddef.h>

enum key_type { KEY_UNKNOWN, KEY_ED25519, KEY_ECDSA, KEY_RSA, KEY_DSA };

struct key_info {
    enum key_type type;
    int encrypted;
};

/* Classify a private key from its text.  Returns 0, or -1 if it does not
 * look like a private key at all. */
int keyfile_classify(const char *text, size_t len, struct key_info *out);

/* "ED25519", "ECDSA", "RSA", "DSA" or "unknown". */
const char *keyfile_type_name(enum key_type t);

/* Decode base64 (ignoring whitespace) into out; returns bytes or -1. */
long keyfile_base64_decode(const char *in, size_t len, unsigned char *out,
                           size_t outsize);

#endif
