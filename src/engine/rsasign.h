/*
 * rsasign.h - RSA signatures for publickey authentication under the
 * algorithm names of RFC 8332 (rsa-sha2-512, rsa-sha2-256) and the old
 * ssh-rsa (SHA-1).
 *
 * libssh2_userauth_publickey() takes the algorithm it announces from the
 * first string of the key blob it is given and sends back whatever the
 * sign callback returns, so a blob "rsa-sha2-512" e n and a SHA-512
 * PKCS#1 v1.5 signature authenticate with libssh2 1.10 (OpenSSH >= 7.2
 * accepts the algorithm name in the blob).  Pure: OpenSSL only.
 */
#ifndef SSHTUN_RSASIGN_H
#define SSHTUN_RSASIGN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Largest public key blob (16384-bit modulus, its exponent and name). */
#define RSASIGN_BLOB_MAX 4200

/* Whether alg is one of the three RSA signature algorithms. */
int rsasign_is_rsa_alg(const char *alg);

/* The public key blob under alg: string(alg) mpint(e) mpint(n).  Returns
 * its length, or -1. */
long rsasign_blob(EVP_PKEY *key, const char *alg, uint8_t *out,
                  size_t size);

/* The blob of an agent's "ssh-rsa" key blob under alg into out. */
long rsasign_rename_blob(const uint8_t *blob, size_t len, const char *alg,
                         uint8_t *out, size_t size);

/* Sign data with alg; *sig is malloc'd (what libssh2 frees).  0 or -1. */
int rsasign_sign(EVP_PKEY *key, const char *alg, const uint8_t *data,
                 size_t len, uint8_t **sig, size_t *siglen);

#endif
