/*
 * keyfile.c - private key classification (see keyfile.h).
 *
 * OpenSSH's own format ("openssh-key-v1") stores the cipher name and the
 * public key in clear before the encrypted part, so both the type and
 * whether a passphrase is needed can be read without decrypting.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/keyfile.h"

#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC "openssh-key-v1"

/* Name of a key type. */
const char *keyfile_type_name(enum key_type t)
{
    switch (t) {
    case KEY_ED25519: return "ED25519";
    case KEY_ECDSA: return "ECDSA";
    case KEY_RSA: return "RSA";
    case KEY_DSA: return "DSA";
    case KEY_SK: return "security key";
    default: return "unknown";
    }
}

/* Value of one base64 character, -1 for others. */
static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode base64, skipping whitespace, stopping at '='. */
long keyfile_base64_decode(const char *in, size_t len, unsigned char *out,
                           size_t outsize)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i], v;
        if (c == '=')
            break;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if ((v = b64val(c)) < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == outsize)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)n;
}

/* Read an SSH string at *pos; returns its start or NULL. */
static const unsigned char *read_string(const unsigned char *buf, size_t len,
                                        size_t *pos, uint32_t *slen)
{
    uint32_t l;

    if (len - *pos < 4)
        return NULL;
    l = (uint32_t)buf[*pos] << 24 | (uint32_t)buf[*pos + 1] << 16
        | (uint32_t)buf[*pos + 2] << 8 | buf[*pos + 3];
    *pos += 4;
    if (l > len - *pos)
        return NULL;
    *slen = l;
    *pos += l;
    return buf + *pos - l;
}

/* Map an SSH key type name to our enum. */
static enum key_type type_from_name(const unsigned char *s, uint32_t len)
{
    if (len == 11 && !memcmp(s, "ssh-ed25519", 11))
        return KEY_ED25519;
    if (len > 11 && !memcmp(s, "ecdsa-sha2-", 11))
        return KEY_ECDSA;
    if (len == 7 && !memcmp(s, "ssh-rsa", 7))
        return KEY_RSA;
    if (len == 7 && !memcmp(s, "ssh-dss", 7))
        return KEY_DSA;
    if (len > 3 && !memcmp(s, "sk-", 3))
        return KEY_SK;
    return KEY_UNKNOWN;
}

/* Classify an openssh-key-v1 body. */
static int classify_openssh(const char *body, size_t len,
                            struct key_info *out)
{
    unsigned char buf[4096];
    /* Only the clear header is needed: decode at most what fits in buf
     * (4 characters give 3 bytes), so that big keys classify too. */
    size_t maxin = sizeof buf / 3 * 4;
    long n = keyfile_base64_decode(body, len < maxin ? len : maxin, buf,
                                   sizeof buf);
    size_t pos = sizeof OPENSSH_MAGIC;
    const unsigned char *cipher, *kdf, *kdfopt, *pub, *ktype;
    uint32_t clen, klen, olen, plen, tlen, nkeys;

    if (n < (long)sizeof OPENSSH_MAGIC
        || memcmp(buf, OPENSSH_MAGIC, sizeof OPENSSH_MAGIC))
        return -1;
    if (!(cipher = read_string(buf, (size_t)n, &pos, &clen))
        || !(kdf = read_string(buf, (size_t)n, &pos, &klen))
        || !(kdfopt = read_string(buf, (size_t)n, &pos, &olen))
        || (size_t)n - pos < 4)
        return -1;
    (void)kdf;
    (void)kdfopt;
    nkeys = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16
            | (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
    pos += 4;
    if (nkeys < 1 || !(pub = read_string(buf, (size_t)n, &pos, &plen)))
        return -1;
    out->encrypted = !(clen == 4 && !memcmp(cipher, "none", 4));
    pos = 0;
    ktype = read_string(pub, plen, &pos, &tlen);
    out->type = ktype ? type_from_name(ktype, tlen) : KEY_UNKNOWN;
    if (ktype && tlen < sizeof out->alg) {
        memcpy(out->alg, ktype, tlen);
        out->alg[tlen] = '\0';
    }
    return 0;
}

/* Find needle in the first len bytes of hay. */
static const char *find(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle);

    for (size_t i = 0; nl <= len && i <= len - nl; i++)
        if (!memcmp(hay + i, needle, nl))
            return hay + i;
    return NULL;
}

/* The base64 body of an OpenSSH-format key. */
int keyfile_openssh_body(const char *text, size_t len, const char **body,
                         size_t *blen)
{
    const char *b, *e;

    if (!(b = find(text, len, OPENSSH_BEGIN)))
        return -1;
    b += strlen(OPENSSH_BEGIN);
    if (!(e = find(b, len - (size_t)(b - text), OPENSSH_END)))
        return -1;
    *body = b;
    *blen = (size_t)(e - b);
    return 0;
}

/* Classify a private key file's text. */
int keyfile_classify(const char *text, size_t len, struct key_info *out)
{
    static const struct { const char *hdr; enum key_type t; } pem[] = {
        { "-----BEGIN RSA PRIVATE KEY-----", KEY_RSA },
        { "-----BEGIN EC PRIVATE KEY-----", KEY_ECDSA },
        { "-----BEGIN DSA PRIVATE KEY-----", KEY_DSA },
        { "-----BEGIN PRIVATE KEY-----", KEY_UNKNOWN },
        { "-----BEGIN ENCRYPTED PRIVATE KEY-----", KEY_UNKNOWN },
    };
    const char *body;
    size_t blen;

    out->type = KEY_UNKNOWN;
    out->encrypted = 0;
    out->alg[0] = '\0';
    if (find(text, len, OPENSSH_BEGIN))
        return keyfile_openssh_body(text, len, &body, &blen) ? -1
               : classify_openssh(body, blen, out);
    for (size_t i = 0; i < sizeof pem / sizeof pem[0]; i++) {
        if (find(text, len, pem[i].hdr)) {
            out->type = pem[i].t;
            out->encrypted = find(text, len, "ENCRYPTED") != NULL;
            return 0;
        }
    }
    return -1;
}
