/*
 * fuzz_sshconfig.c - libFuzzer target for ssh_config text
 * (src/config/sshconfig.c, and through it every keyword's value parser
 * in src/config/options.c).
 *
 * The input is a configuration file's text (cut at its first NUL, as a
 * file read as text would be).  It is applied for the host "gateway" with
 * an Include callback that applies the pattern itself as a nested text,
 * so nesting depth is exercised without files.  The result must be 0 or
 * an error with a non-empty message; options must survive a deep copy
 * and free.  Any violation traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/options.h"
#include "config/sshconfig.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Include: the pattern's text applied as one more (tiny) file. */
static int include_text(struct sshconfig_ctx *ctx, const char *pattern,
                        int depth, sshtun_error *err)
{
    return sshconfig_apply(ctx, pattern, "include", depth, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    sshtun_options *o = sshtun_options_new(), *copy;
    struct sshconfig_ctx ctx;
    sshtun_error err = { 0, "" };
    int rc;

    CHECK(text && o);
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&ctx, 0, sizeof ctx);
    ctx.opts = o;
    ctx.host = "gateway";
    ctx.include = include_text;
    rc = sshconfig_apply(&ctx, text, "fuzz", 0, &err);
    CHECK(rc == 0 || (rc < 0 && err.code == rc && err.msg[0]));
    copy = options_dup(o);
    CHECK(copy);
    sshtun_options_free(copy);
    sshtun_options_free(o);
    free(text);
    return 0;
}
