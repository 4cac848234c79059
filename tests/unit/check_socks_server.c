/*
 * check_socks_server.c - unit tests for src/socks/socks_server.c.
 *
 * socks_server_fd_recv, the handshake's read from a client socket, keeps its
 * deadline while signals interrupt its wait: a signal during the wait
 * ends in a timeout, not in a recv() that blocks until the client
 * finally sends.  Data that is there is returned, EOF is 0.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "socks/socks_server.h"

#include "check_util.h"

struct storm {
    pthread_t target;
    int peer;                       /* the client's end */
};

/* A handler that does nothing, installed without SA_RESTART. */
static void on_signal(int sig)
{
    (void)sig;
}

/* Sleep ms milliseconds. */
static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* Interrupt the target's wait once, then (well after its deadline) send
 * one byte as a late client would.  One signal: a second could interrupt
 * the blocking recv() the bug falls into and hide it. */
static void *storm_main(void *arg)
{
    struct storm *st = arg;

    sleep_ms(100);
    pthread_kill(st->target, SIGUSR1);
    sleep_ms(1500);
    if (write(st->peer, "x", 1) != 1)
        return NULL;
    return NULL;
}

START_TEST(deadline_survives_signals)
{
    struct sigaction sa;
    struct storm st;
    pthread_t t;
    unsigned char buf[8];
    int sv[2];
    long n;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;      /* no SA_RESTART: poll() gets EINTR */
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    st.target = pthread_self();
    st.peer = sv[1];
    ck_assert_int_eq(pthread_create(&t, NULL, storm_main, &st), 0);
    n = socks_server_fd_recv(&sv[0], buf, sizeof buf, clock_now_ms() + 300);
    pthread_join(t, NULL);
    ck_assert_msg(n == -2, "recv with a 300 ms deadline returned %ld, not "
                  "a timeout (-2)", n);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(data_and_eof)
{
    unsigned char buf[8];
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(write(sv[1], "abc", 3), 3);
    ck_assert_int_eq(socks_server_fd_recv(&sv[0], buf, sizeof buf,
                                          clock_now_ms() + 5000), 3);
    ck_assert(!memcmp(buf, "abc", 3));
    ck_assert_int_eq(socks_server_fd_recv(&sv[0], buf, sizeof buf, clock_now_ms() + 50),
                     -2);
    close(sv[1]);
    ck_assert_int_eq(socks_server_fd_recv(&sv[0], buf, sizeof buf,
                                          clock_now_ms() + 5000), 0);
    ck_assert_int_eq(socks_server_fd_recv(&sv[0], buf, sizeof buf, clock_now_ms() - 1),
                     -2);
    close(sv[0]);
}
END_TEST

static Suite *socks_server_suite(void)
{
    Suite *s = suite_create("socks_server");
    TCase *io = tcase_create("fd_recv");

    tcase_add_test(io, deadline_survives_signals);
    tcase_add_test(io, data_and_eof);
    suite_add_tcase(s, io);
    return s;
}

CHECK_MAIN(socks_server_suite)
