/*
 * socks_server.h - the SOCKS server side shared by `-D` (clients on local
 * sockets) and remote dynamic forwarding `-R port` (clients arriving as
 * channels): configuration, the handshake loop with its deadline, and the
 * reply codes for failures.  The byte-level protocol is socks.c; this
 * module moves bytes through a small I/O interface so it does not care
 * whether they come from a socket or a channel.
 */
#ifndef SSHTUN_SOCKS_SERVER_H
#define SSHTUN_SOCKS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "config/allowlist.h"
#include "config/permitopen.h"
#include "socks/socks.h"
#include "socks/socks_auth.h"
#include "socks/socks_throttle.h"
#include "sshtun.h"

struct socks_cfg {
    struct socks_creds creds;       /* n == 0: no authentication */
    struct socks_throttle *throttle;    /* with creds: failed passwords */
    struct allowlist allow;
    struct permitopen permit;       /* PermitRemoteOpen (-R port only) */
    int timeout_ms;
};

/* Counters a forward keeps (atomic adds; NULL in socks_io: none). */
struct socks_counters {
    uint64_t replies[9];            /* by SOCKS5 reply code 0..8 */
    uint64_t handshakes_timed_out;
};

/* Where the client's bytes come from and go to. */
struct socks_io {
    /* Up to len bytes before deadline_ms (clock_now_ms based): >0 bytes, 0 at
     * EOF, -1 on error, -2 on timeout. */
    long (*recv)(void *ctx, unsigned char *buf, size_t len,
                 int64_t deadline_ms);
    /* All of buf: 0, or -1. */
    int (*send)(void *ctx, const unsigned char *buf, size_t len);
    void *ctx;
    const char *peer;               /* for log lines */
    struct socks_counters *counters;    /* may be NULL */
    const char *addr;               /* the client's address (no port), for
                                       counting failed passwords; NULL
                                       if unknown */
};

/* socks_io recv for a socket: ctx points to the fd.  Waits in poll()
 * until the deadline, whatever signals interrupt it. */
long socks_server_fd_recv(void *ctx, unsigned char *buf, size_t len,
                          int64_t deadline_ms);

/* Build the configuration from the options (SocksAuthFile, SocksAllow,
 * SocksTimeout; PermitRemoteOpen only if remote is set, since ssh applies
 * it to `-R port` alone).  Returns 0 or an error with err. */
int socks_server_cfg_load(struct socks_cfg *cfg, const sshtun_options *o,
                          int remote, sshtun_error *err);
void socks_server_cfg_free(struct socks_cfg *cfg);

/* Run the handshake to a decoded request within the timeout, answering
 * and logging failures.  Returns 0 with sk holding the request, or -1. */
int socks_server_handshake(const struct socks_io *io,
                           const struct socks_cfg *cfg, struct socks *sk,
                           const sshtun_options *o);

/* Check the request against SocksAllow and PermitRemoteOpen; refuse it
 * (reply 0x02, log) if not allowed.  Returns 1 if allowed. */
int socks_server_check_allowed(const struct socks_io *io,
                               const struct socks_cfg *cfg, const struct socks *sk,
                               const sshtun_options *o);

/* Send the final reply for code; 0 or -1. */
int socks_server_send_reply(const struct socks_io *io, const struct socks *sk,
                            enum socks5_reply code);

/* The reply for a failed channel open (SSHTUN_ERR_* code). */
enum socks5_reply socks_server_reply_for_open_error(int code);

/* The reply for a failed local connect (errno, or SSHTUN_ERR_RESOLVE /
 * _TIMEOUT as negative codes). */
enum socks5_reply socks_server_reply_for_connect_error(int code, int sys_errno);

#endif
