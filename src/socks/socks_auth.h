/*
 * socks_auth.h - the SOCKS5 username/password list (RFC 1929).
 *
 * Loaded from the file named by SocksAuthFile: one "user:password" per
 * line, '#' comments.  The file must not be readable by group or others,
 * as ssh insists for private keys.  Checks compare in constant time and
 * always walk the whole list, so timing tells nothing about which users
 * exist.
 */
#ifndef SSHTUN_SOCKS_AUTH_H
#define SSHTUN_SOCKS_AUTH_H

#include "sshtun.h"

#define SOCKS_CRED_LEN 256

struct socks_cred {
    char user[SOCKS_CRED_LEN];
    char pass[SOCKS_CRED_LEN];
};

struct socks_creds {
    int n;
    struct socks_cred *v;
};

/* Parse the file's text (pure).  Returns 0 or SSHTUN_ERR_INVAL naming
 * path:line. */
int socks_auth_parse(struct socks_creds *c, const char *text,
                     const char *path, sshtun_error *err);

/* Read path, refusing a file others can read.  Returns 0 or an error. */
int socks_auth_load(struct socks_creds *c, const char *path,
                    sshtun_error *err);

/* 1 if user/pass is in the list. */
int socks_auth_check(const struct socks_creds *c, const char *user,
                     const char *pass);

/* Wipe and free. */
void socks_auth_free(struct socks_creds *c);

#endif
