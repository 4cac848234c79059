/*
 * conn_io.h - what only a connection's I/O thread touches: its socket,
 * libssh2 session, channel list, the open in flight, remote listeners,
 * liveness probes and proxies.
 *
 * No lock guards it: only the I/O thread reads or writes it.  The files
 * that run on that thread include this header: iothread.c (the loop),
 * connect.c (connecting and teardown), chanio.c (each channel's data),
 * remote.c (the I/O side of remote listeners) and proxy.c.
 */
#ifndef SSHTUN_CONN_IO_H
#define SSHTUN_CONN_IO_H

#include <libssh2.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/transport.h"

struct sshtun_channel;
struct sshtun_listener;
struct sshtun_session;

/* The largest packet we accept: OpenSSH's sshd takes 32768. */
#define IO_MAX_PACKET 32768

/* How much a pass of the I/O loop reads from the server: a slice for
 * each channel read in the last pass (at most IO_RX_SLICES), and a fresh
 * slice for each channel after the first that reads in this one (see
 * serve_inbound in chanio.c).  libssh2
 * reads and decrypts everything the socket holds before a channel read
 * returns any of it, and the window is granted back only after that: a
 * burst of a whole window (several MiB over a long path) would hold back
 * the grant by the time to decrypt it, stretching every round trip.  In
 * slices, the grant for the first bytes goes out while the rest waits;
 * a slice per busy channel keeps each channel's share of a pass (and so
 * what its writer is woken for) as large with many as with one. */
#define IO_RX_SLICE (256 * 1024)
#define IO_RX_SLICES 8

struct conn_io {
    int sock;
    LIBSSH2_SESSION *ssh;
    struct transport out;
    struct sshtun_channel *channels;    /* open or closing, served each pass */
    struct sshtun_channel *opening;     /* the open in flight, if any */
    int64_t next_deadline;          /* the earliest channel flush or close
                                       deadline the last pass saw (0: none) */
    int readers;                    /* channels the pass read data for */
    int stuck_told;                     /* the pool knows it is slow */
    struct sshtun_listener *listeners;  /* remote listeners, in order */
    LIBSSH2_CHANNEL *pump;              /* idle channel that lets us read */
    int alive_pending;                  /* liveness probe awaiting reply */
    int64_t alive_sent_ms;              /* when the last probe went out */
    int probed;                         /* a probe went out since the
                                           server last sent anything */
    int probe_wanted;                   /* send a probe open next */
    int probing;                        /* a probe open is in flight */
    int64_t idle_since;                 /* no channel since (0: busy) */
    char lost_msg[256];                 /* why the loop gave up, if known */

    /* Proxies (proxy.c). */
    pid_t proxy_pid;                    /* ProxyCommand, or 0 */
    struct sshtun_session *jump;        /* ProxyJump's previous hop */
    pthread_t bridge;                   /* jump channel <-> socketpair */
    int bridge_fd;                      /* our end for the bridge, or -1 */
};

#endif
