/*
 * blowfish.c - Blowfish and bcrypt's salted key schedule (see blowfish.h).
 *
 * Written from Schneier's description of Blowfish (a 16-round Feistel
 * network whose round function mixes four key-dependent S-boxes) and
 * Provos and Mazieres' description of the expensive key schedule.
 */
#include "config.h"

#include <string.h>

#include "engine/blowfish.h"

/* Reset the state to pi's digits. */
void blowfish_init(struct blowfish *bf)
{
    memcpy(bf->p, blowfish_pi_words, sizeof bf->p);
    memcpy(bf->s, blowfish_pi_words + BLOWFISH_ROUNDS + 2, sizeof bf->s);
}

/* The round function: the four S-boxes indexed by x's bytes. */
static uint32_t feistel(const struct blowfish *bf, uint32_t x)
{
    return ((bf->s[0][x >> 24] + bf->s[1][(x >> 16) & 0xff])
            ^ bf->s[2][(x >> 8) & 0xff]) + bf->s[3][x & 0xff];
}

/* Encrypt one block. */
void blowfish_encrypt(const struct blowfish *bf, uint32_t *l, uint32_t *r)
{
    uint32_t xl = *l, xr = *r, t;

    for (int i = 0; i < BLOWFISH_ROUNDS; i++) {
        xl ^= bf->p[i];
        xr ^= feistel(bf, xl);
        t = xl;
        xl = xr;
        xr = t;
    }
    t = xl;
    xl = xr;
    xr = t;
    xr ^= bf->p[BLOWFISH_ROUNDS];
    xl ^= bf->p[BLOWFISH_ROUNDS + 1];
    *l = xl;
    *r = xr;
}

/* The next 32 bits of buf read cyclically (big-endian) from *pos. */
static uint32_t next_word(const uint8_t *buf, size_t len, size_t *pos)
{
    uint32_t w = 0;

    for (int i = 0; i < 4; i++) {
        w = (w << 8) | buf[*pos];
        *pos = (*pos + 1) % len;
    }
    return w;
}

/* The salted key schedule step. */
void blowfish_expand(struct blowfish *bf, const uint8_t *salt,
                     size_t saltlen, const uint8_t *key, size_t keylen)
{
    uint32_t *words[1 + 4];
    size_t counts[1 + 4];
    size_t kpos = 0, spos = 0;
    uint32_t l = 0, r = 0;

    for (int i = 0; i < BLOWFISH_ROUNDS + 2; i++)
        bf->p[i] ^= next_word(key, keylen, &kpos);
    /* P, then each S-box, replaced two words at a time by the running
     * encryption (of the salt, when there is one). */
    words[0] = bf->p;
    counts[0] = BLOWFISH_ROUNDS + 2;
    for (int i = 0; i < 4; i++) {
        words[1 + i] = bf->s[i];
        counts[1 + i] = 256;
    }
    for (int t = 0; t < 5; t++) {
        for (size_t i = 0; i < counts[t]; i += 2) {
            if (salt) {
                l ^= next_word(salt, saltlen, &spos);
                r ^= next_word(salt, saltlen, &spos);
            }
            blowfish_encrypt(bf, &l, &r);
            words[t][i] = l;
            words[t][i + 1] = r;
        }
    }
}
