/*
 * bcrypt_pbkdf.c - bcrypt_pbkdf (see bcrypt_pbkdf.h).
 *
 * Written from Ted Unangst's description: each 32-byte block is the xor
 * of `rounds` chained bcrypt hashes of SHA-512(pass) and SHA-512(salt ||
 * block number), and the blocks' bytes are spread across the output so
 * that every byte needs every block.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include "engine/bcrypt_pbkdf.h"
#include "engine/blowfish.h"

#define HASH_BYTES 32
#define SALT_MAX 1024

/* The bcrypt core on SHA-512 digests of pass and salt: 64 rounds of the
 * salted schedule, then "OxychromaticBlowfishSwatDynamite" encrypted 64
 * times, written out little-endian per word. */
static void bcrypt_hash(const uint8_t pass[SHA512_DIGEST_LENGTH],
                        const uint8_t salt[SHA512_DIGEST_LENGTH],
                        uint8_t out[HASH_BYTES])
{
    static const char magic[HASH_BYTES + 1] =
        "OxychromaticBlowfishSwatDynamite";
    struct blowfish bf;
    uint32_t text[HASH_BYTES / 4];

    blowfish_init(&bf);
    blowfish_expand(&bf, salt, SHA512_DIGEST_LENGTH, pass,
                    SHA512_DIGEST_LENGTH);
    for (int i = 0; i < 64; i++) {
        blowfish_expand(&bf, NULL, 0, salt, SHA512_DIGEST_LENGTH);
        blowfish_expand(&bf, NULL, 0, pass, SHA512_DIGEST_LENGTH);
    }
    for (int i = 0; i < HASH_BYTES / 4; i++)
        text[i] = (uint32_t)(uint8_t)magic[4 * i] << 24
                  | (uint32_t)(uint8_t)magic[4 * i + 1] << 16
                  | (uint32_t)(uint8_t)magic[4 * i + 2] << 8
                  | (uint8_t)magic[4 * i + 3];
    for (int n = 0; n < 64; n++)
        for (int i = 0; i < HASH_BYTES / 4; i += 2)
            blowfish_encrypt(&bf, &text[i], &text[i + 1]);
    for (int i = 0; i < HASH_BYTES / 4; i++) {
        out[4 * i] = (uint8_t)text[i];
        out[4 * i + 1] = (uint8_t)(text[i] >> 8);
        out[4 * i + 2] = (uint8_t)(text[i] >> 16);
        out[4 * i + 3] = (uint8_t)(text[i] >> 24);
    }
    OPENSSL_cleanse(&bf, sizeof bf);
    OPENSSL_cleanse(text, sizeof text);
}

/* One output block: the xor of the chain of rounds hashes. */
static void pbkdf_block(const uint8_t pass_digest[SHA512_DIGEST_LENGTH],
                        uint8_t *salt_block, size_t saltlen, uint32_t count,
                        unsigned rounds, uint8_t out[HASH_BYTES])
{
    uint8_t salt_digest[SHA512_DIGEST_LENGTH], hash[HASH_BYTES];

    salt_block[saltlen] = (uint8_t)(count >> 24);
    salt_block[saltlen + 1] = (uint8_t)(count >> 16);
    salt_block[saltlen + 2] = (uint8_t)(count >> 8);
    salt_block[saltlen + 3] = (uint8_t)count;
    SHA512(salt_block, saltlen + 4, salt_digest);
    bcrypt_hash(pass_digest, salt_digest, hash);
    memcpy(out, hash, HASH_BYTES);
    for (unsigned r = 1; r < rounds; r++) {
        SHA512(hash, HASH_BYTES, salt_digest);
        bcrypt_hash(pass_digest, salt_digest, hash);
        for (int i = 0; i < HASH_BYTES; i++)
            out[i] ^= hash[i];
    }
    OPENSSL_cleanse(hash, sizeof hash);
    OPENSSL_cleanse(salt_digest, sizeof salt_digest);
}

/* Derive keylen bytes. */
int bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt,
                 size_t saltlen, uint8_t *key, size_t keylen,
                 unsigned rounds)
{
    uint8_t pass_digest[SHA512_DIGEST_LENGTH], salt_block[SALT_MAX + 4];
    uint8_t block[HASH_BYTES];
    size_t stride, per_block;

    if (rounds < 1 || saltlen == 0 || saltlen > SALT_MAX || keylen == 0
        || keylen > BCRYPT_PBKDF_MAX_KEY)
        return -1;
    /* Output byte i*stride + b comes from byte i of block b. */
    stride = (keylen + HASH_BYTES - 1) / HASH_BYTES;
    per_block = (keylen + stride - 1) / stride;
    SHA512((const uint8_t *)pass, passlen, pass_digest);
    memcpy(salt_block, salt, saltlen);
    for (size_t b = 0; b < stride; b++) {
        pbkdf_block(pass_digest, salt_block, saltlen, (uint32_t)b + 1,
                    rounds, block);
        for (size_t i = 0; i < per_block; i++) {
            size_t dest = i * stride + b;
            if (dest >= keylen)
                break;
            key[dest] = block[i];
        }
    }
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pass_digest, sizeof pass_digest);
    return 0;
}
