/*
 * sshkey.h - loading RSA private keys from their text, in every form
 * ssh-keygen writes them: OpenSSH's own format ("openssh-key-v1",
 * unencrypted or encrypted with bcrypt_pbkdf and AES), PEM (PKCS#1) and
 * PKCS#8, encrypted or not.
 *
 * libssh2 1.10 can sign with RSA keys only as ssh-rsa (SHA-1), so RSA keys
 * are loaded here into an OpenSSL key and signed by rsasign.c.  Keys of
 * other types are reported as such and left to libssh2.  Pure: parses
 * bytes (decrypting them), does no I/O; bounded and fuzzed.
 */
#ifndef SSHTUN_SSHKEY_H
#define SSHTUN_SSHKEY_H

#include <openssl/evp.h>
#include <stddef.h>

enum sshkey_status {
    SSHKEY_OK = 0,
    SSHKEY_NOT_RSA,         /* a private key, but not RSA */
    SSHKEY_NEED_PASS,       /* encrypted and no passphrase was given */
    SSHKEY_BAD_PASS,        /* the passphrase does not decrypt it */
    SSHKEY_UNSUPPORTED,     /* readable but unusable; why says why */
    SSHKEY_INVALID,         /* not a well-formed key */
    SSHKEY_NOMEM
};

/* Largest key text read, and the RSA sizes accepted (OpenSSH's limits:
 * it refuses RSA keys under 1024 bits, and makes none over 16384). */
#define SSHKEY_TEXT_MAX (64 * 1024)
#define SSHKEY_RSA_MIN_BITS 1024
#define SSHKEY_RSA_MAX_BITS 16384
/* Most bcrypt_pbkdf rounds accepted (ssh-keygen's default is 16; -a
 * takes what a user will wait for: 2^16 rounds is many minutes). */
#define SSHKEY_MAX_ROUNDS 65536

/* Load an RSA private key from text with passphrase pass (NULL: none).
 * On SSHKEY_OK *out is the key (EVP_PKEY_free it); otherwise, for
 * SSHKEY_UNSUPPORTED and SSHKEY_INVALID, why says what is wrong. */
int sshkey_load_rsa(const char *text, size_t len, const char *pass,
                    EVP_PKEY **out, char *why, size_t whylen);

/* The same with a bound on bcrypt rounds (fuzzing keeps it small). */
int sshkey_parse_rsa(const char *text, size_t len, const char *pass,
                     unsigned max_rounds, EVP_PKEY **out, char *why,
                     size_t whylen);

#endif
