/*
 * socks_auth.c - SOCKS5 username/password list (see socks_auth.h).
 */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "socks/socks_auth.h"

#define CREDS_FILE_MAX (1024 * 1024)

/* Parse "user:password" lines. */
int socks_auth_parse(struct socks_creds *c, const char *text,
                     const char *path, sshtun_error *err)
{
    const char *line = text;
    int lineno = 0, cap = 0;

    c->n = 0;
    c->v = NULL;
    while (*line) {
        const char *end = strchr(line, '\n'), *colon;
        size_t len = end ? (size_t)(end - line) : strlen(line);
        lineno++;
        if (len && line[len - 1] == '\r')
            len--;
        if (len && line[0] != '#') {
            size_t ulen, plen;
            colon = memchr(line, ':', len);
            ulen = colon ? (size_t)(colon - line) : 0;
            plen = colon ? len - ulen - 1 : 0;
            if (!colon || ulen == 0 || ulen >= SOCKS_CRED_LEN
                || plen == 0 || plen >= SOCKS_CRED_LEN) {
                socks_auth_free(c);
                return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: expected "
                                 "user:password (each 1-255 bytes)", path,
                                 lineno);
            }
            if (c->n == cap) {
                struct socks_cred *nv = realloc(c->v, sizeof *nv
                                                * (size_t)(cap ? cap * 2 : 8));
                if (!nv) {
                    socks_auth_free(c);
                    return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
                }
                c->v = nv;
                cap = cap ? cap * 2 : 8;
            }
            memset(&c->v[c->n], 0, sizeof c->v[c->n]);
            memcpy(c->v[c->n].user, line, ulen);
            memcpy(c->v[c->n].pass, colon + 1, plen);
            c->n++;
        }
        if (!end)
            break;
        line = end + 1;
    }
    if (c->n == 0)
        return error_set(err, SSHTUN_ERR_INVAL, "%s: no user:password lines",
                         path);
    return 0;
}

/* Load the file after checking who can read it. */
int socks_auth_load(struct socks_creds *c, const char *path,
                    sshtun_error *err)
{
    struct stat st;
    FILE *fp = fopen(path, "r");
    char *text;
    size_t n;
    int rc;

    if (!fp)
        return error_set(err, SSHTUN_ERR_IO, "SocksAuthFile %s: %s", path,
                         strerror(errno));
    if (fstat(fileno(fp), &st) < 0 || (st.st_mode & 077)) {
        fclose(fp);
        return error_set(err, SSHTUN_ERR_INVAL, "SocksAuthFile %s is "
                         "accessible by group or others (mode %03o): "
                         "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
    }
    if (!(text = malloc(CREDS_FILE_MAX + 1))) {
        fclose(fp);
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    }
    n = fread(text, 1, CREDS_FILE_MAX, fp);
    if (n == CREDS_FILE_MAX && fgetc(fp) != EOF) {
        fclose(fp);
        free(text);
        return error_set(err, SSHTUN_ERR_INVAL, "SocksAuthFile %s is larger "
                         "than %d bytes", path, CREDS_FILE_MAX);
    }
    fclose(fp);
    text[n] = '\0';
    rc = socks_auth_parse(c, text, path, err);
    OPENSSL_cleanse(text, n);
    free(text);
    return rc;
}

/* Constant-time check over the whole list. */
int socks_auth_check(const struct socks_creds *c, const char *user,
                     const char *pass)
{
    char u[SOCKS_CRED_LEN] = { 0 }, p[SOCKS_CRED_LEN] = { 0 };
    int found = 0;

    if (strlen(user) >= SOCKS_CRED_LEN || strlen(pass) >= SOCKS_CRED_LEN)
        return 0;
    memcpy(u, user, strlen(user));
    memcpy(p, pass, strlen(pass));
    for (int i = 0; i < c->n; i++) {
        int same = CRYPTO_memcmp(u, c->v[i].user, sizeof u) == 0;
        same &= CRYPTO_memcmp(p, c->v[i].pass, sizeof p) == 0;
        found |= same;
    }
    OPENSSL_cleanse(p, sizeof p);
    return found;
}

/* Wipe and free the list. */
void socks_auth_free(struct socks_creds *c)
{
    if (c->v)
        OPENSSL_cleanse(c->v, sizeof *c->v * (size_t)c->n);
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
