/*
 * check_transport.c - unit tests for the receive hook of
 * src/engine/transport.c: reading ahead, the per-pass budget, and the
 * bytes read ahead coming before the socket's once pacing ends.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/transport.h"

#include "check_util.h"

#define SENT (300 * 1024)

static unsigned char sent[SENT];
static size_t written;              /* of sent, what the pair took */

/* A transport over one end of a non-blocking socketpair, with as much of
 * SENT patterned bytes as the pair takes sent into the other end. */
static void setup_pair(struct transport *t, int *fd)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
                                sv), 0);
    for (size_t i = 0; i < SENT; i++)
        sent[i] = (unsigned char)(i * 7 + i / 251);
    written = 0;
    while (written < SENT) {
        ssize_t n = write(sv[1], sent + written, SENT - written);
        if (n <= 0)
            break;                  /* the pair is full */
        written += (size_t)n;
    }
    ck_assert_uint_ge(written, 100 * 1024);
    memset(t, 0, sizeof *t);
    t->fd = sv[0];
    *fd = sv[1];
}

/* Call the hook as libssh2 does (16 KiB at a time, by the callers). */
static ssize_t hook(struct transport *t, unsigned char *buf, size_t len)
{
    void *abstract = t;

    return transport_recv_cb(t->fd, buf, len, 0, &abstract);
}

START_TEST(paced_reads_stop_at_the_budget)
{
    static unsigned char got[SENT];
    struct transport t;
    size_t total = 0;
    ssize_t n;
    int peer;

    setup_pair(&t, &peer);
    t.rx_paced = 1;
    t.rx_budget = 40 * 1024;
    while ((n = hook(&t, got + total, 16 * 1024)) > 0)
        total += (size_t)n;
    ck_assert_int_eq(n, -EAGAIN);
    ck_assert_uint_eq(total, 40 * 1024);
    ck_assert_uint_eq(t.rx_bytes, 40 * 1024);
    /* Read ahead, kept for the next pass: poll() cannot see it. */
    ck_assert_uint_gt(transport_rx_buffered(&t), 0);
    ck_assert(!memcmp(got, sent, total));
    close(peer);
    transport_free(&t);
    close(t.fd);
}
END_TEST

START_TEST(bytes_come_in_order_across_passes)
{
    static unsigned char got[SENT];
    struct transport t;
    size_t total = 0;
    int peer;

    setup_pair(&t, &peer);
    /* Passes of 20 KiB, then unpaced reads: the bytes read ahead come
     * first, then the socket's, then EOF. */
    for (int pass = 0; pass < 5; pass++) {
        ssize_t n;
        t.rx_paced = 1;
        t.rx_budget = 20 * 1024;
        while ((n = hook(&t, got + total, 16 * 1024)) > 0)
            total += (size_t)n;
        ck_assert_int_eq(n, -EAGAIN);
        t.rx_paced = 0;
    }
    close(peer);
    for (;;) {
        ssize_t n = hook(&t, got + total, 16 * 1024);
        if (n == 0)
            break;
        ck_assert_int_gt(n, 0);
        total += (size_t)n;
    }
    ck_assert_uint_eq(transport_rx_buffered(&t), 0);
    ck_assert_uint_eq(t.rx_bytes, total);
    ck_assert_uint_eq(total, written);
    ck_assert(!memcmp(got, sent, total));
    transport_free(&t);
    close(t.fd);
}
END_TEST

START_TEST(closing_reads_eof)
{
    unsigned char buf[16];
    struct transport t;
    int peer;

    setup_pair(&t, &peer);
    t.closing = 1;
    ck_assert_int_eq(hook(&t, buf, sizeof buf), 0);
    close(peer);
    close(t.fd);
}
END_TEST

static Suite *transport_suite(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("recv");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, paced_reads_stop_at_the_budget);
    tcase_add_test(tc, bytes_come_in_order_across_passes);
    tcase_add_test(tc, closing_reads_eof);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(transport_suite)
