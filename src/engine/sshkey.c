/*
 * sshkey.c - RSA private keys from text (see sshkey.h).
 *
 * OpenSSH's format (PROTOCOL.key): "openssh-key-v1\0", the cipher and KDF
 * names, the KDF options (salt and rounds for bcrypt), the number of keys
 * (one), the public key in clear, then the private section, encrypted:
 * two equal check words (a wrong passphrase makes them differ), the key
 * type and its numbers, a comment, and padding 1, 2, 3...  PEM and PKCS#8
 * are OpenSSL's to read.
 */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bcrypt_pbkdf.h"
#include "engine/keyfile.h"
#include "engine/sshbuf.h"
#include "engine/sshkey.h"

#define OPENSSH_MAGIC "openssh-key-v1"

/* Say why, and return status. */
static int fail(int status, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int status, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* A cipher OpenSSH may encrypt a key with, as OpenSSL names it. */
struct key_cipher {
    const char *name;
    const EVP_CIPHER *(*evp)(void);
    size_t keylen, ivlen, block;
};

static const struct key_cipher key_ciphers[] = {
    { "aes256-ctr", EVP_aes_256_ctr, 32, 16, 16 },
    { "aes192-ctr", EVP_aes_192_ctr, 24, 16, 16 },
    { "aes128-ctr", EVP_aes_128_ctr, 16, 16, 16 },
    { "aes256-cbc", EVP_aes_256_cbc, 32, 16, 16 },
    { "aes192-cbc", EVP_aes_192_cbc, 24, 16, 16 },
    { "aes128-cbc", EVP_aes_128_cbc, 16, 16, 16 },
};

/* The cipher named s, or NULL. */
static const struct key_cipher *find_cipher(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < sizeof key_ciphers / sizeof key_ciphers[0]; i++)
        if (sshbuf_string_is(s, len, key_ciphers[i].name))
            return &key_ciphers[i];
    return NULL;
}

/* The clear part of an openssh-key-v1 file. */
struct openssh_head {
    const uint8_t *cipher, *kdf, *salt, *pub, *priv;
    size_t cipher_len, kdf_len, salt_len, pub_len, priv_len;
    uint32_t rounds;
};

/* Read the clear header; SSHKEY_OK or a status with why. */
static int read_head(const uint8_t *bin, size_t len, struct openssh_head *h,
                     char *why, size_t whylen)
{
    struct sshbuf_reader r, opt;
    const uint8_t *kdfopt;
    size_t optlen;
    uint32_t nkeys;

    if (len < sizeof OPENSSH_MAGIC
        || memcmp(bin, OPENSSH_MAGIC, sizeof OPENSSH_MAGIC))
        return fail(SSHKEY_INVALID, why, whylen, "bad openssh-key-v1 magic");
    sshbuf_reader_init(&r, bin + sizeof OPENSSH_MAGIC,
                       len - sizeof OPENSSH_MAGIC);
    if (sshbuf_get_string(&r, &h->cipher, &h->cipher_len)
        || sshbuf_get_string(&r, &h->kdf, &h->kdf_len)
        || sshbuf_get_string(&r, &kdfopt, &optlen)
        || sshbuf_get_u32(&r, &nkeys)
        || sshbuf_get_string(&r, &h->pub, &h->pub_len)
        || sshbuf_get_string(&r, &h->priv, &h->priv_len))
        return fail(SSHKEY_INVALID, why, whylen, "truncated key");
    if (nkeys != 1)
        return fail(SSHKEY_UNSUPPORTED, why, whylen,
                    "a file with %u keys (one expected)", (unsigned)nkeys);
    h->salt = NULL;
    h->salt_len = 0;
    h->rounds = 0;
    if (sshbuf_string_is(h->kdf, h->kdf_len, "bcrypt")) {
        sshbuf_reader_init(&opt, kdfopt, optlen);
        if (sshbuf_get_string(&opt, &h->salt, &h->salt_len)
            || sshbuf_get_u32(&opt, &h->rounds))
            return fail(SSHKEY_INVALID, why, whylen, "bad bcrypt options");
    } else if (!sshbuf_string_is(h->kdf, h->kdf_len, "none")) {
        return fail(SSHKEY_UNSUPPORTED, why, whylen,
                    "unknown key derivation '%.*s'",
                    (int)(h->kdf_len > 40 ? 40 : h->kdf_len),
                    (const char *)h->kdf);
    }
    return SSHKEY_OK;
}

/* Decrypt the private section into out (priv_len bytes). */
static int decrypt_section(const struct openssh_head *h, const char *pass,
                           unsigned max_rounds, uint8_t *out, char *why,
                           size_t whylen)
{
    const struct key_cipher *c = find_cipher(h->cipher, h->cipher_len);
    uint8_t keyiv[64];
    EVP_CIPHER_CTX *ctx;
    int n1 = 0, n2 = 0, ok;

    if (!c)
        return fail(SSHKEY_UNSUPPORTED, why, whylen, "encrypted with "
                    "cipher '%.*s', which sshtun cannot decrypt",
                    (int)(h->cipher_len > 40 ? 40 : h->cipher_len),
                    (const char *)h->cipher);
    if (!h->salt)
        return fail(SSHKEY_INVALID, why, whylen, "encrypted without a KDF");
    if (h->priv_len % c->block)
        return fail(SSHKEY_INVALID, why, whylen, "bad encrypted length");
    if (h->rounds > max_rounds)
        return fail(SSHKEY_UNSUPPORTED, why, whylen, "%u bcrypt rounds (at "
                    "most %u)", (unsigned)h->rounds, max_rounds);
    if (!pass)
        return SSHKEY_NEED_PASS;
    if (bcrypt_pbkdf(pass, strlen(pass), h->salt, h->salt_len, keyiv,
                     c->keylen + c->ivlen, h->rounds))
        return fail(SSHKEY_INVALID, why, whylen, "bad bcrypt options");
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        OPENSSL_cleanse(keyiv, sizeof keyiv);
        return SSHKEY_NOMEM;
    }
    ok = EVP_DecryptInit_ex(ctx, c->evp(), NULL, keyiv, keyiv + c->keylen)
         && EVP_CIPHER_CTX_set_padding(ctx, 0)
         && EVP_DecryptUpdate(ctx, out, &n1, h->priv, (int)h->priv_len)
         && EVP_DecryptFinal_ex(ctx, out + n1, &n2);
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(keyiv, sizeof keyiv);
    if (!ok || (size_t)(n1 + n2) != h->priv_len)
        return fail(SSHKEY_INVALID, why, whylen, "decryption failed");
    return SSHKEY_OK;
}

/* An mpint as a BIGNUM (positive only); NULL if malformed. */
static BIGNUM *get_bn(struct sshbuf_reader *r)
{
    const uint8_t *s;
    size_t len;

    if (sshbuf_get_string(r, &s, &len) || len > SSHKEY_RSA_MAX_BITS / 8 + 1
        || (len && (s[0] & 0x80)))
        return NULL;
    return BN_bin2bn(s, (int)len, NULL);
}

/* The numbers of an RSA private key. */
enum { RSA_N, RSA_E, RSA_D, RSA_IQMP, RSA_P, RSA_Q, RSA_DMP1, RSA_DMQ1,
       RSA_NUMS };

/* Free the numbers, clearing the private ones. */
static void free_nums(BIGNUM *v[RSA_NUMS])
{
    for (int i = 0; i < RSA_NUMS; i++)
        BN_clear_free(v[i]);
}

/* Check the numbers hang together (n = pq, sizes) and derive the CRT
 * exponents d mod (p-1) and d mod (q-1). */
static int check_nums(BIGNUM *v[RSA_NUMS], char *why, size_t whylen)
{
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *t = BN_new(), *pm1 = BN_new();
    int bits = BN_num_bits(v[RSA_N]), rc = SSHKEY_NOMEM;

    if (!bc || !t || !pm1 || !(v[RSA_DMP1] = BN_new())
        || !(v[RSA_DMQ1] = BN_new()))
        goto out;
    rc = SSHKEY_INVALID;
    if (!BN_mul(t, v[RSA_P], v[RSA_Q], bc) || BN_cmp(t, v[RSA_N])
        || BN_is_zero(v[RSA_E]) || BN_is_zero(v[RSA_D]))
        goto out;
    if (!BN_sub(pm1, v[RSA_P], BN_value_one())
        || !BN_mod(v[RSA_DMP1], v[RSA_D], pm1, bc)
        || !BN_sub(pm1, v[RSA_Q], BN_value_one())
        || !BN_mod(v[RSA_DMQ1], v[RSA_D], pm1, bc))
        goto out;
    rc = SSHKEY_OK;
    if (bits < SSHKEY_RSA_MIN_BITS || bits > SSHKEY_RSA_MAX_BITS)
        rc = fail(SSHKEY_UNSUPPORTED, why, whylen, "a %d-bit RSA key (ssh "
                  "accepts %d to %d bits)", bits, SSHKEY_RSA_MIN_BITS,
                  SSHKEY_RSA_MAX_BITS);
out:
    BN_CTX_free(bc);
    BN_free(t);
    BN_clear_free(pm1);
    if (rc == SSHKEY_INVALID)
        fail(rc, why, whylen, "inconsistent RSA key");
    return rc;
}

/* An OpenSSL key from the numbers. */
static int build_key(BIGNUM *v[RSA_NUMS], EVP_PKEY **out)
{
    static const char *const names[RSA_NUMS] = {
        OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
        OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2,
    };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int ok = bld != NULL;

    for (int i = 0; ok && i < RSA_NUMS; i++)
        ok = OSSL_PARAM_BLD_push_BN(bld, names[i], v[i]);
    ok = ok && (params = OSSL_PARAM_BLD_to_param(bld))
         && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL))
         && EVP_PKEY_fromdata_init(ctx) > 0
         && EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) > 0;
    for (OSSL_PARAM *p = params; p && p->key; p++)
        OPENSSL_cleanse(p->data, p->data_size);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return ok ? SSHKEY_OK : SSHKEY_NOMEM;
}

/* Whether the clear public key (string "ssh-rsa", e, n) matches. */
static int pub_matches(const struct openssh_head *h, BIGNUM *v[RSA_NUMS])
{
    struct sshbuf_reader r;
    const uint8_t *type;
    size_t tlen;
    BIGNUM *e, *n;
    int same;

    sshbuf_reader_init(&r, h->pub, h->pub_len);
    if (sshbuf_get_string(&r, &type, &tlen))
        return 0;
    e = get_bn(&r);
    n = get_bn(&r);
    same = e && n && !BN_cmp(e, v[RSA_E]) && !BN_cmp(n, v[RSA_N]);
    BN_free(e);
    BN_free(n);
    return same;
}

/* Read the decrypted private section of an RSA key. */
static int read_private(const struct openssh_head *h, const uint8_t *sec,
                        int encrypted, EVP_PKEY **out, char *why,
                        size_t whylen)
{
    static const int order[] = { RSA_N, RSA_E, RSA_D, RSA_IQMP, RSA_P,
                                 RSA_Q };
    BIGNUM *v[RSA_NUMS] = { NULL };
    struct sshbuf_reader r;
    uint32_t check1, check2;
    const uint8_t *type;
    size_t tlen;
    int rc;

    sshbuf_reader_init(&r, sec, h->priv_len);
    if (sshbuf_get_u32(&r, &check1) || sshbuf_get_u32(&r, &check2))
        return fail(SSHKEY_INVALID, why, whylen, "truncated key");
    if (check1 != check2)
        return encrypted ? SSHKEY_BAD_PASS
                         : fail(SSHKEY_INVALID, why, whylen, "bad check");
    if (sshbuf_get_string(&r, &type, &tlen)
        || !sshbuf_string_is(type, tlen, "ssh-rsa"))
        return fail(SSHKEY_INVALID, why, whylen, "private part is not RSA");
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (!(v[order[i]] = get_bn(&r))) {
            free_nums(v);
            return fail(SSHKEY_INVALID, why, whylen, "bad RSA number");
        }
    rc = check_nums(v, why, whylen);
    if (rc == SSHKEY_OK && !pub_matches(h, v))
        rc = fail(SSHKEY_INVALID, why, whylen, "public and private parts "
                  "differ");
    if (rc == SSHKEY_OK)
        rc = build_key(v, out);
    free_nums(v);
    return rc;
}

/* An openssh-key-v1 body (base64 between the markers). */
static int parse_openssh(const char *body, size_t blen, const char *pass,
                         unsigned max_rounds, EVP_PKEY **out, char *why,
                         size_t whylen)
{
    size_t cap = blen / 4 * 3 + 3;
    uint8_t *bin = malloc(cap), *sec = NULL;
    struct openssh_head h;
    const uint8_t *type;
    size_t tlen;
    struct sshbuf_reader r;
    long n;
    int rc, encrypted;

    if (!bin)
        return SSHKEY_NOMEM;
    if ((n = keyfile_base64_decode(body, blen, bin, cap)) < 0)
        rc = fail(SSHKEY_INVALID, why, whylen, "bad base64");
    else if ((rc = read_head(bin, (size_t)n, &h, why, whylen)) == SSHKEY_OK) {
        sshbuf_reader_init(&r, h.pub, h.pub_len);
        encrypted = !sshbuf_string_is(h.cipher, h.cipher_len, "none");
        if (sshbuf_get_string(&r, &type, &tlen))
            rc = fail(SSHKEY_INVALID, why, whylen, "bad public key");
        else if (!sshbuf_string_is(type, tlen, "ssh-rsa"))
            rc = SSHKEY_NOT_RSA;
        else if (!(sec = malloc(h.priv_len ? h.priv_len : 1)))
            rc = SSHKEY_NOMEM;
        else if (encrypted)
            rc = decrypt_section(&h, pass, max_rounds, sec, why, whylen);
        else if (h.priv_len)
            memcpy(sec, h.priv, h.priv_len);
        if (rc == SSHKEY_OK)
            rc = read_private(&h, sec, encrypted, out, why, whylen);
        if (sec) {
            OPENSSL_cleanse(sec, h.priv_len);
            free(sec);
        }
    }
    OPENSSL_cleanse(bin, cap);
    free(bin);
    return rc;
}

/* OpenSSL's passphrase callback: the one we were given, never a prompt. */
static int pem_pass(char *buf, int size, int rwflag, void *u)
{
    size_t len = u ? strlen(u) : 0;

    (void)rwflag;
    if (!u || len >= (size_t)size)
        return -1;
    memcpy(buf, u, len);
    return (int)len;
}

/* A PEM (PKCS#1) or PKCS#8 key, through OpenSSL. */
static int parse_pem(const char *text, size_t len, int encrypted,
                     const char *pass, EVP_PKEY **out, char *why,
                     size_t whylen)
{
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *k;

    if (!bio)
        return SSHKEY_NOMEM;
    if (encrypted && !pass) {
        BIO_free(bio);
        return SSHKEY_NEED_PASS;
    }
    k = PEM_read_bio_PrivateKey(bio, NULL, pem_pass, (void *)pass);
    BIO_free(bio);
    ERR_clear_error();
    if (!k)
        return encrypted ? SSHKEY_BAD_PASS
                         : fail(SSHKEY_INVALID, why, whylen,
                                "OpenSSL cannot read it");
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
        EVP_PKEY_free(k);
        return SSHKEY_NOT_RSA;
    }
    if (EVP_PKEY_get_bits(k) < SSHKEY_RSA_MIN_BITS
        || EVP_PKEY_get_bits(k) > SSHKEY_RSA_MAX_BITS) {
        int bits = EVP_PKEY_get_bits(k);
        EVP_PKEY_free(k);
        return fail(SSHKEY_UNSUPPORTED, why, whylen, "a %d-bit RSA key (ssh "
                    "accepts %d to %d bits)", bits, SSHKEY_RSA_MIN_BITS,
                    SSHKEY_RSA_MAX_BITS);
    }
    *out = k;
    return SSHKEY_OK;
}

/* Load an RSA key with a bound on bcrypt rounds. */
int sshkey_parse_rsa(const char *text, size_t len, const char *pass,
                     unsigned max_rounds, EVP_PKEY **out, char *why,
                     size_t whylen)
{
    struct key_info ki;
    const char *body;
    size_t blen;

    *out = NULL;
    if (why && whylen)
        why[0] = '\0';
    if (len > SSHKEY_TEXT_MAX)
        return fail(SSHKEY_INVALID, why, whylen, "over %d bytes",
                    SSHKEY_TEXT_MAX);
    if (keyfile_openssh_body(text, len, &body, &blen) == 0)
        return parse_openssh(body, blen, pass, max_rounds, out, why, whylen);
    if (keyfile_classify(text, len, &ki) < 0)
        return fail(SSHKEY_INVALID, why, whylen, "not a private key");
    if (ki.type != KEY_RSA && ki.type != KEY_UNKNOWN)
        return SSHKEY_NOT_RSA;
    return parse_pem(text, len, ki.encrypted, pass, out, why, whylen);
}

/* Load an RSA key. */
int sshkey_load_rsa(const char *text, size_t len, const char *pass,
                    EVP_PKEY **out, char *why, size_t whylen)
{
    return sshkey_parse_rsa(text, len, pass, SSHKEY_MAX_ROUNDS, out, why,
                            whylen);
}
