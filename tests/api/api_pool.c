/*
 * api_pool.c - the C API with a connection pool, against a real sshd.
 *
 * One thread opens a channel to a destination that never answers (the
 * server's own connect hangs, so the open stays pending); meanwhile two
 * threads each open channels to an echo server and move bytes through
 * them.  They must all finish long before the stuck open would (the pool
 * adds a connection for them), and sshtun_session_connections must show
 * the second connection.  Prints "ok: ..." per check; exits 0 if all pass.
 *
 *   api_pool SSH_PORT USER KEY KNOWN_HOSTS ECHO_PORT BLACK_HOLE_PORT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sshtun.h"

#define ROUNDS 5

static sshtun_session *sess;
static int echo_port, hole_port;
static int failures;

/* Report a failed check. */
static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "FAIL: %s: %s\n", what, detail);
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
}

/* The stuck open: it must still be pending when the others are done. */
static void *open_black_hole(void *arg)
{
    sshtun_error err;
    sshtun_channel *ch;

    (void)arg;
    ch = sshtun_channel_open_direct(sess, "127.0.0.1", hole_port, NULL, 0,
                                    -1, &err);
    /* Answered when the session closes (or sshd gives up). */
    sshtun_close(ch);
    return NULL;
}

/* Open channels one after another and echo a line through each. */
static void *echo_rounds(void *arg)
{
    int id = *(int *)arg;

    for (int i = 0; i < ROUNDS; i++) {
        char msg[64], back[64];
        size_t got = 0;
        sshtun_error err;
        sshtun_channel *ch = sshtun_channel_open_direct(
            sess, "127.0.0.1", echo_port, NULL, 0, 10000, &err);

        if (!ch) {
            fail("open while another open hangs", err.msg);
            return NULL;
        }
        snprintf(msg, sizeof msg, "thread %d round %d", id, i);
        if (sshtun_send(ch, msg, strlen(msg), 10000) != (ssize_t)strlen(msg))
            fail("send", sshtun_channel_last_error(ch));
        while (got < strlen(msg)) {
            ssize_t n = sshtun_recv(ch, back + got, sizeof back - got, 10000);
            if (n <= 0) {
                fail("recv", sshtun_channel_last_error(ch));
                break;
            }
            got += (size_t)n;
        }
        if (got != strlen(msg) || memcmp(msg, back, got))
            fail("echo", msg);
        sshtun_close(ch);
    }
    return NULL;
}

/* Connect with key authentication. */
static sshtun_session *connect_session(char **argv)
{
    sshtun_options *o = sshtun_options_new();
    sshtun_session *s;
    sshtun_error err;

    sshtun_options_set(o, "HostName", "127.0.0.1", &err);
    sshtun_options_set(o, "Port", argv[1], &err);
    sshtun_options_set(o, "User", argv[2], &err);
    sshtun_options_set(o, "IdentityFile", argv[3], &err);
    sshtun_options_set(o, "IdentitiesOnly", "yes", &err);
    sshtun_options_set(o, "UserKnownHostsFile", argv[4], &err);
    sshtun_options_set(o, "GlobalKnownHostsFile", "none", &err);
    sshtun_options_set(o, "StrictHostKeyChecking", "yes", &err);
    s = sshtun_session_connect(o, &err);
    sshtun_options_free(o);
    if (!s)
        fprintf(stderr, "FAIL: connect: %s\n", err.msg);
    return s;
}

int main(int argc, char **argv)
{
    pthread_t hole, workers[2];
    int ids[2] = { 1, 2 };
    struct timespec pause = { 0, 300 * 1000 * 1000 };

    if (argc != 7) {
        fprintf(stderr, "usage: api_pool SSH_PORT USER KEY KNOWN_HOSTS "
                "ECHO_PORT BLACK_HOLE_PORT\n");
        return 2;
    }
    echo_port = atoi(argv[5]);
    hole_port = atoi(argv[6]);
    if (sshtun_global_init() || !(sess = connect_session(argv)))
        return 1;
    if (sshtun_session_connections(sess) != 1)
        fail("one connection at first", "");
    pthread_create(&hole, NULL, open_black_hole, NULL);
    nanosleep(&pause, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&workers[i], NULL, echo_rounds, &ids[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(workers[i], NULL);
    if (!failures)
        printf("ok: two threads opened %d channels each while an open "
               "hung\n", ROUNDS);
    if (sshtun_session_connections(sess) >= 2)
        printf("ok: %d connections\n", sshtun_session_connections(sess));
    else
        fail("the pool grew", "");
    sshtun_session_close(sess);     /* answers the stuck open */
    pthread_join(hole, NULL);
    printf("ok: closed with an open pending\n");
    sshtun_global_cleanup();
    return failures ? 1 : 0;
}
