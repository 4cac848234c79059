/*
 * fwdspec.c - forward specification parser (see fwdspec.h).
 *
 * The spec is split on ':' outside brackets, so "[::1]:8080:[fe80::1]:80"
 * has four fields; bracket-less IPv6 is ambiguous and rejected, as ssh
 * does.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "config/fwdspec.h"

#define MAX_FIELDS 4

/* Parse a decimal port 0..65535. */
int fwdspec_port(const char *s)
{
    long v = 0;

    if (!s || !*s || strlen(s) > 5)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= 65535 ? (int)v : -1;
}

/* Why split_fields failed. */
enum { SPLIT_TOO_MANY = -1, SPLIT_BRACKET = -2, SPLIT_TOO_LONG = -3 };

/* Split spec on ':' outside brackets into at most MAX_FIELDS fields,
 * copying each (without brackets) into fields[].  Returns the count, or
 * SPLIT_* on too many fields, bad brackets or an overlong field. */
static int split_fields(const char *spec, char fields[MAX_FIELDS][FWD_HOST_MAX])
{
    int n = 0;
    const char *p = spec;

    for (;;) {
        size_t len = 0;
        const char *start = p;

        if (n == MAX_FIELDS)
            return SPLIT_TOO_MANY;
        if (*p == '[') {
            const char *close = strchr(p, ']');
            if (!close)
                return SPLIT_BRACKET;
            start = p + 1;
            len = (size_t)(close - start);
            p = close + 1;
            if (*p != ':' && *p != '\0')
                return SPLIT_BRACKET;
        } else {
            while (p[len] && p[len] != ':' && p[len] != '[' && p[len] != ']')
                len++;
            if (p[len] == '[' || p[len] == ']')
                return SPLIT_BRACKET;
            p += len;
        }
        if (len >= FWD_HOST_MAX)
            return SPLIT_TOO_LONG;
        memcpy(fields[n], start, len);
        fields[n][len] = '\0';
        n++;
        if (*p == '\0')
            return n;
        p++;                        /* skip ':' */
    }
}

/* Split a -L spec into *n fields, with a message for each way the split
 * fails. */
static int local_fields(const char *spec, char f[MAX_FIELDS][FWD_HOST_MAX],
                        int *n, sshtun_error *err)
{
    if (!spec || !*spec)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification: empty");
    *n = split_fields(spec, f);
    if (*n == SPLIT_BRACKET)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification '%s': unmatched "
                         "'[' or ']'", spec);
    if (*n == SPLIT_TOO_LONG)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification: an address "
                         "is longer than %d characters", FWD_HOST_MAX - 1);
    if (*n == SPLIT_TOO_MANY)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification '%s': too many "
                         "fields (IPv6 addresses must be in brackets)", spec);
    return 0;
}

/* The listen side of a spec with a socket path on either side: a local
 * socket path, or [bind:]port before a target path.  *next is the index
 * of the target's first field, 0 if neither side is a path. */
static int local_socket_listen(const char *spec,
                               char f[MAX_FIELDS][FWD_HOST_MAX], int n,
                               struct fwdspec *out, int *next,
                               sshtun_error *err)
{
    int i = 0;

    if (n >= 1 && f[0][0] == '/') {
        /* A local Unix socket to listen on. */
        if (strlen(f[0]) >= FWD_PATH_MAX)
            return error_set(err, SSHTUN_ERR_INVAL, "Bad local forwarding "
                             "specification: socket path longer than %d",
                             FWD_PATH_MAX - 1);
        snprintf(out->listen_path, sizeof out->listen_path, "%.*s",
                 FWD_PATH_MAX - 1, f[0]);
        i = 1;
    } else if (n >= 2 && f[n - 1][0] == '/' && (n == 2 || n == 3)) {
        if (n == 3) {
            out->has_bind = 1;
            snprintf(out->bind, sizeof out->bind, "%.*s", FWD_HOST_MAX - 1,
                     f[i++]);
        }
        out->listen_port = fwdspec_port(f[i]);
        if (out->listen_port < 0)
            return error_set(err, SSHTUN_ERR_INVAL, "Bad local forwarding "
                             "specification '%s': bad port '%s'", spec, f[i]);
        i++;
    }
    *next = i;
    return 0;
}

/* The target after a socket-path listen side (fields i..n-1): a
 * server-side socket path or host:hostport. */
static int local_socket_target(const char *spec,
                               char f[MAX_FIELDS][FWD_HOST_MAX], int n, int i,
                               struct fwdspec *out, sshtun_error *err)
{
    if (n - i == 1 && f[i][0] == '/') {
        if (strlen(f[i]) >= FWD_PATH_MAX)
            return error_set(err, SSHTUN_ERR_INVAL, "Bad local forwarding "
                             "specification: socket path longer than %d",
                             FWD_PATH_MAX - 1);
        snprintf(out->target_path, sizeof out->target_path, "%.*s",
                 FWD_PATH_MAX - 1, f[i]);
        return 0;
    }
    if (n - i != 2 || !f[i][0])
        return error_set(err, SSHTUN_ERR_INVAL, "Bad local forwarding "
                         "specification '%s': expected host:hostport or "
                         "a socket path after the listen side", spec);
    snprintf(out->host, sizeof out->host, "%.*s", FWD_HOST_MAX - 1, f[i++]);
    out->port = fwdspec_port(f[i]);
    if (out->port <= 0)
        return error_set(err, SSHTUN_ERR_INVAL, "Bad local forwarding "
                         "specification '%s': bad port '%s'", spec, f[i]);
    return 0;
}

/* The TCP form: [bind:]port:host:hostport in n fields. */
static int local_tcp(const char *spec, char f[MAX_FIELDS][FWD_HOST_MAX],
                     int n, struct fwdspec *out, sshtun_error *err)
{
    int i = 0;

    if (n != 3 && n != 4)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification '%s': expected "
                         "[bind_address:]port:host:hostport", spec);
    if (n == 4) {
        out->has_bind = 1;
        snprintf(out->bind, sizeof out->bind, "%.*s", FWD_HOST_MAX - 1, f[i++]);
    }
    out->listen_port = fwdspec_port(f[i]);
    if (out->listen_port < 0)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification '%s': bad port "
                         "'%s'", spec, f[i]);
    i++;
    if (!f[i][0])
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification '%s': empty "
                         "host", spec);
    snprintf(out->host, sizeof out->host, "%.*s", FWD_HOST_MAX - 1, f[i++]);
    out->port = fwdspec_port(f[i]);
    if (out->port <= 0)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad local forwarding specification '%s': bad port "
                         "'%s'", spec, f[i]);
    return 0;
}

/* Parse "[bind:]port:host:hostport", or a form with a socket path on
 * either side. */
int fwdspec_parse_local(const char *spec, struct fwdspec *out,
                        sshtun_error *err)
{
    char f[MAX_FIELDS][FWD_HOST_MAX];
    int n = 0, i = 0, rc;

    memset(out, 0, sizeof *out);
    if ((rc = local_fields(spec, f, &n, err)) ||
        (rc = local_socket_listen(spec, f, n, out, &i, err)))
        return rc;
    if (out->listen_path[0] || i > 0)
        return local_socket_target(spec, f, n, i, out, err);
    return local_tcp(spec, f, n, out, err);
}

/* "[bind:]port host:hostport" -> "[bind:]port:host:hostport". */
int fwdspec_from_config(const char *value, char *buf, size_t size,
                        sshtun_error *err)
{
    const char *sp = value, *rest;
    size_t first;

    while (*sp && !isspace((unsigned char)*sp))
        sp++;
    first = (size_t)(sp - value);
    rest = sp;
    while (*rest && isspace((unsigned char)*rest))
        rest++;
    if (!first || !*rest || strpbrk(rest, " \t"))
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad forwarding specification '%s': expected "
                         "[bind_address:]port host:hostport", value);
    if ((size_t)snprintf(buf, size, "%.*s:%s", (int)first, value, rest)
        >= size)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad forwarding specification '%s': too long", value);
    return 0;
}

/* Parse a -D spec "[bind_address:]port". */
int fwdspec_parse_dynamic(const char *spec, struct fwdspec *out,
                          sshtun_error *err)
{
    char f[MAX_FIELDS][FWD_HOST_MAX];
    int n;

    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad dynamic forwarding specification: empty");
    n = split_fields(spec, f);
    if (n != 1 && n != 2)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad dynamic forwarding specification '%.300s': "
                         "expected [bind_address:]port", spec);
    if (n == 2) {
        out->has_bind = 1;
        snprintf(out->bind, sizeof out->bind, "%.*s", FWD_HOST_MAX - 1, f[0]);
    }
    out->listen_port = fwdspec_port(f[n - 1]);
    if (out->listen_port < 0)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad dynamic forwarding specification '%.300s': bad "
                         "port '%s'", spec, f[n - 1]);
    return 0;
}
