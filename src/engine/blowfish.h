/*
 * blowfish.h - the Blowfish block cipher with the salted key schedule of
 * bcrypt ("eksblowfish"), as bcrypt_pbkdf needs it.
 *
 * OpenSSH encrypts its private keys with a key derived by bcrypt_pbkdf,
 * whose core is Blowfish with a key schedule that takes a salt.  OpenSSL 3
 * keeps Blowfish in its legacy provider only and has no salted schedule,
 * so the cipher is here.  Pure: no I/O, no allocation.
 */
#ifndef SSHTUN_BLOWFISH_H
#define SSHTUN_BLOWFISH_H

#include <stddef.h>
#include <stdint.h>

#define BLOWFISH_ROUNDS 16
#define BLOWFISH_PI_WORDS (BLOWFISH_ROUNDS + 2 + 4 * 256)

/* The cipher's state: the subkeys P and the four S-boxes. */
struct blowfish {
    uint32_t p[BLOWFISH_ROUNDS + 2];
    uint32_t s[4][256];
};

/* pi's fractional digits, the initial state (blowfish_pi.c). */
extern const uint32_t blowfish_pi_words[BLOWFISH_PI_WORDS];

/* Reset the state to pi's digits. */
void blowfish_init(struct blowfish *bf);

/* Encrypt one 64-bit block given as two big-endian halves. */
void blowfish_encrypt(const struct blowfish *bf, uint32_t *l, uint32_t *r);

/* The salted key schedule step: mix key into P, then re-encrypt P and the
 * S-boxes, xoring in salt as it goes when salt is not NULL (bcrypt's
 * ExpandKey(state, salt, key); with salt NULL, ExpandKey(state, 0, key)).
 * key and salt are read cyclically; keylen and saltlen must be > 0. */
void blowfish_expand(struct blowfish *bf, const uint8_t *salt,
                     size_t saltlen, const uint8_t *key, size_t keylen);

#endif
