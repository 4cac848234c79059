/*
 * api_remote.c - remote listeners from the C API, against a real sshd.
 *
 * Logs in with a private key handed over in memory, asks the server to
 * listen on a port it picks, then two threads each
 * accept a channel from the same listener and echo what arrives until
 * EOF, while the test script connects twice to the server's port and
 * checks the echoes.  Prints "port N" once listening and "ok: ..." when
 * both echoes are done; exits 0 if all passed.
 *
 *   api_remote SSH_PORT USER KEY KNOWN_HOSTS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshtun.h"

static sshtun_listener *listener;
static int failures;

/* Accept one channel and echo it to EOF. */
static void *echo_one(void *arg)
{
    sshtun_error err;
    sshtun_channel *ch = sshtun_accept(listener, 30000, &err);
    char buf[65536];
    ssize_t n;

    (void)arg;
    if (!ch) {
        fprintf(stderr, "FAIL: accept: %s\n", err.msg);
        __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    while ((n = sshtun_recv(ch, buf, sizeof buf, 30000)) > 0) {
        if (sshtun_send(ch, buf, (size_t)n, 30000) != n)
            break;
    }
    if (n != 0 || sshtun_shutdown(ch) != 0) {
        fprintf(stderr, "FAIL: echo ended with %s\n",
                sshtun_strerror((int)n));
        __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    }
    sshtun_close(ch);
    return NULL;
}

int main(int argc, char **argv)
{
    sshtun_options *o;
    sshtun_session *s;
    sshtun_error err;
    pthread_t t[2];
    int port = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: api_remote SSH_PORT USER KEY KNOWN_HOSTS\n");
        return 2;
    }
    sshtun_global_init();
    o = sshtun_options_new();
    sshtun_options_set(o, "HostName", "127.0.0.1", &err);
    sshtun_options_set(o, "Port", argv[1], &err);
    sshtun_options_set(o, "User", argv[2], &err);
    {
        /* The key is handed over in memory, not as a file name. */
        static char key[16384];
        FILE *fp = fopen(argv[3], "r");
        size_t n = fp ? fread(key, 1, sizeof key - 1, fp) : 0;
        if (fp)
            fclose(fp);
        key[n] = '\0';
        if (sshtun_options_add_identity(o, key, &err)) {
            fprintf(stderr, "FAIL: add_identity: %s\n", err.msg);
            return 1;
        }
    }
    sshtun_options_set(o, "IdentitiesOnly", "yes", &err);
    sshtun_options_set(o, "UserKnownHostsFile", argv[4], &err);
    sshtun_options_set(o, "GlobalKnownHostsFile", "none", &err);
    sshtun_options_set(o, "StrictHostKeyChecking", "yes", &err);
    s = sshtun_session_connect(o, &err);
    sshtun_options_free(o);
    if (!s) {
        fprintf(stderr, "FAIL: connect: %s\n", err.msg);
        return 1;
    }
    listener = sshtun_listen_remote(s, "127.0.0.1", 0, &port, &err);
    if (!listener || port <= 0) {
        fprintf(stderr, "FAIL: listen: %s\n", err.msg);
        return 1;
    }
    printf("port %d\n", port);
    fflush(stdout);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, echo_one, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (!failures)
        printf("ok: two channels accepted from two threads and echoed\n");
    sshtun_listener_close(listener);
    /* A closed listener refuses further accepts. */
    sshtun_session_close(s);
    sshtun_global_cleanup();
    return failures ? 1 : 0;
}
