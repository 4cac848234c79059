/*
 * api_identity.c - a private key given from memory through the C API
 * (sshtun_options_add_identity), against a real sshd.
 *
 * Reads KEY into memory, gives it to the options (no IdentityFile), and
 * answers passphrase requests with PASSPHRASE (when given), counting them.
 * Connects, opens a channel to the echo server, checks the echo byte for
 * byte.  Prints "ok: ..." with the number of prompts; exits 0 on success.
 *
 *   api_identity SSH_PORT USER KEY KNOWN_HOSTS ECHO_PORT [PASSPHRASE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshtun.h"

static int prompts;

/* The passphrase callback: the one from the command line. */
static int answer(const char *prompt, char *buf, size_t size, void *user)
{
    (void)prompt;
    prompts++;
    snprintf(buf, size, "%s", (const char *)user);
    return 0;
}

/* Read a whole file into a NUL-terminated buffer. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *buf = calloc(1, 65536);
    size_t n;

    if (!fp || !buf)
        return NULL;
    n = fread(buf, 1, 65535, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

int main(int argc, char **argv)
{
    sshtun_options *o;
    sshtun_session *s;
    sshtun_channel *ch;
    sshtun_error err;
    char *key, buf[64];
    ssize_t n;

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: api_identity SSH_PORT USER KEY KNOWN_HOSTS "
                "ECHO_PORT [PASSPHRASE]\n");
        return 2;
    }
    if (!(key = slurp(argv[3]))) {
        fprintf(stderr, "FAIL: cannot read %s\n", argv[3]);
        return 1;
    }
    sshtun_global_init();
    o = sshtun_options_new();
    sshtun_options_set(o, "HostName", "127.0.0.1", &err);
    sshtun_options_set(o, "Port", argv[1], &err);
    sshtun_options_set(o, "User", argv[2], &err);
    sshtun_options_set(o, "IdentitiesOnly", "yes", &err);
    sshtun_options_set(o, "UserKnownHostsFile", argv[4], &err);
    sshtun_options_set(o, "GlobalKnownHostsFile", "none", &err);
    sshtun_options_set(o, "StrictHostKeyChecking", "yes", &err);
    if (sshtun_options_add_identity(o, key, &err)) {
        fprintf(stderr, "FAIL: add_identity: %s\n", err.msg);
        return 1;
    }
    memset(key, 0, strlen(key));
    free(key);
    if (argc == 7)
        sshtun_options_set_passphrase(o, answer, argv[6]);
    s = sshtun_session_connect(o, &err);
    sshtun_options_free(o);
    if (!s) {
        fprintf(stderr, "FAIL: connect: %s\n", err.msg);
        return 1;
    }
    ch = sshtun_channel_open_direct(s, "127.0.0.1", atoi(argv[5]),
                                    "127.0.0.1", 0, 10000, &err);
    if (!ch || sshtun_send(ch, "key from memory", 15, 5000) != 15
        || sshtun_shutdown(ch) != 0
        || (n = sshtun_recv(ch, buf, sizeof buf, 5000)) != 15
        || memcmp(buf, "key from memory", 15)) {
        fprintf(stderr, "FAIL: echo through the session\n");
        return 1;
    }
    sshtun_close(ch);
    sshtun_session_close(s);
    sshtun_global_cleanup();
    printf("ok: key from memory, %d prompts\n", prompts);
    return 0;
}
