/*
 * sshconfig.h - reading ssh_config(5) files into options.
 *
 * `Host` blocks with patterns (`*`, `?`, `!` negation, several per line)
 * select what applies to the host named on the command line; as in ssh,
 * the first value obtained for a keyword wins, so the command line (set
 * first) beats the files.  Keywords sshtun implements go through
 * sshtun_options_set (a bad value is an error naming file:line); keywords
 * OpenSSH knows but sshtun has no use for are ignored quietly; anything
 * else is an error, as in ssh.  `Match` blocks are skipped with a
 * warning.  Parsing is pure; Include files come through a callback.
 */
#ifndef SSHTUN_SSHCONFIG_H
#define SSHTUN_SSHCONFIG_H

#include "sshtun.h"

struct sshconfig_ctx {
    sshtun_options *opts;
    const char *host;               /* the destination as given */
    /* Called for "Include PATTERN" in an active block; returns 0 or an
     * error with err.  May be NULL (Include then ignored). */
    int (*include)(struct sshconfig_ctx *ctx, const char *pattern, int depth,
                   sshtun_error *err);
    void *user;
    int match_blocks_skipped;       /* for a warning */
};

/* Apply one file's text.  Returns 0 or SSHTUN_ERR_INVAL with err naming
 * path:line. */
int sshconfig_apply(struct sshconfig_ctx *ctx, const char *text,
                    const char *path, int depth, sshtun_error *err);

/* Whether host matches a Host line's pattern list (pure). */
int sshconfig_host_matches(const char *patterns, const char *host);

#endif
