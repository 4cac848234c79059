/*
 * delayproxy.c - a TCP proxy that adds a fixed one-way latency, for
 * measuring how tunnels behave on a long path without leaving loopback.
 *
 * Usage: delayproxy LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
 *
 * It listens on 127.0.0.1:LISTEN_PORT (0 picks a free port) and prints
 * "listening on port N" once ready.  Each accepted connection is joined
 * to a new connection to TARGET_HOST:TARGET_PORT, and each direction is
 * forwarded by two threads: a reader that reads whatever is available
 * into a ring buffer and stamps the chunk with the time it is due
 * (arrival + DELAY_MS), and a writer that sleeps until the oldest chunk
 * is due and then writes every chunk due by then.  Data is never copied
 * between the sockets and the ring.  The ring is bounded (RING_BYTES per
 * direction): when it is full the reader stops reading and TCP flow
 * control pushes back on the sender, so the bandwidth-delay product the
 * proxy can carry is RING_BYTES per DELAY_MS (3.2 GB/s at 10 ms).  An EOF
 * is passed on as a half-close after the data before it; an error on
 * either side tears the whole connection down.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING_BYTES (32u * 1024 * 1024)  /* data buffered per direction */
#define MAX_MARKS 65536                 /* read chunks queued per direction */
#define MAX_READ (256 * 1024)           /* bytes per read() */

/* One read chunk in the ring: where it ends and when it is due. */
struct mark {
    uint64_t end;               /* stream offset just past the chunk */
    int64_t due_ns;             /* CLOCK_MONOTONIC time to deliver it */
};

struct connection;

/* One direction of a connection: from one socket to the other. */
struct direction {
    struct connection *conn;
    int from, to;
    unsigned char *ring;        /* RING_BYTES, indexed by offset % size */
    uint64_t read_off;          /* stream bytes read into the ring */
    uint64_t written_off;       /* stream bytes written out of it */
    struct mark *marks;         /* MAX_MARKS, a circular queue */
    unsigned marks_head, marks_count;
    int eof;                    /* the reader saw EOF */
    pthread_cond_t data_ready;  /* a mark was added, or eof, or dead */
    pthread_cond_t space_free;  /* bytes or marks were freed, or dead */
};

/* A proxied connection: client socket, target socket, two directions. */
struct connection {
    int client_fd, target_fd;
    pthread_mutex_t mu;         /* guards both directions and dead */
    int dead;                   /* an error: everything stops */
    struct direction up;        /* client -> target */
    struct direction down;      /* target -> client */
};

static const char *target_host;
static const char *target_port;
static int64_t delay_ns;

/* The monotonic clock in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep until the monotonic clock reaches when_ns. */
static void sleep_until(int64_t when_ns)
{
    struct timespec ts = { .tv_sec = when_ns / 1000000000,
                           .tv_nsec = when_ns % 1000000000 };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)
           == EINTR)
        ;
}

/* Mark the connection dead and wake every thread of it (mu held). */
static void kill_connection_locked(struct connection *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    shutdown(c->client_fd, SHUT_RDWR);
    shutdown(c->target_fd, SHUT_RDWR);
    pthread_cond_broadcast(&c->up.data_ready);
    pthread_cond_broadcast(&c->up.space_free);
    pthread_cond_broadcast(&c->down.data_ready);
    pthread_cond_broadcast(&c->down.space_free);
}

/* Reader thread: socket -> ring, stamping each chunk with its due time. */
static void *reader_main(void *arg)
{
    struct direction *d = arg;
    struct connection *c = d->conn;

    for (;;) {
        uint64_t pos;
        size_t room, n_max;
        ssize_t n;

        pthread_mutex_lock(&c->mu);
        while (!c->dead && (d->read_off - d->written_off == RING_BYTES
                            || d->marks_count == MAX_MARKS))
            pthread_cond_wait(&d->space_free, &c->mu);
        if (c->dead) {
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        pos = d->read_off % RING_BYTES;
        room = RING_BYTES - (size_t)(d->read_off - d->written_off);
        pthread_mutex_unlock(&c->mu);

        /* Only the reader moves read_off, so the free region is ours. */
        n_max = RING_BYTES - pos;       /* contiguous up to the ring's end */
        if (n_max > room)
            n_max = room;
        if (n_max > MAX_READ)
            n_max = MAX_READ;
        do
            n = recv(d->from, d->ring + pos, n_max, 0);
        while (n < 0 && errno == EINTR);

        pthread_mutex_lock(&c->mu);
        if (n <= 0) {
            if (n == 0 && !c->dead)
                d->eof = 1;
            else
                kill_connection_locked(c);
            pthread_cond_signal(&d->data_ready);
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        d->read_off += (uint64_t)n;
        d->marks[(d->marks_head + d->marks_count) % MAX_MARKS] =
            (struct mark){ .end = d->read_off, .due_ns = now_ns() + delay_ns };
        d->marks_count++;
        pthread_cond_signal(&d->data_ready);
        pthread_mutex_unlock(&c->mu);
    }
}

/* Writer thread: ring -> socket, each chunk once it is due. */
static void *writer_main(void *arg)
{
    struct direction *d = arg;
    struct connection *c = d->conn;

    for (;;) {
        int64_t due;
        uint64_t end;
        size_t pos, len;

        pthread_mutex_lock(&c->mu);
        while (!c->dead && d->marks_count == 0 && !d->eof)
            pthread_cond_wait(&d->data_ready, &c->mu);
        if (c->dead) {
            pthread_mutex_unlock(&c->mu);
            return NULL;
        }
        if (d->marks_count == 0) {      /* EOF after all the data */
            pthread_mutex_unlock(&c->mu);
            shutdown(d->to, SHUT_WR);
            return NULL;
        }
        due = d->marks[d->marks_head].due_ns;
        pthread_mutex_unlock(&c->mu);

        sleep_until(due);

        /* Everything due by now goes out in one write. */
        pthread_mutex_lock(&c->mu);
        end = d->marks[d->marks_head].end;
        {
            int64_t now = now_ns();
            unsigned i;
            for (i = 1; i < d->marks_count; i++) {
                const struct mark *m = &d->marks[(d->marks_head + i)
                                                 % MAX_MARKS];
                if (m->due_ns > now)
                    break;
                end = m->end;
            }
        }
        pthread_mutex_unlock(&c->mu);

        while (d->written_off < end) {
            ssize_t n;

            pos = d->written_off % RING_BYTES;
            len = (size_t)(end - d->written_off);
            if (len > RING_BYTES - pos)
                len = RING_BYTES - pos;
            n = send(d->to, d->ring + pos, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            pthread_mutex_lock(&c->mu);
            if (n <= 0) {
                kill_connection_locked(c);
                pthread_mutex_unlock(&c->mu);
                return NULL;
            }
            d->written_off += (uint64_t)n;
            while (d->marks_count
                   && d->marks[d->marks_head].end <= d->written_off) {
                d->marks_head = (d->marks_head + 1) % MAX_MARKS;
                d->marks_count--;
            }
            pthread_cond_signal(&d->space_free);
            pthread_mutex_unlock(&c->mu);
        }
    }
}

/* Set up one direction's buffers; returns 0 or -1. */
static int direction_init(struct direction *d, struct connection *c,
                          int from, int to)
{
    memset(d, 0, sizeof *d);
    d->conn = c;
    d->from = from;
    d->to = to;
    d->ring = malloc(RING_BYTES);
    d->marks = malloc(MAX_MARKS * sizeof *d->marks);
    pthread_cond_init(&d->data_ready, NULL);
    pthread_cond_init(&d->space_free, NULL);
    return d->ring && d->marks ? 0 : -1;
}

/* Release one direction's buffers. */
static void direction_free(struct direction *d)
{
    free(d->ring);
    free(d->marks);
    pthread_cond_destroy(&d->data_ready);
    pthread_cond_destroy(&d->space_free);
}

/* Connect to the target; returns a socket or -1. */
static int connect_target(void)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    int fd = -1, rc;

    rc = getaddrinfo(target_host, target_port, &hints, &res);
    if (rc) {
        fprintf(stderr, "delayproxy: %s: %s\n", target_host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "delayproxy: connect to %s port %s: %s\n",
                target_host, target_port, strerror(errno));
    return fd;
}

/* Turn off Nagle so small writes (1-byte round trips) are not held. */
static void set_nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Connection thread: connect, run the four forwarding threads, clean up. */
static void *connection_main(void *arg)
{
    static void *(*const thread_main[4])(void *) = {
        reader_main, writer_main, reader_main, writer_main };
    struct connection *c = arg;
    struct direction *thread_dir[4] = { &c->up, &c->up, &c->down, &c->down };
    pthread_t threads[4];
    int started = 0, ok;

    c->target_fd = connect_target();
    if (c->target_fd < 0) {
        close(c->client_fd);
        free(c);
        return NULL;
    }
    set_nodelay(c->client_fd);
    set_nodelay(c->target_fd);
    pthread_mutex_init(&c->mu, NULL);
    ok = direction_init(&c->up, c, c->client_fd, c->target_fd) == 0;
    ok = direction_init(&c->down, c, c->target_fd, c->client_fd) == 0 && ok;
    while (ok && started < 4
           && pthread_create(&threads[started], NULL, thread_main[started],
                             thread_dir[started]) == 0)
        started++;
    if (started < 4) {
        fprintf(stderr, "delayproxy: out of memory or threads\n");
        pthread_mutex_lock(&c->mu);
        kill_connection_locked(c);
        pthread_mutex_unlock(&c->mu);
    }
    while (started > 0)
        pthread_join(threads[--started], NULL);
    close(c->client_fd);
    close(c->target_fd);
    direction_free(&c->up);
    direction_free(&c->down);
    pthread_mutex_destroy(&c->mu);
    free(c);
    return NULL;
}

/* Listen on 127.0.0.1:port; returns the socket, exits on failure. */
static int listen_loopback(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0
        || listen(fd, 128) < 0
        || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        fprintf(stderr, "delayproxy: listen on 127.0.0.1 port %d: %s\n",
                port, strerror(errno));
        exit(1);
    }
    printf("listening on port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

/* Parse a non-negative decimal argument or exit with usage. */
static long parse_number(const char *s, long max, const char *what)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < 0 || n > max) {
        fprintf(stderr, "delayproxy: bad %s '%s'\n", what, s);
        exit(2);
    }
    return n;
}

/* Accept connections forever, one detached thread each. */
int main(int argc, char **argv)
{
    pthread_attr_t attr;
    int lfd;

    if (argc != 5) {
        fprintf(stderr, "usage: delayproxy LISTEN_PORT TARGET_HOST "
                "TARGET_PORT DELAY_MS\n");
        return 2;
    }
    lfd = listen_loopback((int)parse_number(argv[1], 65535, "port"));
    target_host = argv[2];
    target_port = argv[3];
    parse_number(argv[3], 65535, "target port");
    delay_ns = parse_number(argv[4], 60000, "delay") * 1000000LL;
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

    for (;;) {
        struct connection *c;
        pthread_t t;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                usleep(10000);          /* let connections end first */
                continue;
            }
            perror("delayproxy: accept");
            return 1;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->client_fd = fd;
        c->target_fd = -1;
        if (pthread_create(&t, &attr, connection_main, c)) {
            close(fd);
            free(c);
        }
    }
}
