/*
 * knownhosts.c - host key verification (see knownhosts.h).
 *
 * libssh2's readfile gives up on the first line it cannot parse (a
 * @cert-authority marker, a key type it lacks), so files are read here
 * line by line and each file goes into its own collection: that way a
 * mismatch can name its file and line, as ssh does.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "engine/knownhosts.h"
#include "base/path.h"
#include "base/log.h"
#include "config/options.h"

#define MAX_FILES 8
#define DEFAULT_USER_FILES "~/.ssh/known_hosts ~/.ssh/known_hosts2"
#define DEFAULT_GLOBAL_FILES "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"

struct khfile {
    char path[PATH_MAX];
    int is_user;
    LIBSSH2_KNOWNHOSTS *kh;
    int n;                          /* entries loaded */
    int *lines;                     /* line number of each entry */
};

struct khset {
    struct khfile f[MAX_FILES];
    int n;
};

/* One supported host key type, in preference order. */
static const struct {
    int hostkey_type;               /* LIBSSH2_HOSTKEY_TYPE_* */
    int kh_mask;                    /* LIBSSH2_KNOWNHOST_KEY_* */
    const char *alg;                /* algorithm / known_hosts name */
    const char *label;              /* as ssh names it in messages */
} key_types[] = {
    { LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
      "ssh-ed25519", "ED25519" },
    { LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
      "ecdsa-sha2-nistp256", "ECDSA" },
    { LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
      "ecdsa-sha2-nistp384", "ECDSA" },
    { LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
      "ecdsa-sha2-nistp521", "ECDSA" },
    { LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA,
      "ssh-rsa", "RSA" },
};
#define NKEY_TYPES (sizeof key_types / sizeof key_types[0])

/* known_hosts name for host:port. */
static void knownhosts_name(char *buf, size_t size, const char *host,
                            int port)
{
    if (port == 22)
        snprintf(buf, size, "%s", host);
    else
        snprintf(buf, size, "[%s]:%d", host, port);
}

/* Read one file into its own collection, remembering line numbers. */
static void load_file(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                      struct khfile *f)
{
    FILE *fp = fopen(f->path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, alloc = 0;

    f->kh = libssh2_knownhost_init(ssh);
    if (!fp || !f->kh) {
        if (fp)
            fclose(fp);
        return;
    }
    while ((len = getline(&line, &cap, fp)) >= 0) {
        const char *p = line;
        lineno++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        if (*p == '@') {
            log_msg(o, SSHTUN_LOG_DEBUG, "%s:%d: marker lines are not "
                    "supported, skipped", f->path, lineno);
            continue;
        }
        if (libssh2_knownhost_readline(f->kh, p, (size_t)(len - (p - line)),
                                       LIBSSH2_KNOWNHOST_FILE_OPENSSH)) {
            log_msg(o, SSHTUN_LOG_DEBUG2, "%s:%d: unsupported entry skipped",
                    f->path, lineno);
            continue;
        }
        if (f->n == alloc) {
            int *nl = realloc(f->lines, sizeof *nl * (size_t)(alloc ? alloc * 2 : 16));
            if (!nl)
                break;
            f->lines = nl;
            alloc = alloc ? alloc * 2 : 16;
        }
        f->lines[f->n++] = lineno;
    }
    free(line);
    fclose(fp);
}

/* Add every file named in a space-separated list. */
static void add_files(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                      struct khset *set, const char *list, int is_user)
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
        memset(f, 0, sizeof *f);
        path_expand_tilde(f->path, sizeof f->path, tok);
        f->is_user = is_user;
        load_file(ssh, o, f);
    }
    free(copy);
}

/* Load the user's and the global files. */
static void load_set(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                     struct khset *set)
{
    set->n = 0;
    add_files(ssh, o, set, o->user_known_hosts ? o->user_known_hosts
                                               : DEFAULT_USER_FILES, 1);
    add_files(ssh, o, set, o->global_known_hosts ? o->global_known_hosts
                                                 : DEFAULT_GLOBAL_FILES, 0);
}

/* Free all collections. */
static void free_set(struct khset *set)
{
    for (int i = 0; i < set->n; i++) {
        if (set->f[i].kh)
            libssh2_knownhost_free(set->f[i].kh);
        free(set->f[i].lines);
    }
    set->n = 0;
}

/* Check name/key against one file; *line gets the entry's line. */
static int check_file(struct khfile *f, const char *name, const char *key,
                      size_t keylen, int mask, int *line)
{
    struct libssh2_knownhost *ext = NULL, *it = NULL;
    int rc, idx = 0;

    if (!f->kh)
        return LIBSSH2_KNOWNHOST_CHECK_NOTFOUND;
    rc = libssh2_knownhost_checkp(f->kh, name, -1, key, keylen,
                                  LIBSSH2_KNOWNHOST_TYPE_PLAIN
                                  | LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
                                  &ext);
    *line = 0;
    if (ext) {
        while (libssh2_knownhost_get(f->kh, &it, it) == 0) {
            if (it == ext) {
                *line = idx < f->n ? f->lines[idx] : 0;
                break;
            }
            idx++;
        }
    }
    return rc;
}

/* Whether any file holds a key of this type for name. */
static int type_known(struct khset *set, const char *name, int mask)
{
    static const char dummy[] = "sshtun-probe";
    int line;

    for (int i = 0; i < set->n; i++) {
        int rc = check_file(&set->f[i], name, dummy, sizeof dummy, mask,
                            &line);
        if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH
            || rc == LIBSSH2_KNOWNHOST_CHECK_MATCH)
            return 1;
    }
    return 0;
}

/* Preferred host key algorithms from what known_hosts holds. */
char *knownhosts_preferred_algs(LIBSSH2_SESSION *ssh,
                                const sshtun_options *o, const char *host,
                                int port)
{
    struct khset set;
    char name[300], list[256] = "";

    knownhosts_name(name, sizeof name, host, port);
    load_set(ssh, o, &set);
    for (size_t i = 0; i < NKEY_TYPES; i++) {
        if (type_known(&set, name, key_types[i].kh_mask)) {
            if (list[0])
                strcat(list, ",");
            strcat(list, key_types[i].alg);
        }
    }
    free_set(&set);
    return list[0] ? strdup(list) : NULL;
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

/* Append "name alg base64key" to the first user file. */
static int append_key(const sshtun_options *o, struct khset *set,
                      const char *name, const char *alg, const char *key,
                      size_t keylen, sshtun_error *err)
{
    const char *path = NULL;
    char hashed[128];
    unsigned char *b64;
    FILE *fp;
    int ok;

    for (int i = 0; i < set->n; i++)
        if (set->f[i].is_user) {
            path = set->f[i].path;
            break;
        }
    if (!path)
        return error_set(err, SSHTUN_ERR_HOSTKEY_UNKNOWN,
                         "no UserKnownHostsFile to add the host key to");
    {
        /* Create ~/.ssh like ssh does when it is missing. */
        char dir[PATH_MAX], *slash;
        snprintf(dir, sizeof dir, "%s", path);
        if ((slash = strrchr(dir, '/')) && slash != dir) {
            *slash = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return error_set(err, SSHTUN_ERR_IO, "cannot create %s: %s",
                                 dir, strerror(errno));
        }
    }
    b64 = malloc(4 * ((keylen + 2) / 3) + 1);
    if (!b64)
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    EVP_EncodeBlock(b64, (const unsigned char *)key, (int)keylen);
    if (options_flag(o->hash_known_hosts)) {
        /* "|1|base64(salt)|base64(HMAC-SHA1(salt, name))", as ssh writes
         * with HashKnownHosts=yes. */
        unsigned char salt[20], mac[20], salt64[32], mac64[32];
        unsigned int maclen = sizeof mac;
        if (RAND_bytes(salt, sizeof salt) != 1
            || !HMAC(EVP_sha1(), salt, sizeof salt,
                     (const unsigned char *)name, strlen(name), mac,
                     &maclen)) {
            free(b64);
            return error_set(err, SSHTUN_ERR_IO, "cannot hash host name");
        }
        EVP_EncodeBlock(salt64, salt, sizeof salt);
        EVP_EncodeBlock(mac64, mac, sizeof mac);
        snprintf(hashed, sizeof hashed, "|1|%s|%s", salt64, mac64);
        name = hashed;
    }
    fp = fopen(path, "a");
    ok = fp && fprintf(fp, "%s %s %s\n", name, alg, b64) > 0;
    if (fp && fclose(fp) != 0)
        ok = 0;
    free(b64);
    if (!ok)
        return error_set(err, SSHTUN_ERR_IO, "cannot add host key to %s: %s",
                         path, strerror(errno));
    log_msg(o, SSHTUN_LOG_INFO, "Warning: Permanently added '%s' (%s) to "
            "the list of known hosts.", options_flag(o->hash_known_hosts)
                                        ? "(hashed)" : name, alg);
    return 0;
}

/* Verify the session's host key. */
int knownhosts_verify(LIBSSH2_SESSION *ssh, const sshtun_options *o,
                      const char *host, int port, int *insecure,
                      sshtun_error *err)
{
    struct khset set;
    char name[300], fp[128];
    size_t keylen = 0;
    int type = 0, mask = 0, rc = 0, strict = options_strict(o);
    const char *key = libssh2_session_hostkey(ssh, &keylen, &type);
    const char *alg = NULL, *label = "unknown";

    if (!key)
        return error_set(err, SSHTUN_ERR_HANDSHAKE,
                         "server sent no host key");
    for (size_t i = 0; i < NKEY_TYPES; i++)
        if (key_types[i].hostkey_type == type) {
            mask = key_types[i].kh_mask;
            alg = key_types[i].alg;
            label = key_types[i].label;
        }
    if (!alg)
        return error_set(err, SSHTUN_ERR_HANDSHAKE,
                         "server host key type %d is not supported", type);
    knownhosts_name(name, sizeof name, host, port);
    fingerprint(ssh, fp, sizeof fp);
    load_set(ssh, o, &set);

    /* Any file with this exact key accepts it. */
    for (int i = 0; i < set.n; i++) {
        int line;
        if (check_file(&set.f[i], name, key, keylen, mask, &line)
            == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
            log_msg(o, SSHTUN_LOG_DEBUG, "Host '%s' is known and matches "
                    "the %s host key (%s:%d).", name, label, set.f[i].path,
                    line);
            free_set(&set);
            return 0;
        }
    }
    for (int i = 0; i < set.n; i++) {
        int line;
        if (check_file(&set.f[i], name, key, keylen, mask, &line)
            == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
            if (strict == STRICT_NO) {
                /* As ssh: connect, but let nothing through. */
                log_msg(o, SSHTUN_LOG_ERROR, "WARNING: REMOTE HOST "
                        "IDENTIFICATION HAS CHANGED! The %s host key for %s "
                        "is now %s, not the key in %s:%d. "
                        "StrictHostKeyChecking=no: connecting, but port "
                        "forwarding is disabled to avoid "
                        "man-in-the-middle attacks.", label, name, fp,
                        set.f[i].path, line);
                *insecure = 1;
                free_set(&set);
                return 0;
            }
            rc = error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED,
                           "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! "
                           "The %s host key for %s is now %s, which differs "
                           "from the key in %s:%d. Someone could be "
                           "eavesdropping on you, or the host key has just "
                           "been changed. Host key verification failed.",
                           label, name, fp, set.f[i].path, line);
            free_set(&set);
            return rc;
        }
    }
    if (strict == STRICT_YES || strict == STRICT_ASK) {
        const char *files = o->user_known_hosts ? o->user_known_hosts
                                                : DEFAULT_USER_FILES;
        rc = error_set(err, SSHTUN_ERR_HOSTKEY_UNKNOWN,
                       "No %s host key is known for %s (%s %s) in %s and "
                       "StrictHostKeyChecking is %s. Host key verification "
                       "failed. Add it with ssh-keyscan, or connect with "
                       "-o StrictHostKeyChecking=accept-new.",
                       label, name, alg, fp, files,
                       strict == STRICT_YES ? "yes" : "ask (no prompt here)");
    } else {
        rc = append_key(o, &set, name, alg, key, keylen, err);
        if (rc && strict == STRICT_NO) {
            log_msg(o, SSHTUN_LOG_ERROR, "%s", err->msg);
            rc = 0;
        }
    }
    free_set(&set);
    return rc;
}
