/*
 * api_threads.c - the C API under concurrent use, against a real sshd.
 *
 * Two worker threads each open a channel to an echo server and push a
 * different pseudo-random stream through it, while a second thread per
 * channel receives and checks the echo byte for byte: four threads on
 * one session at once.  Then single-thread checks: recv timeout on an
 * idle channel, half-close (shutdown, then recv until 0), a local forward
 * started, used and closed from code, a refused open reporting
 * SSHTUN_ERR_CONNECT_FAILED, and blocked callers released by
 * sshtun_session_close, while another thread closes a forward and one
 * more forward is closed after it.  Prints "ok: ..." per check; exits 0
 * if all pass.
 *
 *   api_threads SSH_PORT USER KEY KNOWN_HOSTS ECHO_PORT CLOSED_PORT BYTES
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sshtun.h"

static sshtun_session *sess;
static int echo_port, closed_port;
static size_t total_bytes;
static int failures;

struct stream {
    int seed;
    sshtun_channel *ch;
    int ok;
};

/* Byte i of stream seed. */
static unsigned char pattern_byte(int seed, size_t i)
{
    uint32_t x = (uint32_t)(i * 2654435761u) ^ (uint32_t)(seed * 40503);
    return (unsigned char)(x >> 13);
}

static sshtun_forward *race_forward, *late_forward;

/* Close a forward (another thread than the session's close). */
static void *close_forward(void *arg)
{
    sshtun_forward_close(arg);
    return NULL;
}

/* Report a failed check. */
static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "FAIL: %s: %s\n", what, detail);
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
}

/* Send the whole stream, then half-close. */
static void *sender(void *arg)
{
    struct stream *st = arg;
    unsigned char buf[50000];
    size_t done = 0;

    while (done < total_bytes) {
        size_t n = total_bytes - done < sizeof buf ? total_bytes - done
                                                   : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern_byte(st->seed, done + i);
        if (sshtun_send(st->ch, buf, n, 30000) != (ssize_t)n) {
            fail("send", sshtun_channel_last_error(st->ch));
            return NULL;
        }
        done += n;
    }
    if (sshtun_shutdown(st->ch))
        fail("shutdown", "failed");
    return NULL;
}

/* Receive the echo and compare. */
static void *receiver(void *arg)
{
    struct stream *st = arg;
    unsigned char buf[40000];
    size_t got = 0;
    ssize_t n;

    while ((n = sshtun_recv(st->ch, buf, sizeof buf, 30000)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern_byte(st->seed, got + (size_t)i)) {
                fail("recv", "echoed byte differs");
                return NULL;
            }
        got += (size_t)n;
    }
    if (n < 0)
        fail("recv", sshtun_strerror((int)n));
    else if (got != total_bytes)
        fail("recv", "short stream");
    else
        st->ok = 1;
    return NULL;
}

/* One worker: open its channel, run sender and receiver threads. */
static void *worker(void *arg)
{
    struct stream *st = arg;
    sshtun_error err;
    pthread_t s, r;

    st->ch = sshtun_channel_open_direct(sess, "127.0.0.1", echo_port, NULL,
                                        0, 10000, &err);
    if (!st->ch) {
        fail("open", err.msg);
        return NULL;
    }
    pthread_create(&s, NULL, sender, st);
    pthread_create(&r, NULL, receiver, st);
    pthread_join(s, NULL);
    pthread_join(r, NULL);
    sshtun_close(st->ch);
    return NULL;
}

/* Open a channel to the echo server or fail. */
static sshtun_channel *open_echo(void)
{
    sshtun_error err;
    sshtun_channel *ch = sshtun_channel_open_direct(sess, "127.0.0.1",
                                                    echo_port, NULL, 0,
                                                    10000, &err);
    if (!ch)
        fail("open", err.msg);
    return ch;
}

/* Echo one byte through 127.0.0.1:port; 0 if it came back. */
static int tcp_echo(int port)
{
    struct sockaddr_in sa;
    char c = 'x';
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc = -1;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0
        && send(fd, &c, 1, 0) == 1 && shutdown(fd, SHUT_WR) == 0
        && recv(fd, &c, 1, 0) == 1 && c == 'x')
        rc = 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

struct blocked {
    sshtun_channel *ch;
    ssize_t rc;
};

/* Blocked in recv while the session is closed from another thread. */
static void *blocked_recv(void *arg)
{
    struct blocked *b = arg;
    char c;

    b->rc = sshtun_recv(b->ch, &c, 1, 20000);
    return NULL;
}

int main(int argc, char **argv)
{
    sshtun_options *o;
    sshtun_error err;
    struct stream st[2] = { { 1, NULL, 0 }, { 2, NULL, 0 } };
    pthread_t w[2];
    sshtun_channel *ch;
    char buf[64];
    ssize_t n;

    if (argc != 8) {
        fprintf(stderr, "usage: api_threads SSH_PORT USER KEY KNOWN_HOSTS "
                "ECHO_PORT CLOSED_PORT BYTES\n");
        return 2;
    }
    echo_port = atoi(argv[5]);
    closed_port = atoi(argv[6]);
    total_bytes = (size_t)atol(argv[7]);
    sshtun_global_init();
    o = sshtun_options_new();
    sshtun_options_set(o, "HostName", "127.0.0.1", &err);
    sshtun_options_set(o, "Port", argv[1], &err);
    sshtun_options_set(o, "User", argv[2], &err);
    sshtun_options_set(o, "IdentityFile", argv[3], &err);
    sshtun_options_set(o, "IdentitiesOnly", "yes", &err);
    sshtun_options_set(o, "UserKnownHostsFile", argv[4], &err);
    sshtun_options_set(o, "GlobalKnownHostsFile", "none", &err);
    sshtun_options_set(o, "StrictHostKeyChecking", "yes", &err);
    sess = sshtun_session_connect(o, &err);
    sshtun_options_free(o);
    if (!sess) {
        fprintf(stderr, "FAIL: connect: %s\n", err.msg);
        return 1;
    }

    for (int i = 0; i < 2; i++)
        pthread_create(&w[i], NULL, worker, &st[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    if (st[0].ok && st[1].ok)
        printf("ok: two channels, four threads, %zu bytes each way each\n",
               total_bytes);

    /* recv on an idle channel times out and the channel stays usable. */
    if ((ch = open_echo())) {
        n = sshtun_recv(ch, buf, sizeof buf, 200);
        if (n != SSHTUN_ERR_TIMEOUT)
            fail("recv timeout", sshtun_strerror((int)n));
        else if (sshtun_send(ch, "ping", 4, 5000) != 4
                 || sshtun_shutdown(ch) != 0
                 || sshtun_recv(ch, buf, 4, 5000) != 4
                 || memcmp(buf, "ping", 4) != 0)
            fail("after timeout", "echo failed");
        else if ((n = sshtun_recv(ch, buf, sizeof buf, 5000)) != 0)
            fail("half-close", "expected EOF (0) after the echo");
        else if (sshtun_recv(ch, buf, sizeof buf, 5000) != 0)
            fail("half-close", "EOF must repeat");
        else if (sshtun_send(ch, "x", 1, 1000) != SSHTUN_ERR_CLOSED)
            fail("send after shutdown", "expected SSHTUN_ERR_CLOSED");
        else
            printf("ok: recv timeout, half-close, EOF repeats, send after "
                   "shutdown refused\n");
        sshtun_close(ch);
    }

    /* A forward started and stopped from code; the session stays up. */
    {
        char spec[64];
        sshtun_forward *f;
        snprintf(spec, sizeof spec, "0:127.0.0.1:%d", echo_port);
        f = sshtun_forward_local(sess, spec, &err);
        if (!f || sshtun_forward_port(f) <= 0)
            fail("forward_local", err.msg);
        else if (tcp_echo(sshtun_forward_port(f)) != 0)
            fail("forward_local", "no echo through the forward");
        else {
            int port = sshtun_forward_port(f);
            sshtun_forward_close(f);
            if (tcp_echo(port) == 0)
                fail("forward_close", "still listening");
            else if (sshtun_session_wait(sess, 100) != SSHTUN_ERR_TIMEOUT)
                fail("session_wait", "session not up any more");
            else
                printf("ok: forward started, used and closed from code\n");
        }
    }

    /* A refused target reports connect failed, with a message. */
    ch = sshtun_channel_open_direct(sess, "127.0.0.1", closed_port, NULL, 0,
                                    10000, &err);
    if (ch) {
        fail("refused open", "channel opened to a closed port");
        sshtun_close(ch);
    } else if (err.code != SSHTUN_ERR_CONNECT_FAILED || !err.msg[0]) {
        fail("refused open", err.msg);
    } else {
        printf("ok: refused open: %s\n", err.msg);
    }

    /* Closing the session releases a thread blocked in recv; meanwhile
     * another thread closes a forward (the race of a forward's close with
     * the session's), and one more forward is closed after the session:
     * its handle stays valid until then. */
    {
        char spec[64];
        snprintf(spec, sizeof spec, "0:127.0.0.1:%d", echo_port);
        race_forward = sshtun_forward_local(sess, spec, &err);
        late_forward = sshtun_forward_local(sess, spec, &err);
        if (!race_forward || !late_forward)
            fail("forwards for the close race", err.msg);
    }
    if ((ch = open_echo())) {
        struct blocked arg = { ch, 1 };
        pthread_t t, closer;
        pthread_create(&t, NULL, blocked_recv, &arg);
        pthread_create(&closer, NULL, close_forward, race_forward);
        sshtun_session_close(sess);
        pthread_join(closer, NULL);
        sshtun_forward_close(late_forward);
        printf("ok: forwards closed during and after the session's close\n");
        pthread_join(t, NULL);
        if (arg.rc >= 0)
            fail("close releases recv", "recv did not return an error");
        else
            printf("ok: session close released a blocked recv (%s)\n",
                   sshtun_strerror((int)arg.rc));
        sshtun_close(ch);
    } else {
        sshtun_session_close(sess);
        sshtun_forward_close(race_forward);
        sshtun_forward_close(late_forward);
    }
    sshtun_global_cleanup();
    return failures ? 1 : 0;
}
