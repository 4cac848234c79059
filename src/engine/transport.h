/*
 * transport.h - the session's TCP socket: connecting with a deadline, the
 * send buffer libssh2 writes into, and waiting on the socket.
 *
 * libssh2 1.10 fails every later send on a session with BAD_USE while one
 * packet is half sent, so libssh2 never sees a short write: our send
 * callback takes every byte into an application buffer and the I/O thread
 * flushes it when the socket is writable.  Channel writers stop above
 * OUTBUF_HIGH so the buffer stays bounded.
 */
#ifndef SSHTUN_TRANSPORT_H
#define SSHTUN_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sshtun.h"

#define OUTBUF_HIGH (256 * 1024)

/* libssh2 1.10 reads the socket 16 KiB at a time; while the I/O loop
 * serves (rx_paced), the receive hook reads this much at once and hands
 * it over in libssh2's pieces: an eighth of the syscalls. */
#define TRANSPORT_RX_AHEAD (128 * 1024)

struct transport {
    unsigned char *data;
    size_t off;                     /* first unsent byte */
    size_t len;                     /* end of buffered bytes */
    size_t cap;
    int fd;
    int error;                      /* errno of a failed send, sticky */
    int closing;                    /* make libssh2 see EOF (teardown) */
    int64_t last_rx_ms;             /* when the server last sent anything */
    uint64_t rx_bytes;              /* handed to libssh2 in all (progress
                                       check) */
    int rx_paced;                   /* recv takes at most rx_budget more */
    size_t rx_budget;               /* bytes left for this pass, if paced */
    unsigned char *rx;              /* read ahead from the socket (paced) */
    size_t rx_off, rx_len;          /* its unread part: rx[rx_off, rx_len) */
    void *owner;                    /* the session, for libssh2 callbacks */
};

/* Resolve host and connect a TCP socket (non-blocking on return) before
 * deadline_ms (clock_now_ms() based; 0: no deadline).  family: AF_UNSPEC,
 * AF_INET or AF_INET6.  Returns 0 with *fd set, or an error with err and
 * *sys_errno (may be NULL) set to the connect's errno. */
int transport_connect(const char *host, int port, int family,
                      int64_t deadline_ms, int *fd, int *sys_errno,
                      sshtun_error *err);

/* The LIBSSH2_CALLBACK_SEND hook; *abstract is the struct transport. */
ssize_t transport_send_cb(int sock, const void *buf, size_t len, int flags,
                          void **abstract);

/* The LIBSSH2_CALLBACK_RECV hook: recv() (ahead, into rx, while paced),
 * or EOF once closing is set so that libssh2 stops waiting for a peer we
 * are leaving. */
ssize_t transport_recv_cb(int sock, void *buf, size_t len, int flags,
                          void **abstract);

/* Unsent bytes in the buffer. */
size_t transport_pending(const struct transport *ob);

/* Bytes read ahead from the socket that libssh2 has not taken yet (poll()
 * cannot see them: the socket counts as readable while there are any). */
size_t transport_rx_buffered(const struct transport *t);

/* Write buffered bytes until done or EAGAIN.  Returns 0, or -1 with
 * ob->error set when the socket failed. */
int transport_flush(struct transport *ob);

void transport_free(struct transport *ob);

#endif
