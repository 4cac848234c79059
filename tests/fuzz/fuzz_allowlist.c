/*
 * fuzz_allowlist.c - libFuzzer target for SocksAllow rules
 * (src/config/allowlist.c) and PermitRemoteOpen entries
 * (src/config/permitopen.c).
 *
 * The input's first line is a rule list, given to both parsers; each
 * further line is a destination "N|A host port" (N: asked by name, A: by
 * address) judged by both.  Invariants: a refused rule list says why; an
 * empty list (and "any") allows everything, a refused PermitRemoteOpen
 * value nothing; a destination that
 * inet_aton-parses as a number is never allowed by a list of name rules
 * alone; an address pattern never allows a real name.  Any violation
 * traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/allowlist.h"
#include "config/permitopen.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static struct allowlist list;
static struct permitopen permit;

/* Whether every rule of the list is a name pattern. */
static int names_only(void)
{
    for (int i = 0; i < list.n; i++)
        if (list.rules[i].kind != ALLOW_NAME)
            return 0;
    return list.n > 0;
}

/* Judge one destination line. */
static void judge(char *line, int listed)
{
    char *sp = strrchr(line, ' ');
    int is_name = line[0] == 'N', port, allowed;
    const char *host;
    uint8_t a[4];

    if (!sp || strlen(line) < 2)
        return;
    *sp = '\0';
    host = line + 2;
    port = atoi(sp + 1);
    allowed = allowlist_match(&list, host, is_name, port);
    if (!list.n)
        CHECK(allowed);
    if (listed && is_name && names_only()
        && allowlist_parse_aton(host, a) == 0)
        CHECK(!allowed);
    if (permit.any)
        CHECK(permitopen_match(&permit, host, port));
    else
        (void)permitopen_match(&permit, host, port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *line, *save = NULL;
    sshtun_error err = { 0, "" };
    int listed;

    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&list, 0, sizeof list);
    line = strtok_r(text, "\n", &save);
    listed = line && allowlist_add(&list, line, &err) == 0;
    if (line && !listed)
        CHECK(err.code == SSHTUN_ERR_INVAL && err.msg[0]);
    if (permitopen_parse(&permit, line, &err))
        CHECK(!permit.any && permit.n == 0);   /* allows nothing */
    if (!listed)
        memset(&list, 0, sizeof list);
    while ((line = strtok_r(NULL, "\n", &save)))
        judge(line, listed);
    free(text);
    return 0;
}
