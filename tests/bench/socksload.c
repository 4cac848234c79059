/*
 * socksload.c - load for a SOCKS5 proxy (ssh -D, sshtun -D), and the
 * loopback echo server it talks to, for tests/bench/bench.py.
 *
 * Usage:
 *   socksload echo
 *       An echo server on 127.0.0.1 (one epoll thread).  Prints
 *       "listening on port N" once ready, then serves until killed.
 *
 *   socksload rate PROXY_PORT TARGET_PORT THREADS SECONDS BYTES
 *       THREADS workers, each in a loop: TCP connect to the proxy on
 *       127.0.0.1, SOCKS5 no-auth greeting, CONNECT (IPv4) to
 *       127.0.0.1:TARGET_PORT, send BYTES, read the echo, close; every
 *       step waits for its answer, as real clients do.  The first
 *       SECONDS/10 (at most 1 s) are a warm-up, not counted.  Prints
 *       "error TEXT" for the first failure, if any, then
 *       "rate OK FAIL SECONDS P50_US P99_US TOTAL": OK connections
 *       finished (FAIL failed) in SECONDS of counting, P50/P99 the times
 *       from the TCP connect's start to the echo's arrival, TOTAL the
 *       attempts including the warm-up.
 *
 *   socksload many PROXY_PORT TARGET_PORT COUNT BYTES PARALLEL TIMEOUT
 *                  [OPEN_SECONDS]
 *       Opens COUNT connections through the proxy (PARALLEL handshakes
 *       at a time, none started after OPEN_SECONDS if given), prints
 *       "opened OK FAIL SECONDS SKIPPED" (SKIPPED: not tried in time),
 *       and waits for a line on stdin.  With BYTES 0 it then closes them
 *       all (held connections).  Otherwise every open connection sends
 *       BYTES and reads the echo at once (one epoll loop); prints "done
 *       OK FAIL SECONDS P50 P90" (OK: the echo came back whole and
 *       unchanged; SECONDS until the last one was; P50, P90: seconds
 *       until half, nine tenths of them were) and waits for a line on
 *       stdin (or EOF).  Then it closes everything and prints "closed".
 *       Each handshake and the transfer give up after TIMEOUT seconds.
 *       "error TEXT" lines tell the first failures.
 *
 *   socksload blackhole PROXY_PORT TARGET_PORT HOLE_PORT THREADS REQUESTS
 *                       SECONDS BYTES TIMEOUT EVERY
 *       THREADS workers share REQUESTS requests, none started after
 *       SECONDS.  Request k, when k % EVERY == EVERY - 1, is a SOCKS
 *       CONNECT to 127.0.0.1:HOLE_PORT (a destination that never
 *       answers): it is sent and its socket kept open, unanswered, to
 *       the end.  The others are as in rate, to TARGET_PORT.  Every step
 *       gives up after TIMEOUT seconds.  Prints "blackhole OK FAIL HOLES
 *       HOLE_FAIL ANSWERED NOT_TRIED SECONDS P50_US P99_US": the other
 *       requests done and failed, hole requests sent (HOLE_FAIL not even
 *       sent, ANSWERED with any reply by the end), requests not tried,
 *       the wall time, and the connect -> echo times of those done.
 *
 * Loopback only.  Every socket has send and receive timeouts, so nothing
 * waits forever.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ECHO_BUF (64 * 1024)
#define MAX_BYTES (16 * 1024 * 1024)
#define PATTERN_LEN (MAX_BYTES + 65536)

static unsigned char *pattern;  /* PATTERN_LEN pseudo-random bytes */

/* The monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "socksload: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Raise the descriptor limit to the hard limit. */
static void raise_nofile(void)
{
    struct rlimit r;

    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static void make_pattern(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;

    pattern = malloc(PATTERN_LEN);
    if (!pattern)
        die("malloc");
    for (size_t i = 0; i < PATTERN_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern[i] = (unsigned char)x;
    }
}

/* Where connection i's data starts in the pattern (differs per
 * connection, so crossed streams are noticed). */
static const unsigned char *pattern_for(unsigned i)
{
    return pattern + (i * 4099u) % 65536u;
}

/* ------------------------------------------------------------ echo server */

/* A connection's unsent echo, kept only while its socket is full, so
 * 10,000 idle connections cost no buffers. */
struct echo_conn {
    int fd;
    size_t len, off;            /* pending bytes pend[off..len) */
    unsigned char *pend;        /* NULL when nothing is pending */
};

/* Send what c has pending; 1: all sent, 0: the socket is full, -1: error. */
static int echo_flush(struct echo_conn *c)
{
    while (c->off < c->len) {
        ssize_t r = send(c->fd, c->pend + c->off, c->len - c->off,
                         MSG_NOSIGNAL);
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r < 0)
            return -1;
        c->off += (size_t)r;
    }
    free(c->pend);
    c->pend = NULL;
    c->len = c->off = 0;
    return 1;
}

/* Echo what arrives on c until its socket is empty or full; -1: drop it. */
static int echo_serve(struct echo_conn *c, unsigned char *buf)
{
    for (;;) {
        ssize_t r = recv(c->fd, buf, ECHO_BUF, 0), s;

        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r <= 0)
            return -1;
        s = send(c->fd, buf, (size_t)r, MSG_NOSIGNAL);
        if (s < 0 && errno != EAGAIN)
            return -1;
        if (s < 0)
            s = 0;
        if (s < r) {
            c->len = (size_t)(r - s);
            c->off = 0;
            if (!(c->pend = malloc(c->len)))
                return -1;
            memcpy(c->pend, buf + s, c->len);
            return 0;
        }
    }
}

static int echo_main(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    int one = 1, lfd, ep;
    struct epoll_event ev, evs[256];
    static unsigned char buf[ECHO_BUF];

    raise_nofile();
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      0)) < 0)
        die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0
        || listen(lfd, 4096) < 0
        || getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
        die("listen");
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    printf("listening on port %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct echo_conn *c = evs[i].data.ptr;
            int had;

            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    c = malloc(sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    c->len = c->off = 0;
                    c->pend = NULL;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                               sizeof one);
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            had = c->pend != NULL;
            if (c->pend) {
                int f = echo_flush(c);
                if (f < 0)
                    goto drop;
                if (f == 0)
                    continue;
            }
            if (echo_serve(c, buf) < 0)
                goto drop;
            if ((c->pend != NULL) != had) {
                ev.events = c->pend ? EPOLLOUT : EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
            continue;
drop:
            close(c->fd);       /* also leaves the epoll set */
            free(c->pend);
            free(c);
        }
    }
    return 0;
}

/* ---------------------------------------------------------- SOCKS client */

/* Send all of buf, or -1. */
static int send_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Receive exactly len bytes, or -1 (errno 0: EOF). */
static int recv_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;

    while (len) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void set_timeouts(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void describe(char *err, size_t n, const char *step)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        snprintf(err, n, "%s: timed out", step);
    else if (errno)
        snprintf(err, n, "%s: %s", step, strerror(errno));
    else
        snprintf(err, n, "%s: connection closed by the proxy", step);
}

/* Connect to the proxy, greet it (SOCKS5, no auth) and send a CONNECT
 * to 127.0.0.1:target without waiting for its reply.  Returns the
 * socket, or -1 with err set. */
static int socks_send_connect(int proxy_port, int target_port, int timeout_s,
                              char *err, size_t errlen)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    unsigned char req[10] = { 5, 1, 0, 1, 127, 0, 0, 1, 0, 0 };
    unsigned char greet[3] = { 5, 1, 0 }, ans[2];
    int fd, one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)proxy_port);
    req[8] = (unsigned char)(target_port >> 8);
    req[9] = (unsigned char)target_port;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        describe(err, errlen, "socket");
        return -1;
    }
    set_timeouts(fd, timeout_s);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        describe(err, errlen, "connect to the proxy");
        goto fail;
    }
    if (send_all(fd, greet, sizeof greet) || recv_all(fd, ans, 2)) {
        describe(err, errlen, "SOCKS greeting");
        goto fail;
    }
    if (ans[0] != 5 || ans[1] != 0) {
        snprintf(err, errlen, "SOCKS greeting: answer %d %d", ans[0],
                 ans[1]);
        goto fail;
    }
    if (send_all(fd, req, sizeof req)) {
        describe(err, errlen, "SOCKS CONNECT");
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

/* Read the reply to a CONNECT; 0, or -1 with err set. */
static int socks_reply(int fd, char *err, size_t errlen)
{
    unsigned char ans[4];

    if (recv_all(fd, ans, 2)) {
        describe(err, errlen, "SOCKS CONNECT");
        return -1;
    }
    if (ans[0] != 5 || ans[1] != 0) {
        snprintf(err, errlen, "SOCKS CONNECT: reply code %d", ans[1]);
        return -1;
    }
    /* The rest of the reply: reserved, type, address, port. */
    if (recv_all(fd, ans + 2, 2)) {
        describe(err, errlen, "SOCKS CONNECT reply");
        return -1;
    }
    {
        size_t rest = ans[3] == 1 ? 6 : ans[3] == 4 ? 18 : 0;
        unsigned char skip[18];
        if (!rest) {
            snprintf(err, errlen, "SOCKS CONNECT reply: address type %d",
                     ans[3]);
            return -1;
        }
        if (recv_all(fd, skip, rest)) {
            describe(err, errlen, "SOCKS CONNECT reply");
            return -1;
        }
    }
    return 0;
}

/* Connect to the proxy and run a SOCKS5 no-auth CONNECT to
 * 127.0.0.1:target.  Returns the socket, or -1 with err set. */
static int socks_open(int proxy_port, int target_port, int timeout_s,
                      char *err, size_t errlen)
{
    int fd = socks_send_connect(proxy_port, target_port, timeout_s, err,
                                errlen);

    if (fd >= 0 && socks_reply(fd, err, errlen)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* --------------------------------------------------------------- rate */

struct rate_worker {
    pthread_t t;
    unsigned id;
    uint32_t *lat;              /* microseconds, counted connections */
    size_t nlat, caplat;
    long ok, fail;              /* counted (after the warm-up) */
    long total;                 /* every attempt */
    char err[200];
};

/* Send len bytes of data and read them back into buf; 0, or -1 with err
 * set. */
static int echo_once(int fd, const unsigned char *data, unsigned char *buf,
                     size_t len, char *err, size_t errlen)
{
    if (send_all(fd, data, len) || recv_all(fd, buf, len)) {
        describe(err, errlen, "echo");
        return -1;
    }
    if (memcmp(buf, data, len)) {
        snprintf(err, errlen, "echo: wrong data");
        return -1;
    }
    return 0;
}

/* Keep a latency sample (microseconds) in a growing array. */
static void add_sample(uint32_t **lat, size_t *n, size_t *cap, int64_t ns)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 4096;
        *lat = realloc(*lat, *cap * sizeof **lat);
        if (!*lat)
            die("realloc");
    }
    (*lat)[(*n)++] = (uint32_t)(ns / 1000);
}

static int r_proxy, r_target, r_bytes;
static int64_t r_start, r_warm, r_end;
static pthread_barrier_t r_barrier;

static void *rate_main(void *arg)
{
    struct rate_worker *w = arg;
    unsigned char *buf = malloc((size_t)r_bytes);
    unsigned iter = 0;

    pthread_barrier_wait(&r_barrier);
    while (now_ns() < r_end) {
        char err[200];
        const unsigned char *data = pattern_for(w->id * 131u + iter++);
        int64_t t0 = now_ns(), t1;
        int fd = socks_open(r_proxy, r_target, 10, err, sizeof err);

        if (fd >= 0 && echo_once(fd, data, buf, (size_t)r_bytes, err,
                                 sizeof err)) {
            close(fd);
            fd = -1;
        }
        t1 = now_ns();
        w->total++;
        if (fd < 0) {
            if (t1 >= r_warm && t1 < r_end) {
                if (!w->fail)
                    snprintf(w->err, sizeof w->err, "%s", err);
                w->fail++;
            }
            usleep(10000);      /* no spinning on a dead proxy */
            continue;
        }
        close(fd);
        if (t1 < r_warm || t1 >= r_end)
            continue;
        w->ok++;
        add_sample(&w->lat, &w->nlat, &w->caplat, t1 - t0);
    }
    free(buf);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int rate(int proxy, int target, int threads, double seconds,
                int bytes)
{
    struct rate_worker *w = calloc((size_t)threads, sizeof *w);
    double warm = seconds / 10 < 1 ? seconds / 10 : 1;
    uint32_t *all;
    size_t n = 0;
    long ok = 0, fail = 0, total = 0;
    const char *err = NULL;

    r_proxy = proxy;
    r_target = target;
    r_bytes = bytes;
    pthread_barrier_init(&r_barrier, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        w[i].id = (unsigned)i;
        if (pthread_create(&w[i].t, NULL, rate_main, &w[i]))
            die("pthread_create");
    }
    r_start = now_ns();
    r_warm = r_start + (int64_t)(warm * 1e9);
    r_end = r_start + (int64_t)(seconds * 1e9);
    pthread_barrier_wait(&r_barrier);
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].t, NULL);
        ok += w[i].ok;
        fail += w[i].fail;
        total += w[i].total;
        n += w[i].nlat;
        if (!err && w[i].fail)
            err = w[i].err;
    }
    all = malloc((n ? n : 1) * sizeof *all);
    n = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + n, w[i].lat, w[i].nlat * sizeof *all);
        n += w[i].nlat;
    }
    qsort(all, n, sizeof *all, cmp_u32);
    if (err)
        printf("error %s\n", err);
    printf("rate %ld %ld %.3f %u %u %ld\n", ok, fail, seconds - warm,
           n ? all[n / 2] : 0, n ? all[n * 99 / 100] : 0, total);
    fflush(stdout);
    return 0;
}

/* --------------------------------------------------------------- many */

struct many_conn {
    int fd;
    size_t sent, got;
    int done;                   /* 1: echoed whole; -1: failed */
    int64_t done_ns;            /* when the echo was complete */
};

static struct many_conn *m_conns;
static int m_count, m_proxy, m_target, m_timeout;
static int64_t m_open_end;      /* no new opens after this (0: none) */
static int m_next;              /* next connection to open [m_mu] */
static int m_skipped;           /* not tried: past m_open_end [m_mu] */
static int m_errors;            /* error lines printed [m_mu] */
static pthread_mutex_t m_mu = PTHREAD_MUTEX_INITIALIZER;

static void many_error(const char *text)
{
    pthread_mutex_lock(&m_mu);
    if (m_errors++ < 3)
        printf("error %s\n", text);
    pthread_mutex_unlock(&m_mu);
}

static void *opener_main(void *arg)
{
    (void)arg;
    for (;;) {
        char err[200];
        int i;

        pthread_mutex_lock(&m_mu);
        i = m_next++;
        if (i < m_count && m_open_end && now_ns() > m_open_end) {
            m_conns[i].fd = -1;
            m_conns[i].done = -1;
            m_skipped++;
            pthread_mutex_unlock(&m_mu);
            continue;
        }
        pthread_mutex_unlock(&m_mu);
        if (i >= m_count)
            return NULL;
        m_conns[i].fd = socks_open(m_proxy, m_target, m_timeout, err,
                                   sizeof err);
        if (m_conns[i].fd < 0) {
            m_conns[i].done = -1;
            many_error(err);
        }
    }
}

static void wait_line(void)
{
    char line[64];

    if (!fgets(line, sizeof line, stdin))
        return;
}

/* Close every open connection of the many test and say so. */
static void many_close(void)
{
    for (int i = 0; i < m_count; i++)
        if (m_conns[i].fd >= 0)
            close(m_conns[i].fd);
    printf("closed\n");
    fflush(stdout);
}

static int many(int proxy, int target, int count, int bytes, int parallel,
                int timeout, int open_seconds)
{
    pthread_t *t = calloc((size_t)parallel, sizeof *t);
    unsigned char *buf = malloc(ECHO_BUF);
    struct epoll_event ev, evs[256];
    int64_t t0, t1, deadline;
    int ok = 0, fail = 0, ep, left = 0;
    uint32_t p50, p90;

    raise_nofile();
    m_conns = calloc((size_t)count, sizeof *m_conns);
    m_count = count;
    m_proxy = proxy;
    m_target = target;
    m_timeout = timeout;
    t0 = now_ns();
    m_open_end = open_seconds ? t0 + (int64_t)open_seconds * 1000000000 : 0;
    for (int i = 0; i < parallel; i++)
        if (pthread_create(&t[i], NULL, opener_main, NULL))
            die("pthread_create");
    for (int i = 0; i < parallel; i++)
        pthread_join(t[i], NULL);
    t1 = now_ns();
    for (int i = 0; i < count; i++)
        ok += m_conns[i].fd >= 0;
    printf("opened %d %d %.3f %d\n", ok, count - ok, (t1 - t0) / 1e9,
           m_skipped);
    fflush(stdout);
    wait_line();
    if (bytes == 0) {
        many_close();
        return 0;
    }

    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    for (int i = 0; i < count; i++) {
        struct many_conn *c = &m_conns[i];
        if (c->fd < 0)
            continue;
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u32 = (uint32_t)i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl");
        left++;
    }
    t0 = now_ns();
    deadline = t0 + (int64_t)timeout * 1000000000;
    while (left > 0) {
        int64_t now = now_ns();
        int n;

        if (now >= deadline)
            break;
        n = epoll_wait(ep, evs, 256, (int)((deadline - now) / 1000000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int k = 0; k < n; k++) {
            unsigned i = evs[k].data.u32;
            struct many_conn *c = &m_conns[i];
            const unsigned char *data = pattern_for(i);
            char err[200];
            ssize_t r;

            if (c->done)
                continue;
            if (c->sent < (size_t)bytes && (evs[k].events & EPOLLOUT)) {
                r = send(c->fd, data + c->sent, (size_t)bytes - c->sent,
                         MSG_NOSIGNAL);
                if (r < 0 && errno != EAGAIN) {
                    describe(err, sizeof err, "send");
                    goto failed;
                }
                if (r > 0 && (c->sent += (size_t)r) == (size_t)bytes) {
                    ev.events = EPOLLIN;
                    ev.data.u32 = i;
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            while (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                r = recv(c->fd, buf, ECHO_BUF, 0);
                if (r < 0 && errno == EAGAIN)
                    break;
                if (r <= 0) {
                    describe(err, sizeof err, "echo");
                    goto failed;
                }
                if (c->got + (size_t)r > c->sent
                    || memcmp(buf, data + c->got, (size_t)r)) {
                    snprintf(err, sizeof err, "echo: wrong data");
                    goto failed;
                }
                c->got += (size_t)r;
                if (c->got == (size_t)bytes) {
                    c->done = 1;
                    c->done_ns = now_ns() - t0;
                    left--;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    break;
                }
            }
            continue;
failed:
            c->done = -1;
            left--;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            many_error(err);
        }
    }
    t1 = now_ns();
    ok = 0;
    {
        uint32_t *ms = malloc((size_t)count * sizeof *ms);
        for (int i = 0; i < count; i++)
            if (m_conns[i].done == 1)
                ms[ok++] = (uint32_t)(m_conns[i].done_ns / 1000000);
        qsort(ms, (size_t)ok, sizeof *ms, cmp_u32);
        p50 = ok ? ms[ok / 2] : 0;
        p90 = ok ? ms[ok * 9 / 10] : 0;
        free(ms);
    }
    fail = count - ok;
    if (left > 0) {
        char err[200];
        snprintf(err, sizeof err, "transfer: %d connections unfinished "
                 "after %d s", left, timeout);
        many_error(err);
    }
    printf("done %d %d %.3f %.3f %.3f\n", ok, fail, (t1 - t0) / 1e9,
           p50 / 1e3, p90 / 1e3);
    fflush(stdout);
    wait_line();
    many_close();
    return 0;
}

/* ---------------------------------------------------------- black hole */

struct hole_worker {
    pthread_t t;
    unsigned id;
    uint32_t *lat;              /* microseconds, healthy requests done */
    size_t nlat, caplat;
    long ok, fail;              /* healthy requests */
    long hole_fail;             /* hole requests not even sent */
    int *held;                  /* hole requests sent, kept open */
    size_t nheld, capheld;
    char err[200];
};

static int h_proxy, h_target, h_hole, h_bytes, h_timeout, h_every;
static long h_requests;
static int64_t h_end;           /* no new request after this */
static long h_next;             /* next request number [h_mu] */
static pthread_mutex_t h_mu = PTHREAD_MUTEX_INITIALIZER;

/* The next request number, or -1 when the count or the time is up. */
static long hole_next(void)
{
    long k;

    pthread_mutex_lock(&h_mu);
    k = h_next < h_requests && now_ns() < h_end ? h_next++ : -1;
    pthread_mutex_unlock(&h_mu);
    return k;
}

/* Send a CONNECT to the black hole and keep the socket, unanswered. */
static void hole_send(struct hole_worker *w)
{
    char err[150];
    int fd = socks_send_connect(h_proxy, h_hole, h_timeout, err, sizeof err);

    if (fd < 0) {
        if (!w->fail && !w->hole_fail)
            snprintf(w->err, sizeof w->err, "black hole request: %s", err);
        w->hole_fail++;
        return;
    }
    if (w->nheld == w->capheld) {
        w->capheld = w->capheld ? 2 * w->capheld : 64;
        w->held = realloc(w->held, w->capheld * sizeof *w->held);
        if (!w->held)
            die("realloc");
    }
    w->held[w->nheld++] = fd;
}

static void *hole_main(void *arg)
{
    struct hole_worker *w = arg;
    unsigned char *buf = malloc((size_t)h_bytes);
    long k;

    while ((k = hole_next()) >= 0) {
        const unsigned char *data = pattern_for((unsigned)k);
        char err[200];
        int64_t t0 = now_ns();
        int fd;

        if (k % h_every == h_every - 1) {
            hole_send(w);
            continue;
        }
        fd = socks_open(h_proxy, h_target, h_timeout, err, sizeof err);
        if (fd >= 0 && echo_once(fd, data, buf, (size_t)h_bytes, err,
                                 sizeof err)) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            if (!w->fail && !w->hole_fail)
                snprintf(w->err, sizeof w->err, "%s", err);
            w->fail++;
            continue;
        }
        close(fd);
        w->ok++;
        add_sample(&w->lat, &w->nlat, &w->caplat, now_ns() - t0);
    }
    free(buf);
    return NULL;
}

/* Close the held hole requests; returns how many had an answer. */
static long hole_close(struct hole_worker *w)
{
    long answered = 0;

    for (size_t i = 0; i < w->nheld; i++) {
        unsigned char c;
        answered += recv(w->held[i], &c, 1, MSG_DONTWAIT) == 1;
        close(w->held[i]);
    }
    return answered;
}

static int blackhole(int proxy, int target, int hole, int threads,
                     long requests, double seconds, int bytes, int timeout,
                     int every)
{
    struct hole_worker *w = calloc((size_t)threads, sizeof *w);
    long ok = 0, fail = 0, holes = 0, hole_fail = 0, answered = 0;
    int64_t t0 = now_ns();
    const char *err = NULL;
    uint32_t *all;
    size_t n = 0;

    h_proxy = proxy;
    h_target = target;
    h_hole = hole;
    h_bytes = bytes;
    h_timeout = timeout;
    h_every = every;
    h_requests = requests;
    h_end = t0 + (int64_t)(seconds * 1e9);
    for (int i = 0; i < threads; i++) {
        w[i].id = (unsigned)i;
        if (pthread_create(&w[i].t, NULL, hole_main, &w[i]))
            die("pthread_create");
    }
    for (int i = 0; i < threads; i++)
        pthread_join(w[i].t, NULL);
    all = malloc((size_t)(requests + 1) * sizeof *all);
    for (int i = 0; i < threads; i++) {
        ok += w[i].ok;
        fail += w[i].fail;
        holes += (long)w[i].nheld;
        hole_fail += w[i].hole_fail;
        answered += hole_close(&w[i]);
        if (!err && w[i].err[0])
            err = w[i].err;
        memcpy(all + n, w[i].lat, w[i].nlat * sizeof *all);
        n += w[i].nlat;
    }
    qsort(all, n, sizeof *all, cmp_u32);
    if (err)
        printf("error %s\n", err);
    printf("blackhole %ld %ld %ld %ld %ld %ld %.3f %u %u\n", ok, fail,
           holes, hole_fail, answered, requests - h_next,
           (now_ns() - t0) / 1e9, n ? all[n / 2] : 0,
           n ? all[n * 99 / 100] : 0);
    fflush(stdout);
    return 0;
}

/* ---------------------------------------------------------------- main */

static int arg_int(const char *s, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end || v < lo || v > hi) {
        fprintf(stderr, "socksload: bad number '%s'\n", s);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && !strcmp(argv[1], "echo"))
        return echo_main();
    make_pattern();
    if (argc == 7 && !strcmp(argv[1], "rate"))
        return rate(arg_int(argv[2], 1, 65535), arg_int(argv[3], 1, 65535),
                    arg_int(argv[4], 1, 1024), atof(argv[5]),
                    arg_int(argv[6], 1, MAX_BYTES));
    if ((argc == 8 || argc == 9) && !strcmp(argv[1], "many"))
        return many(arg_int(argv[2], 1, 65535), arg_int(argv[3], 1, 65535),
                    arg_int(argv[4], 1, 1000000),
                    arg_int(argv[5], 0, MAX_BYTES),
                    arg_int(argv[6], 1, 1024), arg_int(argv[7], 1, 3600),
                    argc == 9 ? arg_int(argv[8], 0, 3600) : 0);
    if (argc == 11 && !strcmp(argv[1], "blackhole"))
        return blackhole(arg_int(argv[2], 1, 65535),
                         arg_int(argv[3], 1, 65535),
                         arg_int(argv[4], 1, 65535), arg_int(argv[5], 1, 1024),
                         arg_int(argv[6], 1, 10000000), atof(argv[7]),
                         arg_int(argv[8], 1, MAX_BYTES),
                         arg_int(argv[9], 1, 3600),
                         arg_int(argv[10], 2, 1000));
    fprintf(stderr,
            "usage: socksload echo\n"
            "       socksload rate PROXY_PORT TARGET_PORT THREADS SECONDS "
            "BYTES\n"
            "       socksload many PROXY_PORT TARGET_PORT COUNT BYTES "
            "PARALLEL TIMEOUT [OPEN_SECONDS]\n"
            "       socksload blackhole PROXY_PORT TARGET_PORT HOLE_PORT "
            "THREADS REQUESTS SECONDS BYTES TIMEOUT EVERY\n");
    return 2;
}
