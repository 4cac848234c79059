/*
 * knownhosts_match.c - known_hosts lines parsed and matched (see
 * knownhosts_match.h).
 */
#include "config.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "base/pattern.h"
#include "engine/knownhosts_match.h"

#define HASH_MAGIC "|1|"
#define NAME_MAX_LEN 1024

/* Skip blanks. */
static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* One blank-separated field from *p: its start and length. */
static size_t next_field(const char **p, const char *end, const char **start)
{
    const char *q;

    *p = skip_blanks(*p, end);
    *start = *p;
    for (q = *p; q < end && *q != ' ' && *q != '\t'; q++)
        ;
    *p = q;
    return (size_t)(q - *start);
}

/* Length without the trailing newline (and carriage return). */
static size_t trim_eol(const char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    return len;
}

/* Whether s[0..n) is base64 text (with its padding), a multiple of 4. */
static int is_base64(const char *s, size_t n)
{
    size_t pad = 0;

    if (n == 0 || n % 4)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad || !(isalnum(c) || c == '+' || c == '/'))
            return 0;
    }
    return pad <= 2;
}

/* Decode base64 into out (cap bytes); the length, or -1. */
static int b64_decode(const char *in, size_t n, unsigned char *out,
                      size_t cap)
{
    int len;

    if (!is_base64(in, n) || n / 4 * 3 > cap)
        return -1;
    len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    return len - (in[n - 1] == '=') - (in[n - 2] == '=');
}

/* The key type and key fields from p on. */
static int parse_key_fields(const char *p, const char *end,
                            struct kh_entry *e)
{
    e->type_len = next_field(&p, end, &e->type);
    e->key64_len = next_field(&p, end, &e->key64);
    if (!e->type_len || !e->key64_len
        || !is_base64(e->key64, e->key64_len))
        return -1;                  /* also the RSA1 "bits e n" form */
    return 1;
}

/* Parse a known_hosts line. */
int knownhosts_match_parse(const char *line, size_t len, struct kh_entry *e)
{
    const char *end = line + trim_eol(line, len), *p, *w;
    size_t n;

    memset(e, 0, sizeof *e);
    p = skip_blanks(line, end);
    if (p == end || *p == '#')
        return 0;
    if (*p == '@') {
        n = next_field(&p, end, &w);
        if (n == 8 && !memcmp(w, "@revoked", 8))
            e->marker = KH_MARK_REVOKED;
        else if (n == 15 && !memcmp(w, "@cert-authority", 15))
            e->marker = KH_MARK_CA;
        else
            return -1;
    }
    e->hosts_len = next_field(&p, end, &e->hosts);
    if (!e->hosts_len || e->hosts_len > NAME_MAX_LEN)
        return -1;
    return parse_key_fields(p, end, e);
}

/* Parse a bare public key line. */
int knownhosts_match_parse_key(const char *line, size_t len,
                               struct kh_entry *e)
{
    const char *end = line + trim_eol(line, len), *p;

    memset(e, 0, sizeof *e);
    p = skip_blanks(line, end);
    if (p == end || *p == '#')
        return 0;
    return parse_key_fields(p, end, e);
}

/* Whether "|1|salt|hmac" is HMAC-SHA1(salt, name). */
static int hashed_match(const char *h, size_t n, const char *name)
{
    const char *salt64 = h + 3, *bar;
    unsigned char salt[64], want[64], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    int saltlen, wantlen;

    bar = memchr(salt64, '|', n - 3);
    if (!bar)
        return 0;
    saltlen = b64_decode(salt64, (size_t)(bar - salt64), salt, sizeof salt);
    wantlen = b64_decode(bar + 1, (size_t)(h + n - bar - 1), want,
                         sizeof want);
    if (saltlen <= 0 || wantlen != 20
        || !HMAC(EVP_sha1(), salt, saltlen, (const unsigned char *)name,
                 strlen(name), mac, &maclen))
        return 0;
    return maclen == 20 && !memcmp(mac, want, 20);
}

/* Whether the entry's hosts cover name. */
int knownhosts_match_host(const struct kh_entry *e, const char *name)
{
    char pat[NAME_MAX_LEN + 1];
    const char *p, *end;
    int positive = 0;

    if (!e->hosts || e->hosts_len > NAME_MAX_LEN)
        return 0;
    if (e->hosts_len > 3 && !memcmp(e->hosts, HASH_MAGIC, 3))
        return hashed_match(e->hosts, e->hosts_len, name);
    /* A NUL inside the field would cut a pattern short: no match. */
    for (p = e->hosts, end = p + e->hosts_len; p < end; p++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((comma ? comma : end) - p);
        int negated = n && *p == '!';
        memcpy(pat, p + negated, n - (size_t)negated);
        pat[n - (size_t)negated] = '\0';
        if (pat[0] && !memchr(p, '\0', n) && pattern_match(pat, name)) {
            if (negated)
                return 0;           /* explicitly excluded */
            positive = 1;
        }
        if (!comma)
            break;
        p = comma;
    }
    return positive;
}

/* Whether the entry's key is blob. */
int knownhosts_match_key(const struct kh_entry *e, const unsigned char *blob,
                         size_t len)
{
    unsigned char key[KH_KEY_MAX];
    int n = b64_decode(e->key64, e->key64_len, key, sizeof key);

    return n >= 0 && (size_t)n == len && !memcmp(key, blob, len);
}

/* Whether the entry's key type is alg. */
int knownhosts_match_type(const struct kh_entry *e, const char *alg)
{
    return e->type_len == strlen(alg) && !memcmp(e->type, alg, e->type_len);
}

/* Whether name can be written as a literal host field. */
int knownhosts_match_name_ok(const char *name)
{
    if (!*name || strchr("@|#", *name) || strlen(name) > NAME_MAX_LEN)
        return 0;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isspace(c) || iscntrl(c) || c >= 0x7f
            || strchr("*?!,'`\"$\\;&<>|(){}", c))
            return 0;
    }
    return 1;
}
