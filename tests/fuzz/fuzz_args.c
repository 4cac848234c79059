/*
 * fuzz_args.c - libFuzzer target for the command line (src/cli/args.c,
 * and through it the option parsers).
 *
 * The input is split at NUL bytes into arguments after "sshtun" (at
 * most 64).  args_parse must return 0 or -1 with a message; on success
 * without -V/-h there is a host that passed the shell-character test.
 * args_hostport and args_destination are run on each argument too.  Any
 * violation traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *argv[MAX_ARGS + 2], err[600];
    struct cli_args a;
    int argc = 1, rc;
    size_t start = 0;

    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';
    argv[0] = "sshtun";
    for (size_t i = 0; i <= size && argc <= MAX_ARGS; i++)
        if (text[i] == '\0') {
            argv[argc++] = text + start;
            start = i + 1;
        }
    argv[argc] = NULL;
    for (int i = 1; i < argc; i++) {
        char host[256], h2[256];
        int port;
        sshtun_options *o = sshtun_options_new();
        CHECK(o);
        if (args_hostport(argv[i], host, sizeof host, &port) == 0)
            CHECK(port >= 1 && port <= 65535 && host[0]);
        (void)args_destination(argv[i], o, h2, sizeof h2, err, sizeof err);
        sshtun_options_free(o);
    }
    memset(&a, 0, sizeof a);
    a.opts = sshtun_options_new();
    CHECK(a.opts);
    err[0] = '\0';
    rc = args_parse(argc, argv, &a, err, sizeof err);
    CHECK(rc == 0 || (rc == -1 && err[0]));
    if (rc == 0 && !a.show_help && !a.show_version)
        CHECK(a.host[0] && args_valid_hostname(a.host));
    sshtun_options_free(a.opts);
    free(text);
    return 0;
}
