/*
 * knownhosts.c - host key verification (see knownhosts.h).
 *
 * Files are read line by line and each line judged by knownhosts_match.c
 * (patterns, negation, hashed names, markers), so a verdict can name its
 * file and line as ssh does.  One pass over the files collects what they
 * say about the host and its key; the decision then follows ssh: a
 * revoked key is refused whatever else is said, a pinned key is
 * accepted, a different key of the same type is a changed key, a host
 * covered only by @cert-authority cannot be verified here (libssh2 has
 * no certificates), and an unknown host is up to StrictHostKeyChecking.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/log.h"
#include "base/path.h"
#include "base/fdreserve.h"
#include "config/options.h"
#include "engine/knownhosts.h"
#include "engine/knownhosts_match.h"

#define MAX_FILES 8
#define NAME_LEN 1100
#define DEFAULT_USER_FILES "~/.ssh/known_hosts ~/.ssh/known_hosts2"
#define DEFAULT_GLOBAL_FILES "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
#define KRL_MAGIC "SSHKRL\n"

struct khfile {
    char path[PATH_MAX];
    int is_user;
};

struct khset {
    struct khfile f[MAX_FILES];
    int n;
};

/* Where a line was found: line 0 means nowhere. */
struct khwhere {
    const char *path;
    int line;
};

/* What the files say about one host name and (optionally) one key. */
struct khverdict {
    struct khwhere revoked;         /* the key, on a @revoked line */
    struct khwhere match;           /* the key, pinned for the host */
    struct khwhere mismatch;        /* another key of its type, pinned */
    struct khwhere ca;              /* a @cert-authority line for the host */
    unsigned types;                 /* key_types[] bits pinned for the host */
};

/* The key being judged: NULL blob when only types are wanted. */
struct khkey {
    const unsigned char *blob;
    size_t len;
    const char *alg;
};

/* One supported host key type, in preference order. */
static const struct {
    int hostkey_type;               /* LIBSSH2_HOSTKEY_TYPE_* */
    const char *alg;                /* algorithm / known_hosts name */
    const char *label;              /* as ssh names it in messages */
} key_types[] = {
    { LIBSSH2_HOSTKEY_TYPE_ED25519, "ssh-ed25519", "ED25519" },
    { LIBSSH2_HOSTKEY_TYPE_ECDSA_256, "ecdsa-sha2-nistp256", "ECDSA" },
    { LIBSSH2_HOSTKEY_TYPE_ECDSA_384, "ecdsa-sha2-nistp384", "ECDSA" },
    { LIBSSH2_HOSTKEY_TYPE_ECDSA_521, "ecdsa-sha2-nistp521", "ECDSA" },
    { LIBSSH2_HOSTKEY_TYPE_RSA, "ssh-rsa", "RSA" },
};
#define NKEY_TYPES (sizeof key_types / sizeof key_types[0])

/* The name known_hosts knows the host by, in lower case as ssh writes
 * it: HostKeyAlias, else host, or "[host]:port" off port 22. */
static void knownhosts_name(char *buf, size_t size, const sshtun_options *o,
                            const char *host, int port)
{
    if (o->host_key_alias)
        snprintf(buf, size, "%s", o->host_key_alias);
    else if (port == 22)
        snprintf(buf, size, "%s", host);
    else
        snprintf(buf, size, "[%s]:%d", host, port);
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* Remember the first place something was seen. */
static void note(struct khwhere *w, const char *path, int line)
{
    if (!w->line) {
        w->path = path;
        w->line = line;
    }
}

/* Judge one parsed entry for name and key. */
static void judge_entry(const struct kh_entry *e, const char *name,
                        const struct khkey *k, const char *path, int line,
                        struct khverdict *v)
{
    if (e->marker == KH_MARK_REVOKED) {
        /* A revoked key is refused for every host. */
        if (k->blob && knownhosts_match_key(e, k->blob, k->len))
            note(&v->revoked, path, line);
        return;
    }
    if (!knownhosts_match_host(e, name))
        return;
    if (e->marker == KH_MARK_CA) {
        note(&v->ca, path, line);
        return;
    }
    for (size_t i = 0; i < NKEY_TYPES; i++)
        if (knownhosts_match_type(e, key_types[i].alg))
            v->types |= 1u << i;
    if (k->blob && knownhosts_match_type(e, k->alg))
        note(knownhosts_match_key(e, k->blob, k->len) ? &v->match
                                                      : &v->mismatch,
             path, line);
}

/* Read one file's lines into the verdict (a missing file says nothing). */
static void scan_file(const char *path, const char *name,
                      const struct khkey *k, struct khverdict *v)
{
    FILE *fp = fdreserve_fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;

    if (!fp)
        return;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        struct kh_entry e;
        lineno++;
        if (knownhosts_match_parse(line, (size_t)len, &e) == 1)
            judge_entry(&e, name, k, path, lineno, v);
    }
    free(line);
    fclose(fp);
}

/* Add every file named in a space-separated list. */
static void add_files(struct khset *set, const char *list, int is_user)
{
    char *copy = strdup(list), *save = NULL, *tok;

    if (!copy)
        return;
    for (tok = strtok_r(copy, " \t", &save); tok && set->n < MAX_FILES;
         tok = strtok_r(NULL, " \t", &save)) {
        struct khfile *f;
        if (!strcasecmp(tok, "none"))
            continue;
        f = &set->f[set->n++];
        path_expand_tilde(f->path, sizeof f->path, tok);
        f->is_user = is_user;
    }
    free(copy);
}

/* The user's and the global files, and what they say. */
static void scan_set(const sshtun_options *o, struct khset *set,
                     const char *name, const struct khkey *k,
                     struct khverdict *v)
{
    memset(set, 0, sizeof *set);
    memset(v, 0, sizeof *v);
    add_files(set, o->user_known_hosts ? o->user_known_hosts
                                       : DEFAULT_USER_FILES, 1);
    add_files(set, o->global_known_hosts ? o->global_known_hosts
                                         : DEFAULT_GLOBAL_FILES, 0);
    for (int i = 0; i < set->n; i++)
        scan_file(set->f[i].path, name, k, v);
}

/* Preferred host key algorithms from what known_hosts holds. */
char *knownhosts_preferred_algs(LIBSSH2_SESSION *ssh,
                                const sshtun_options *o, const char *host,
                                int port)
{
    struct khset set;
    struct khverdict v;
    struct khkey none = { NULL, 0, NULL };
    char name[NAME_LEN], list[256] = "";

    (void)ssh;
    knownhosts_name(name, sizeof name, o, host, port);
    scan_set(o, &set, name, &none, &v);
    for (size_t i = 0; i < NKEY_TYPES; i++) {
        if (v.types & (1u << i)) {
            if (list[0])
                strcat(list, ",");
            strcat(list, key_types[i].alg);
        }
    }
    return list[0] ? strdup(list) : NULL;
}

/* Whether RevokedHostKeys lists the key: 0 no, 1 yes (*line set), or an
 * error (an unreadable file fails closed, as in ssh). */
static int revoked_file_lists(const char *file, const struct khkey *k,
                              int *line, sshtun_error *err)
{
    char path[PATH_MAX], *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *fp;
    int found = 0;

    path_expand_tilde(path, sizeof path, file);
    if (!(fp = fdreserve_fopen(path, "re")))
        return error_set(err, SSHTUN_ERR_IO, "RevokedHostKeys "
                         "%s: %s; host key verification failed", path,
                         strerror(errno));
    *line = 0;
    while (!found && (len = getline(&buf, &cap, fp)) >= 0) {
        struct kh_entry e;
        ++*line;
        if (*line == 1 && (size_t)len >= 7 && !memcmp(buf, KRL_MAGIC, 7)) {
            found = error_set(err, SSHTUN_ERR_UNSUPPORTED,
                              "RevokedHostKeys %s is a binary KRL, which "
                              "sshtun cannot read (list the revoked public "
                              "keys one per line); host key verification "
                              "failed", path);
            break;
        }
        if (knownhosts_match_parse_key(buf, (size_t)len, &e) == 1
            && knownhosts_match_key(&e, k->blob, k->len))
            found = 1;
    }
    free(buf);
    fclose(fp);
    return found;
}

/* "SHA256:..." fingerprint of the negotiated host key. */
static void fingerprint(LIBSSH2_SESSION *ssh, char *buf, size_t size)
{
    const unsigned char *h = (const unsigned char *)
        libssh2_hostkey_hash(ssh, LIBSSH2_HOSTKEY_HASH_SHA256);
    unsigned char b64[64];
    int n;

    if (!h) {
        snprintf(buf, size, "(unknown)");
        return;
    }
    n = EVP_EncodeBlock(b64, h, 32);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    snprintf(buf, size, "SHA256:%.*s", n, (const char *)b64);
}

/* The first user file, its directory created as ssh does; NULL or err. */
static const char *user_file(const struct khset *set, sshtun_error *err)
{
    char dir[PATH_MAX], *slash;
    const char *path = NULL;

    for (int i = 0; i < set->n && !path; i++)
        if (set->f[i].is_user)
            path = set->f[i].path;
    if (!path) {
        error_set(err, SSHTUN_ERR_HOSTKEY_UNKNOWN,
                  "no UserKnownHostsFile to add the host key to");
        return NULL;
    }
    snprintf(dir, sizeof dir, "%s", path);
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            error_set(err, SSHTUN_ERR_IO, "cannot create %s: %s", dir,
                      strerror(errno));
            return NULL;
        }
    }
    return path;
}

/* "|1|base64(salt)|base64(HMAC-SHA1(salt, name))", as ssh writes with
 * HashKnownHosts=yes; 0 or -1. */
static int hash_name(const char *name, char *out, size_t size)
{
    unsigned char salt[20], mac[20], salt64[32], mac64[32];
    unsigned int maclen = sizeof mac;

    if (RAND_bytes(salt, sizeof salt) != 1
        || !HMAC(EVP_sha1(), salt, sizeof salt, (const unsigned char *)name,
                 strlen(name), mac, &maclen))
        return -1;
    EVP_EncodeBlock(salt64, salt, sizeof salt);
    EVP_EncodeBlock(mac64, mac, sizeof mac);
    snprintf(out, size, "|1|%s|%s", salt64, mac64);
    return 0;
}

/* Append "name alg base64key" to the first user file.  A name that is
 * not a plain host name (a pattern, blanks, a line break, shell
 * characters) is never written: it would pin keys for other hosts. */
static int append_key(const sshtun_options *o, const struct khset *set,
                      const char *name, const struct khkey *k,
                      sshtun_error *err)
{
    const char *path;
    char hashed[128];
    unsigned char *b64;
    FILE *fp;
    int ok;

    if (!knownhosts_match_name_ok(name))
        return error_set(err, SSHTUN_ERR_HOSTKEY_UNKNOWN, "host name '%.100s' "
                         "is not a plain host name; its key is not added to "
                         "known_hosts", name);
    if (!(path = user_file(set, err)))
        return err->code;
    if (options_flag(o->hash_known_hosts)) {
        if (hash_name(name, hashed, sizeof hashed))
            return error_set(err, SSHTUN_ERR_IO, "cannot hash host name");
        name = hashed;
    }
    if (!(b64 = malloc(4 * ((k->len + 2) / 3) + 1)))
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    EVP_EncodeBlock(b64, k->blob, (int)k->len);
    fp = fdreserve_fopen(path, "ae");
    ok = fp && fprintf(fp, "%s %s %s\n", name, k->alg, b64) > 0;
    if (fp && fclose(fp) != 0)
        ok = 0;
    free(b64);
    if (!ok)
        return error_set(err, SSHTUN_ERR_IO, "cannot add host key to %s: %s",
                         path, strerror(errno));
    log_msg(o, SSHTUN_LOG_INFO, "Warning: Permanently added '%s' (%s) to "
            "the list of known hosts.", options_flag(o->hash_known_hosts)
                                        ? "(hashed)" : name, k->alg);
    return 0;
}

/* Refuse a revoked key (a @revoked line or RevokedHostKeys); 0 if not. */
static int check_revoked(const sshtun_options *o, const struct khverdict *v,
                         const struct khkey *k, const char *label,
                         const char *fp, sshtun_error *err)
{
    const char *path = v->revoked.path;
    int line = v->revoked.line, rc;

    if (!line && o->revoked_host_keys
        && strcasecmp(o->revoked_host_keys, "none")) {
        rc = revoked_file_lists(o->revoked_host_keys, k, &line, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            line = 0;
        path = o->revoked_host_keys;
    }
    if (!line)
        return 0;
    return error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED, "The %s host key %s "
                     "offered by the server is REVOKED (%s:%d). Host key "
                     "verification failed.", label, fp, path, line);
}

/* A pinned key of the same type differs: refuse, or with
 * StrictHostKeyChecking=no connect with forwarding disabled, as ssh. */
static int changed_key(const sshtun_options *o, const struct khverdict *v,
                       const char *name, const char *label, const char *fp,
                       int *insecure, sshtun_error *err)
{
    if (options_strict(o) == STRICT_NO) {
        log_msg(o, SSHTUN_LOG_ERROR, "WARNING: REMOTE HOST IDENTIFICATION "
                "HAS CHANGED! The %s host key for %s is now %s, not the key "
                "in %s:%d. StrictHostKeyChecking=no: connecting, but port "
                "forwarding is disabled to avoid man-in-the-middle attacks.",
                label, name, fp, v->mismatch.path, v->mismatch.line);
        *insecure = 1;
        return 0;
    }
    return error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED, "WARNING: REMOTE HOST "
                     "IDENTIFICATION HAS CHANGED! The %s host key for %s is "
                     "now %s, which differs from the key in %s:%d. Someone "
                     "could be eavesdropping on you, or the host key has just "
                     "been changed. Host key verification failed.", label,
                     name, fp, v->mismatch.path, v->mismatch.line);
}

/* A host nothing pins: refuse, or record its key (accept-new, no). */
static int unknown_host(const sshtun_options *o, const struct khset *set,
                        const char *name, const struct khkey *k,
                        const char *label, const char *fp, sshtun_error *err)
{
    int strict = options_strict(o), rc;

    if (strict == STRICT_YES || strict == STRICT_ASK)
        return error_set(err, SSHTUN_ERR_HOSTKEY_UNKNOWN, "No %s host key is "
                         "known for %s (%s %s) in %s and StrictHostKeyChecking "
                         "is %s. Host key verification failed. Add it with "
                         "ssh-keyscan, or connect with "
                         "-o StrictHostKeyChecking=accept-new.", label, name,
                         k->alg, fp, o->user_known_hosts ? o->user_known_hosts
                                                       : DEFAULT_USER_FILES,
                       strict == STRICT_YES ? "yes" : "ask (no prompt here)");
    rc = append_key(o, set, name, k, err);
    if (rc && strict == STRICT_NO) {
        log_msg(o, SSHTUN_LOG_ERROR, "%s", err->msg);
        rc = 0;
    }
    return rc;
}

/* Decide from the verdict, as ssh does. */
static int decide(const sshtun_options *o, const struct khset *set,
                  const struct khverdict *v, const char *name,
                  const struct khkey *k, const char *label, const char *fp,
                  int *insecure, sshtun_error *err)
{
    int rc;

    if ((rc = check_revoked(o, v, k, label, fp, err)))
        return rc;
    if (v->match.line) {
        log_msg(o, SSHTUN_LOG_DEBUG, "Host '%s' is known and matches the %s "
                "host key (%s:%d).", name, label, v->match.path,
                v->match.line);
        return 0;
    }
    if (v->mismatch.line)
        return changed_key(o, v, name, label, fp, insecure, err);
    if (v->ca.line)
        return error_set(err, SSHTUN_ERR_HOSTKEY_UNKNOWN, "%s is covered by the "
                         "@cert-authority line %s:%d, but sshtun cannot verify "
                         "host certificates (libssh2 has none), and no plain "
                         "%s key is pinned for it. Host key verification "
                         "failed. Pin the host's key with ssh-keyscan.", name,
                         v->ca.path, v->ca.line, label);
    return unknown_host(o, set, name, k, label, fp, err);
}

/* Verify the session's host key. */
int knownhosts_verify(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                      const char *host, int port, int *insecure,
                      sshtun_error *err)
{
    struct khset set;
    struct khverdict v;
    struct khkey k = { NULL, 0, NULL };
    char name[NAME_LEN], fp[128];
    const char *label = "unknown";
    size_t keylen = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(ssh, &keylen, &type);

    if (!key)
        return error_set(err, SSHTUN_ERR_HANDSHAKE,
                         "server sent no host key");
    for (size_t i = 0; i < NKEY_TYPES; i++)
        if (key_types[i].hostkey_type == type) {
            k.alg = key_types[i].alg;
            label = key_types[i].label;
        }
    if (!k.alg)
        return error_set(err, SSHTUN_ERR_HANDSHAKE,
                         "server host key type %d is not supported", type);
    k.blob = (const unsigned char *)key;
    k.len = keylen;
    knownhosts_name(name, sizeof name, o, host, port);
    fingerprint(ssh, fp, sizeof fp);
    scan_set(o, &set, name, &k, &v);
    return decide(o, &set, &v, name, &k, label, fp, insecure, err);
}
