/*
 * sshconfig.c - ssh_config parsing (see sshconfig.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/error.h"
#include "base/pattern.h"
#include "base/path.h"
#include "base/log.h"
#include "config/options.h"
#include "config/sshconfig.h"

#define CONFIG_LINE_MAX 2048
#define CONFIG_ARGS_MAX 64
#define INCLUDE_DEPTH_MAX 16



/* Keywords that take a list of values on one line (joined with spaces). */
static const char *const multi_value_keywords[] = {
    "UserKnownHostsFile", "GlobalKnownHostsFile", "LocalForward",
    "RemoteForward", "ProxyCommand", "LocalCommand", "RemoteCommand",
    "SendEnv", "SetEnv", "PermitRemoteOpen",
};

/* Whether kw is in a list, case-insensitively. */
static int sshconfig_in_list(const char *kw, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(kw, list[i]))
            return 1;
    return 0;
}

/* Host line semantics: some positive pattern matches, no negated one. */
int sshconfig_host_matches(const char *patterns, const char *host)
{
    char buf[CONFIG_LINE_MAX], *save = NULL, *tok;
    int matched = 0;

    snprintf(buf, sizeof buf, "%s", patterns);
    for (tok = strtok_r(buf, " \t,", &save); tok;
         tok = strtok_r(NULL, " \t,", &save)) {
        if (tok[0] == '!') {
            if (pattern_match(tok + 1, host))
                return 0;
        } else if (pattern_match(tok, host)) {
            matched = 1;
        }
    }
    return matched;
}

/* Split a line into words, honouring double quotes; "Key=value" splits
 * at the first '='.  Returns the word count, or -1 on a bad quote. */
static int sshconfig_split_line(char *line, char **argv, int max)
{
    int n = 0;
    char *p = line;

    while (*p && n < max) {
        while (*p == ' ' || *p == '\t' || (n == 1 && *p == '='))
            p++;
        if (!*p || *p == '#')
            break;
        if (*p == '"') {
            char *end = strchr(p + 1, '"');
            if (!end)
                return -1;
            *end = '\0';
            argv[n++] = p + 1;
            p = end + 1;
            continue;
        }
        argv[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && !(n == 1 && *p == '='))
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

/* Expand %h (host as given), %d (local home), %u (local user) and %% in
 * a HostName/IdentityFile value. */
static void sshconfig_expand_tokens(const char *in, const char *host, char *out,
                                    size_t size)
{
    size_t o = 0;

    for (; *in && o + 1 < size; in++) {
        const char *add = NULL;
        char buf[512];

        if (in[0] == '%' && in[1]) {
            switch (in[1]) {
            case 'h': add = host; break;
            case 'd':
                path_expand_tilde(buf, sizeof buf, "~/");
                buf[strlen(buf) - 1] = '\0';   /* no trailing slash */
                add = buf;
                break;
            case 'u': {
                struct passwd *pw = getpwuid(getuid());
                add = getenv("USER") ? getenv("USER")
                                     : pw ? pw->pw_name : "";
                break;
            }
            case '%': add = "%"; break;
            default: break;
            }
        }
        if (add) {
            size_t n = strlen(add);
            if (o + n >= size)
                break;
            memcpy(out + o, add, n);
            o += n;
            in++;
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

/* Apply one keyword line. */
static int sshconfig_apply_keyword(struct sshconfig_ctx *ctx, int argc,
                                   char **argv, const char *path, int lineno,
                                   int depth, sshtun_error *err)
{
    char value[CONFIG_LINE_MAX];
    sshtun_error e;
    const char *kw = argv[0];

    if (!strcasecmp(kw, "Include")) {
        for (int i = 1; i < argc; i++)
            if (ctx->include && ctx->include(ctx, argv[i], depth + 1, err))
                return err ? err->code : SSHTUN_ERR_INVAL;
        return 0;
    }
    if (options_keyword_ignored(kw))
        return 0;                   /* any arguments, as ssh reads them */
    if (argc < 2)
        return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: %s: missing value",
                         path, lineno, kw);
    if (sshconfig_in_list(kw, multi_value_keywords, sizeof multi_value_keywords
                                              / sizeof multi_value_keywords[0])) {
        size_t o = 0;
        value[0] = '\0';
        for (int i = 1; i < argc && o + 1 < sizeof value; i++)
            o += (size_t)snprintf(value + o, sizeof value - o, "%s%s",
                                  i > 1 ? " " : "", argv[i]);
    } else if (argc > 2) {
        return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: %s: too many "
                         "arguments", path, lineno, kw);
    } else if (!strcasecmp(kw, "HostName") || !strcasecmp(kw, "IdentityFile")) {
        sshconfig_expand_tokens(argv[1], ctx->host, value, sizeof value);
    } else {
        snprintf(value, sizeof value, "%s", argv[1]);
    }
    if (sshtun_options_set(ctx->opts, kw, value, &e))
        return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: %s", path, lineno,
                         e.msg);
    return 0;
}

/* Apply a whole file. */
int sshconfig_apply(struct sshconfig_ctx *ctx, const char *text,
                    const char *path, int depth, sshtun_error *err)
{
    int active = 1, lineno = 0;
    const char *p = text;

    if (depth > INCLUDE_DEPTH_MAX)
        return error_set(err, SSHTUN_ERR_INVAL, "%s: Include nested too "
                         "deeply", path);
    while (*p) {
        char line[CONFIG_LINE_MAX], *argv[CONFIG_ARGS_MAX];
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int argc, rc;

        lineno++;
        if (len >= sizeof line)
            return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: line too long",
                             path, lineno);
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        p = end ? end + 1 : p + len;
        {
            /* ProxyCommand takes the rest of the line exactly as written
             * (quotes, blanks and '#' belong to the command). */
            char *q = line + strspn(line, " \t");
            if (!strncasecmp(q, "ProxyCommand", 12)
                && strchr(" \t=", q[12]) && q[12]) {
                q += 12;
                q += strspn(q, " \t");
                if (*q == '=')
                    q++;
                q += strspn(q, " \t");
                if (active && *q) {
                    char cmd[CONFIG_LINE_MAX];
                    sshtun_error e;
                    snprintf(cmd, sizeof cmd, "%s", q);
                    if (sshtun_options_set(ctx->opts, "ProxyCommand", cmd,
                                           &e))
                        return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: %s",
                                         path, lineno, e.msg);
                }
                continue;
            }
        }
        argc = sshconfig_split_line(line, argv, CONFIG_ARGS_MAX);
        if (argc < 0)
            return error_set(err, SSHTUN_ERR_INVAL, "%s:%d: unbalanced "
                             "quote", path, lineno);
        if (argc == 0)
            continue;
        if (!strcasecmp(argv[0], "Host")) {
            char pats[CONFIG_LINE_MAX] = "";
            size_t o = 0;
            for (int i = 1; i < argc && o + 1 < sizeof pats; i++)
                o += (size_t)snprintf(pats + o, sizeof pats - o, "%s ",
                                      argv[i]);
            active = sshconfig_host_matches(pats, ctx->host);
            continue;
        }
        if (!strcasecmp(argv[0], "Match")) {
            ctx->match_blocks_skipped++;
            active = 0;
            continue;
        }
        if (!active)
            continue;
        if ((rc = sshconfig_apply_keyword(ctx, argc, argv, path, lineno,
                                          depth, err)))
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ file I/O */

#define CONFIG_FILE_MAX (1024 * 1024)

/* Read a whole file; NULL with errno set on failure. */
static char *sshconfig_read_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *text;
    size_t n;

    if (!fp)
        return NULL;
    text = malloc(CONFIG_FILE_MAX + 1);
    if (!text) {
        fclose(fp);
        errno = ENOMEM;
        return NULL;
    }
    n = fread(text, 1, CONFIG_FILE_MAX, fp);
    if (n == CONFIG_FILE_MAX && fgetc(fp) != EOF) {
        fclose(fp);
        free(text);
        errno = EFBIG;              /* never read half a file */
        return NULL;
    }
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* Apply one file (which must exist). */
static int sshconfig_apply_file(struct sshconfig_ctx *ctx, const char *path,
                                int depth, sshtun_error *err)
{
    char *text = sshconfig_read_file(path);
    int rc;

    if (!text)
        return error_set(err, SSHTUN_ERR_IO, "Can't open config file %s: %s",
                         path, strerror(errno));
    rc = sshconfig_apply(ctx, text, path, depth, err);
    free(text);
    return rc;
}

/* Include: a glob, relative to the including file's directory (~/.ssh or
 * /etc/ssh); files that do not exist are skipped, as in ssh. */
static int sshconfig_include_files(struct sshconfig_ctx *ctx,
                                   const char *pattern, int depth,
                                   sshtun_error *err)
{
    char path[PATH_MAX];
    glob_t g;
    int rc = 0;

    if (pattern[0] == '~')
        path_expand_tilde(path, sizeof path, pattern);
    else if (pattern[0] == '/')
        snprintf(path, sizeof path, "%s", pattern);
    else
        snprintf(path, sizeof path, "%s/%s", (const char *)ctx->user,
                 pattern);
    if (glob(path, 0, NULL, &g) != 0)
        return 0;
    for (size_t i = 0; i < g.gl_pathc && !rc; i++)
        rc = sshconfig_apply_file(ctx, g.gl_pathv[i], depth, err);
    globfree(&g);
    return rc;
}

/* Apply -F file (or the default files) for host, then default HostName. */
int sshtun_options_apply_config(sshtun_options *o, const char *file,
                                const char *host, sshtun_error *err)
{
    struct sshconfig_ctx ctx = { o, host, sshconfig_include_files, NULL, 0 };
    char path[PATH_MAX], dir[PATH_MAX];
    int rc = 0;

    if (!o || !host || !*host)
        return error_set(err, SSHTUN_ERR_INVAL, "no host to look up");
    if (file && (!strcmp(file, "none") || !strcmp(file, "/dev/null"))) {
        /* nothing to read */
    } else if (file) {
        char *slash;
        path_expand_tilde(path, sizeof path, file);
        snprintf(dir, sizeof dir, "%s", path);
        slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        ctx.user = dir;
        rc = sshconfig_apply_file(&ctx, path, 0, err);
    } else {
        path_expand_tilde(path, sizeof path, "~/.ssh/config");
        path_expand_tilde(dir, sizeof dir, "~/.ssh");
        ctx.user = dir;
        if (access(path, F_OK) == 0)
            rc = sshconfig_apply_file(&ctx, path, 0, err);
        if (!rc && access("/etc/ssh/ssh_config", F_OK) == 0) {
            ctx.user = (void *)"/etc/ssh";
            rc = sshconfig_apply_file(&ctx, "/etc/ssh/ssh_config", 0, err);
        }
    }
    if (rc)
        return rc;
    if (ctx.match_blocks_skipped)
        log_msg(o, SSHTUN_LOG_ERROR, "Warning: %d Match block(s) in the "
                "ssh configuration were skipped: sshtun does not support "
                "Match", ctx.match_blocks_skipped);
    if (!o->hostname)
        return sshtun_options_set(o, "HostName", host, err);
    error_clear(err);
    return 0;
}
