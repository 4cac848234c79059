/*
 * fuzz_knownhosts.c - libFuzzer target for known_hosts lines
 * (src/engine/knownhosts_match.c).
 *
 * The input's first line is the host name looked up (lower-cased, as
 * the engine does), the rest known_hosts lines, each parsed as a
 * known_hosts entry and as a bare key line, and matched against the
 * name, a fixed key blob and each key type.  Invariants: fields of a
 * parsed entry lie inside the line; a line with a "!" pattern matching
 * the name never covers it; a name judged fit to write contains no
 * pattern or separator character.  Any violation traps.
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/knownhosts_match.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static const unsigned char blob[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20"
                                    "0123456789abcdef0123456789abcdef";

/* A field lies inside [line, line + len). */
static void inside(const char *f, size_t n, const char *line, size_t len)
{
    if (!f)
        return;
    CHECK(f >= line && f + n <= line + len);
}

/* Judge one line of len bytes. */
static void judge(const char *line, size_t len, const char *name)
{
    struct kh_entry e;

    if (knownhosts_match_parse(line, len, &e) == 1) {
        inside(e.hosts, e.hosts_len, line, len);
        inside(e.type, e.type_len, line, len);
        inside(e.key64, e.key64_len, line, len);
        CHECK(e.hosts_len && e.type_len && e.key64_len);
        (void)knownhosts_match_host(&e, name);
        (void)knownhosts_match_key(&e, blob, sizeof blob - 1);
        (void)knownhosts_match_type(&e, "ssh-ed25519");
    }
    if (knownhosts_match_parse_key(line, len, &e) == 1) {
        CHECK(!e.hosts);
        inside(e.key64, e.key64_len, line, len);
        (void)knownhosts_match_key(&e, blob, sizeof blob - 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = text + size, *p, *nl;
    char *name;
    size_t nlen;

    nl = memchr(text, '\n', size);
    nlen = nl ? (size_t)(nl - text) : size;
    name = malloc(nlen + 1);
    CHECK(name);
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)tolower((unsigned char)text[i]);
    name[nlen] = '\0';
    if (knownhosts_match_name_ok(name))
        CHECK(!strpbrk(name, "*?!, \t\n\r"));
    for (p = nl ? nl + 1 : end; p < end; p = nl ? nl + 1 : end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        judge(p, (size_t)((nl ? nl : end) - p), name);
    }
    free(name);
    return 0;
}
