/*
 * bridge.c - a pair of file descriptors joined to one channel, as `ssh
 * -W` does: used by -W (forward_stdio.c), by the control socket's stdio
 * forwarding and by jump hosts (proxy.c, through lifecycle.c).
 *
 * Two threads, one per direction, in whole chunks.  Input EOF becomes
 * the channel's EOF and the reply still flows back; the channel's EOF
 * closes the output and, as with ssh -W, ends the bridge even if input is
 * still open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "engine/bridge.h"
#include "engine/channel.h"
#include "engine/session.h"

struct bridge {
    struct sshtun_channel *ch;
    int in_fd, out_fd;
    int out_error;
    int done_pipe[2];               /* channel finished: stop reading in_fd */
};

/* Channel -> out_fd; the channel's EOF closes out_fd. */
static void *channel_to_out(void *arg)
{
    struct bridge *sp = arg;
    struct chunk *k;
    int rc;

    while ((rc = channel_recv_chunk(sp->ch, &k, NULL)) == 1) {
        int bad = fdio_send_all(sp->out_fd, k->data + k->off,
                                   k->len - k->off);
        chunk_put(k);
        if (bad) {
            sp->out_error = errno;
            channel_abort(sp->ch);
            break;
        }
    }
    if (rc < 0 && rc != SSHTUN_ERR_CLOSED)
        sp->out_error = EPIPE;
    if (shutdown(sp->out_fd, SHUT_WR) < 0)
        close(sp->out_fd);
    /* As ssh -W: once the far side has ended, input no longer matters. */
    if (write(sp->done_pipe[1], "x", 1) < 0)
        channel_abort(sp->ch);
    return NULL;
}

/* in_fd -> channel; input EOF becomes the channel's EOF. */
static int in_to_channel(struct bridge *sp)
{
    for (;;) {
        struct chunk *k = chunk_get();
        ssize_t n;

        struct pollfd p[2] = { { .fd = sp->in_fd, .events = POLLIN },
                               { .fd = sp->done_pipe[0], .events = POLLIN } };

        if (!k)
            return SSHTUN_ERR_NOMEM;
        if (poll(p, 2, -1) < 0 && errno != EINTR) {
            chunk_put(k);
            return SSHTUN_ERR_IO;
        }
        if (p[1].revents) {
            chunk_put(k);
            return 0;               /* the channel ended first */
        }
        if (!p[0].revents) {
            chunk_put(k);
            continue;
        }
        n = read(sp->in_fd, k->data, CHUNK_SIZE);
        if (n < 0 && errno == EINTR) {
            chunk_put(k);
            continue;
        }
        if (n <= 0) {
            chunk_put(k);
            if (n == 0)
                return sshtun_shutdown(sp->ch) == 0 ? 0 : SSHTUN_ERR_CLOSED;
            channel_abort(sp->ch);
            return SSHTUN_ERR_IO;
        }
        k->len = (size_t)n;
        if (channel_send_chunk(sp->ch, k, NULL))
            return SSHTUN_ERR_CLOSED;
    }
}

/* Join in_fd/out_fd to an open channel until both sides end. */
int bridge_run(struct sshtun_channel *ch, int in_fd, int out_fd,
                      sshtun_error *err)
{
    struct bridge sp = { ch, in_fd, out_fd, 0, { -1, -1 } };
    pthread_t t;
    int rc;

    if (pipe2(sp.done_pipe, O_CLOEXEC) < 0) {
        rc = error_set(err, SSHTUN_ERR_IO, "pipe: %s", strerror(errno));
        if (shutdown(out_fd, SHUT_WR) < 0)
            close(out_fd);          /* as the channel's EOF would */
        return rc;
    }
    if ((rc = pthread_create(&t, NULL, channel_to_out, &sp))) {
        close(sp.done_pipe[0]);
        close(sp.done_pipe[1]);
        if (shutdown(out_fd, SHUT_WR) < 0)
            close(out_fd);
        return error_set(err, SSHTUN_ERR_NOMEM, "cannot start thread: %s",
                         strerror(rc));
    }
    rc = in_to_channel(&sp);
    pthread_join(t, NULL);
    close(sp.done_pipe[0]);
    close(sp.done_pipe[1]);
    if (!rc && sp.out_error)
        rc = SSHTUN_ERR_IO;
    /* The channel ended in error (session lost) rather than EOF? */
    pthread_mutex_lock(&ch->mu);
    if (!rc && !ch->in_eof && ch->err && ch->err != SSHTUN_ERR_CLOSED)
        rc = ch->err;
    if (rc)
        error_set(err, rc, "%s", ch->errmsg[0] ? ch->errmsg
                                             : sshtun_strerror(rc));
    pthread_mutex_unlock(&ch->mu);
    if (!rc)
        error_clear(err);
    return rc;
}

/* Open a channel to host:port on s and join in_fd/out_fd to it until
 * both sides end. */
int bridge_stdio(struct sshtun_session *s, const char *host, int port,
                 int in_fd, int out_fd, sshtun_error *err)
{
    struct sshtun_channel *ch;
    sshtun_error local;
    int rc;

    if (!err)
        err = &local;
    if (!s)
        return error_set(err, SSHTUN_ERR_INVAL, "no session");
    ch = sshtun_channel_open_direct(s, host, port, NULL, 0,
                                    s->opts->connect_timeout > 0
                                        ? s->opts->connect_timeout * 1000
                                        : 60000, err);
    if (!ch)
        return err->code;
    rc = bridge_run(ch, in_fd, out_fd, err);
    sshtun_close(ch);
    return rc;
}
