/*
 * algolist.c - ssh_config algorithm lists (see algolist.h).
 *
 * As OpenSSH assembles them: "+" and "^" join the names to the default
 * (without repeating one), "-" filters the default through the patterns,
 * and every other result is expanded against the known names, so a
 * pattern that matches nothing known is an error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/pattern.h"
#include "config/algolist.h"

const char algolist_pubkey_default[] =
    "ssh-ed25519-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "sk-ssh-ed25519-cert-v01@openssh.com,"
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "rsa-sha2-512-cert-v01@openssh.com,"
    "rsa-sha2-256-cert-v01@openssh.com,"
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
    "ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"
    "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";

const char algolist_pubkey_known[] =
    "ssh-ed25519-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "sk-ssh-ed25519-cert-v01@openssh.com,"
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "rsa-sha2-512-cert-v01@openssh.com,"
    "rsa-sha2-256-cert-v01@openssh.com,"
    "ssh-rsa-cert-v01@openssh.com,ssh-dss-cert-v01@openssh.com,"
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
    "ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"
    "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256,"
    "ssh-rsa,ssh-dss";

#define NAME_MAX_LEN 128

/* Copy the next comma-separated name of *list into name; 0 at the end. */
static int next_name(const char **list, char *name)
{
    const char *s = *list, *e;
    size_t n;

    if (!*s)
        return 0;
    e = strchr(s, ',');
    n = e ? (size_t)(e - s) : strlen(s);
    *list = e ? e + 1 : s + n;
    if (n >= NAME_MAX_LEN)
        n = NAME_MAX_LEN - 1;
    memcpy(name, s, n);
    name[n] = '\0';
    return 1;
}

/* The position of name in list, or -1. */
int algolist_index(const char *list, const char *name)
{
    char item[NAME_MAX_LEN];
    int i = 0;

    while (next_name(&list, item)) {
        if (!strcmp(item, name))
            return i;
        i++;
    }
    return -1;
}

/* Whether name is in list. */
int algolist_has(const char *list, const char *name)
{
    return algolist_index(list, name) >= 0;
}

/* Append name to out unless there already; 0 or -1 when out is full. */
static int add_name(char *out, size_t size, const char *name)
{
    size_t len = strlen(out);

    if (algolist_has(out, name))
        return 0;
    if (len + strlen(name) + 2 > size)
        return -1;
    snprintf(out + len, size - len, "%s%s", len ? "," : "", name);
    return 0;
}

/* Append every known name matching pattern; the count added or seen,
 * or -1 when out is full. */
static int add_matches(char *out, size_t size, const char *known,
                       const char *pattern)
{
    char name[NAME_MAX_LEN];
    int matched = 0;

    while (next_name(&known, name))
        if (pattern_match(pattern, name)) {
            if (add_name(out, size, name))
                return -1;
            matched++;
        }
    return matched;
}

/* Whether name matches one of the patterns in list. */
static int matches_any(const char *list, const char *name)
{
    char pat[NAME_MAX_LEN];

    while (next_name(&list, pat))
        if (pattern_match(pat, name))
            return 1;
    return 0;
}

/* Expand each pattern of list (in order) against known into out. */
static int expand(const char *kw, const char *list, const char *known,
                  char *out, size_t size, sshtun_error *err)
{
    char pat[NAME_MAX_LEN];
    int n;

    while (next_name(&list, pat)) {
        if (!*pat)
            return error_set(err, SSHTUN_ERR_INVAL, "%s: empty name in list",
                             kw);
        if ((n = add_matches(out, size, known, pat)) < 0)
            return error_set(err, SSHTUN_ERR_INVAL, "%s: list too long", kw);
        if (n == 0)
            return error_set(err, SSHTUN_ERR_INVAL, "%s: unknown algorithm "
                             "'%s'", kw, pat);
    }
    return 0;
}

/* The effective list. */
int algolist_assemble(const char *kw, const char *spec, const char *def,
                      const char *known, char *out, size_t size,
                      sshtun_error *err)
{
    char name[NAME_MAX_LEN];
    int rc;

    if (!size)
        return error_set(err, SSHTUN_ERR_INVAL, "%s: no room", kw);
    out[0] = '\0';
    if (!spec || !*spec)
        return expand(kw, def, known, out, size, err);
    if (spec[0] == '-') {
        while (next_name(&def, name))
            if (!matches_any(spec + 1, name) && add_name(out, size, name))
                return error_set(err, SSHTUN_ERR_INVAL, "%s: list too long",
                                 kw);
        return 0;
    }
    if (spec[0] == '+')
        return (rc = expand(kw, def, known, out, size, err))
               ? rc : expand(kw, spec + 1, known, out, size, err);
    if (spec[0] == '^')
        return (rc = expand(kw, spec + 1, known, out, size, err))
               ? rc : expand(kw, def, known, out, size, err);
    return expand(kw, spec, known, out, size, err);
}
