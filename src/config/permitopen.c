/*
 * permitopen.c - PermitRemoteOpen entries (see permitopen.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "config/fwdspec.h"
#include "config/permitopen.h"

/* One "host:port" or "[v6]:port" entry into slot i; 0 or -1. */
static int parse_entry(const char *tok, struct permitopen *p, int i)
{
    const char *host = tok, *colon;
    size_t hlen;
    long port = 0;

    if (*tok == '[') {
        const char *close = strchr(tok, ']');
        if (!close || close[1] != ':')
            return -1;
        host = tok + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(tok, ':');
        if (!colon || strchr(tok, ':') != colon)
            return -1;
        hlen = (size_t)(colon - tok);
    }
    if (hlen == 0 || hlen >= PERMITOPEN_HOST_MAX)
        return -1;
    if (strcmp(colon + 1, "*") && (port = fwdspec_port(colon + 1)) <= 0)
        return -1;
    memcpy(p->v[i].host, host, hlen);
    p->v[i].host[hlen] = '\0';
    p->v[i].port = (int)port;
    return 0;
}

/* Parse the words of a value into p (any == 0 on entry). */
static int parse_words(struct permitopen *p, const char *value,
                       sshtun_error *err)
{
    char buf[2048], *save = NULL, *tok;
    int words = 0;

    if (strlen(value) >= sizeof buf)
        return error_set(err, SSHTUN_ERR_INVAL, "PermitRemoteOpen: too long");
    strcpy(buf, value);
    for (tok = strtok_r(buf, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save), words++) {
        if (!strcasecmp(tok, "any") || !strcasecmp(tok, "none")) {
            if (words || strtok_r(NULL, " \t", &save))
                return error_set(err, SSHTUN_ERR_INVAL, "PermitRemoteOpen: "
                                 "'%s' must be the only value", tok);
            p->any = !strcasecmp(tok, "any");
            return 0;
        }
        if (p->n == PERMITOPEN_MAX)
            return error_set(err, SSHTUN_ERR_INVAL, "PermitRemoteOpen: more "
                             "than %d entries", PERMITOPEN_MAX);
        if (parse_entry(tok, p, p->n))
            return error_set(err, SSHTUN_ERR_INVAL, "PermitRemoteOpen: bad "
                             "entry '%.300s' (want host:port, [ipv6]:port, "
                             "any or none; host or port may be *)", tok);
        p->n++;
    }
    if (!words)
        return error_set(err, SSHTUN_ERR_INVAL, "PermitRemoteOpen: empty");
    return 0;
}

/* Whether host:port may be opened. */
int permitopen_match(const struct permitopen *p, const char *host, int port)
{
    if (p->any)
        return 1;
    for (int i = 0; i < p->n; i++)
        if ((p->v[i].port == 0 || p->v[i].port == port)
            && (!strcmp(p->v[i].host, "*")
                || !strcasecmp(p->v[i].host, host)))
            return 1;
    return 0;
}

/* Parse a PermitRemoteOpen value; a refused one allows nothing. */
int permitopen_parse(struct permitopen *p, const char *value,
                     sshtun_error *err)
{
    int rc;

    memset(p, 0, sizeof *p);
    p->any = 1;
    if (!value)
        return 0;
    p->any = 0;
    if ((rc = parse_words(p, value, err))) {
        p->any = 0;
        p->n = 0;
    }
    return rc;
}
