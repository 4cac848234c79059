/*
 * bcrypt_pbkdf.h - the key derivation OpenSSH uses for encrypted private
 * keys ("kdfname bcrypt"): PBKDF2's structure with SHA-512 and a bcrypt
 * hash as the pseudo-random function, output bytes interleaved across
 * blocks.  Pure: no I/O.
 */
#ifndef SSHTUN_BCRYPT_PBKDF_H
#define SSHTUN_BCRYPT_PBKDF_H

#include <stddef.h>
#include <stdint.h>

/* Most output asked of it: a cipher key and IV. */
#define BCRYPT_PBKDF_MAX_KEY 1024

/* Derive keylen bytes from pass and salt with rounds rounds.  Returns 0,
 * or -1 for arguments outside what OpenSSH writes (no rounds, an empty or
 * over-long salt, keylen 0 or over BCRYPT_PBKDF_MAX_KEY). */
int bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt,
                 size_t saltlen, uint8_t *key, size_t keylen,
                 unsigned rounds);

#endif
