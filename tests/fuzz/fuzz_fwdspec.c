/*
 * fuzz_fwdspec.c - libFuzzer target for forward specifications
 * (src/config/fwdspec.c): -L/-R "[bind:]port:host:hostport" and the
 * Unix-socket forms, -D "[bind:]port", and the ssh_config form
 * "port host:hostport".
 *
 * The input (cut at its first NUL) is parsed every way.  A parse that
 * succeeds must give NUL-terminated fields within their sizes, ports in
 * range and a listen port or path; a failure must say why.  A config
 * form that converts must convert into something -L parsing judges
 * without crashing.  Any violation traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/fwdspec.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* The invariants of a parsed spec. */
static void check_spec(const struct fwdspec *fs, int want_target)
{
    CHECK(memchr(fs->bind, '\0', sizeof fs->bind));
    CHECK(memchr(fs->host, '\0', sizeof fs->host));
    CHECK(memchr(fs->listen_path, '\0', sizeof fs->listen_path));
    CHECK(memchr(fs->target_path, '\0', sizeof fs->target_path));
    CHECK(fs->listen_port >= 0 && fs->listen_port <= 65535);
    if (want_target && !fs->target_path[0])
        CHECK(fs->port >= 1 && fs->port <= 65535 && fs->host[0]);
}

/* Parse s every way. */
static void parse_all(const char *s)
{
    struct fwdspec fs;
    sshtun_error err = { 0, "" };
    char conv[2 * FWD_HOST_MAX + 16];

    if (fwdspec_parse_local(s, &fs, &err) == 0)
        check_spec(&fs, 1);
    else
        CHECK(err.msg[0]);
    err.msg[0] = '\0';
    if (fwdspec_parse_dynamic(s, &fs, &err) == 0)
        check_spec(&fs, 0);
    else
        CHECK(err.msg[0]);
    if (fwdspec_from_config(s, conv, sizeof conv, NULL) == 0) {
        CHECK(memchr(conv, '\0', sizeof conv));
        if (fwdspec_parse_local(conv, &fs, NULL) == 0)
            check_spec(&fs, 1);
    }
    (void)fwdspec_port(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    CHECK(s);
    memcpy(s, data, size);
    s[size] = '\0';
    parse_all(s);
    free(s);
    return 0;
}
