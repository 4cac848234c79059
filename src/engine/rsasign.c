/*
 * rsasign.c - RSA signatures under RFC 8332's names (see rsasign.h).
 */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "engine/rsasign.h"
#include "engine/sshbuf.h"

/* The digest of an RSA signature algorithm, or NULL. */
static const EVP_MD *alg_digest(const char *alg)
{
    if (!strcmp(alg, "rsa-sha2-512"))
        return EVP_sha512();
    if (!strcmp(alg, "rsa-sha2-256"))
        return EVP_sha256();
    if (!strcmp(alg, "ssh-rsa"))
        return EVP_sha1();
    return NULL;
}

/* Whether alg is an RSA signature algorithm. */
int rsasign_is_rsa_alg(const char *alg)
{
    return alg_digest(alg) != NULL;
}

/* Append one of the key's public numbers as an mpint. */
static int put_param(struct sshbuf_writer *w, EVP_PKEY *key,
                     const char *name)
{
    BIGNUM *bn = NULL;
    uint8_t mag[RSASIGN_BLOB_MAX];
    int n;

    if (!EVP_PKEY_get_bn_param(key, name, &bn))
        return -1;
    n = BN_num_bytes(bn);
    if (n > (int)sizeof mag || BN_bn2bin(bn, mag) != n) {
        BN_free(bn);
        return -1;
    }
    sshbuf_put_mpint(w, mag, (size_t)n);
    BN_free(bn);
    return 0;
}

/* The public key blob under alg. */
long rsasign_blob(EVP_PKEY *key, const char *alg, uint8_t *out, size_t size)
{
    struct sshbuf_writer w;

    sshbuf_writer_init(&w, out, size);
    sshbuf_put_cstring(&w, alg);
    if (put_param(&w, key, OSSL_PKEY_PARAM_RSA_E)
        || put_param(&w, key, OSSL_PKEY_PARAM_RSA_N) || w.overflow)
        return -1;
    return (long)w.len;
}

/* An agent's ssh-rsa blob under alg. */
long rsasign_rename_blob(const uint8_t *blob, size_t len, const char *alg,
                         uint8_t *out, size_t size)
{
    struct sshbuf_reader r;
    struct sshbuf_writer w;
    const uint8_t *type;
    size_t tlen;

    sshbuf_reader_init(&r, blob, len);
    if (sshbuf_get_string(&r, &type, &tlen)
        || !sshbuf_string_is(type, tlen, "ssh-rsa"))
        return -1;
    sshbuf_writer_init(&w, out, size);
    sshbuf_put_cstring(&w, alg);
    if (w.overflow || sshbuf_left(&r) > size - w.len)
        return -1;
    memcpy(out + w.len, blob + r.pos, sshbuf_left(&r));
    return (long)(w.len + sshbuf_left(&r));
}

/* Sign data with alg. */
int rsasign_sign(EVP_PKEY *key, const char *alg, const uint8_t *data,
                 size_t len, uint8_t **sig, size_t *siglen)
{
    const EVP_MD *md = alg_digest(alg);
    EVP_MD_CTX *ctx;
    EVP_PKEY_CTX *pctx = NULL;
    size_t n = 0;
    int ok;

    *sig = NULL;
    if (!md || !(ctx = EVP_MD_CTX_new()))
        return -1;
    ok = EVP_DigestSignInit(ctx, &pctx, md, NULL, key) > 0
         && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0
         && EVP_DigestSign(ctx, NULL, &n, data, len) > 0
         && (*sig = malloc(n)) != NULL
         && EVP_DigestSign(ctx, *sig, &n, data, len) > 0;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        free(*sig);
        *sig = NULL;
        return -1;
    }
    *siglen = n;
    return 0;
}
