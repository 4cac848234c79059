/*
 * sshtun.h - SSH tunnels as a C library.
 *
 * A session is a small pool of SSH connections to one server (usually
 * one), each owned by an I/O thread that alone talks to libssh2 for it.
 * On a session you open channels ("direct-tcpip": the server connects
 * to host:port for you) and send/recv on them from any
 * thread, like on a socket, or you start whole forwards (`ssh -L`) that
 * run by themselves.  Every call that can fail returns a negative
 * SSHTUN_ERR_* code and, where it takes one, fills an sshtun_error with a
 * message saying what went wrong and, for refused channels, the server's
 * reason.  The library never prints and never exits; log lines go to the
 * callback you set in the options.
 *
 * Ownership: handles returned by the _new, _open and _connect calls belong to the
 * caller until passed to the matching _free or _close call.  Strings passed in
 * are copied; strings returned are owned by the library and valid until the
 * handle they came from is freed.
 */
#ifndef SSHTUN_H
#define SSHTUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SSHTUN_VERSION "0.2.0"
/* The version as a number, 0xMMmmpp: compare with >= in #if. */
#define SSHTUN_VERSION_NUM 0x000200

/* The version of the library actually loaded ("0.2.0"), which may be
 * newer than the header a program was built with. */
const char *sshtun_version(void);

/* Error codes: always negative; 0 means success. */
enum sshtun_err {
    SSHTUN_OK = 0,
    SSHTUN_ERR_INVAL = -1,            /* bad argument or option value */
    SSHTUN_ERR_NOMEM = -2,            /* out of memory */
    SSHTUN_ERR_RESOLVE = -3,          /* host name could not be resolved */
    SSHTUN_ERR_CONNECT = -4,          /* TCP connect to the server failed */
    SSHTUN_ERR_TIMEOUT = -5,          /* deadline passed */
    SSHTUN_ERR_HANDSHAKE = -6,        /* SSH key exchange failed */
    SSHTUN_ERR_HOSTKEY_UNKNOWN = -7,  /* host key not in known_hosts */
    SSHTUN_ERR_HOSTKEY_CHANGED = -8,  /* host key differs from known_hosts */
    SSHTUN_ERR_AUTH = -9,             /* no authentication method worked */
    SSHTUN_ERR_PROHIBITED = -10,      /* open failed: administratively prohibited */
    SSHTUN_ERR_CONNECT_FAILED = -11,  /* open failed: server could not connect */
    SSHTUN_ERR_UNKNOWN_TYPE = -12,    /* open failed: unknown channel type */
    SSHTUN_ERR_RESOURCE = -13,        /* open failed: resource shortage */
    SSHTUN_ERR_OPEN_FAILED = -14,     /* open failed: other reason */
    SSHTUN_ERR_CLOSED = -15,          /* channel or session is closed */
    SSHTUN_ERR_SESSION = -16,         /* session lost (I/O or protocol error) */
    SSHTUN_ERR_BIND = -17,            /* a local listener could not bind */
    SSHTUN_ERR_IO = -18,              /* local socket or file error */
    SSHTUN_ERR_UNSUPPORTED = -19,     /* not possible with this engine */
    SSHTUN_ERR_KEY = -20              /* a key file could not be used */
};

/* Filled by calls that can fail: the code and a one-line message. */
typedef struct sshtun_error {
    int code;
    char msg[512];
} sshtun_error;

/* Short fixed description of an error code (never NULL). */
const char *sshtun_strerror(int code);

/* Call once, before any other thread of the program starts. */
int sshtun_global_init(void);
void sshtun_global_cleanup(void);

/* ---------------------------------------------------------------- options */

typedef struct sshtun_options sshtun_options;

/* Log levels, as ssh's LogLevel. */
enum sshtun_log_level {
    SSHTUN_LOG_QUIET = 0,
    SSHTUN_LOG_ERROR = 1,
    SSHTUN_LOG_INFO = 2,
    SSHTUN_LOG_VERBOSE = 3,
    SSHTUN_LOG_DEBUG = 4,
    SSHTUN_LOG_DEBUG2 = 5,
    SSHTUN_LOG_DEBUG3 = 6
};

/* Receives every log line at or below the options' LogLevel; called from
 * any library thread, so it must be thread-safe.  msg has no newline. */
typedef void (*sshtun_log_fn)(int level, const char *msg, void *user);

/* Asked for a key's passphrase; writes at most size-1 bytes and a NUL into
 * buf.  Returns 0, or -1 to give up on that key.  May be called from the
 * session's I/O thread during sshtun_session_connect. */
typedef int (*sshtun_passphrase_fn)(const char *prompt, char *buf,
                                    size_t size, void *user);

/* New options with ssh's defaults.  Free with sshtun_options_free. */
sshtun_options *sshtun_options_new(void);
void sshtun_options_free(sshtun_options *opts);

/* Set one option by its ssh_config keyword (case-insensitive), e.g.
 * ("Port", "2222"), ("StrictHostKeyChecking", "accept-new").  OpenSSH
 * keywords that mean nothing for tunnels (ForwardAgent, ControlMaster,
 * Compression ...) are accepted and ignored; unknown ones are errors.  The first
 * value set wins, as in ssh_config, except for keywords that accumulate
 * (IdentityFile, LocalForward, RemoteForward, DynamicForward,
 * SocksAllow).  Returns 0 or SSHTUN_ERR_INVAL with err naming the keyword
 * and the bad value. */
int sshtun_options_set(sshtun_options *opts, const char *keyword,
                       const char *value, sshtun_error *err);

/* Parse one "Keyword=value" or "Keyword value" string, as `ssh -o`. */
int sshtun_options_parse(sshtun_options *opts, const char *line,
                         sshtun_error *err);

/* Current value of a text or list keyword (HostName, User, Ciphers,
 * IdentityFile, LocalForward ...), or NULL if unset, unknown, or a number
 * or yes/no keyword.  For lists, index selects the entry (0...). */
const char *sshtun_options_get(const sshtun_options *opts,
                               const char *keyword, int index);

/* Read ssh_config for the destination host (as given by the user): the
 * file named (as `ssh -F`; "none" or "/dev/null" for none), or NULL for
 * ~/.ssh/config then /etc/ssh/ssh_config.  Values already set win, so set
 * command-line options first.  Afterwards HostName defaults to host.
 * Returns 0, or an error naming file:line. */
int sshtun_options_apply_config(sshtun_options *opts, const char *file,
                                const char *host, sshtun_error *err);

/* Offer a private key held in memory (the text of an OpenSSH or PEM
 * ed25519/ECDSA key file; encrypted ones ask the passphrase callback),
 * tried after the agent and before identity files.  The text is copied
 * (and wiped when the options are freed).  Returns 0 or an error. */
int sshtun_options_add_identity(sshtun_options *opts, const char *key,
                                sshtun_error *err);

void sshtun_options_set_log(sshtun_options *opts, sshtun_log_fn fn,
                            void *user);
void sshtun_options_set_passphrase(sshtun_options *opts,
                                   sshtun_passphrase_fn fn, void *user);

/* ---------------------------------------------------------------- session */

typedef struct sshtun_session sshtun_session;

/* Connect to the host named by the options (HostName, Port, User ...),
 * verify its host key against known_hosts, authenticate, and start the
 * session's I/O thread.  Blocks until done or failed (ConnectTimeout bounds
 * connect plus handshake).  The options are copied; the caller keeps them.
 * Returns the session, or NULL with err filled. */
sshtun_session *sshtun_session_connect(const sshtun_options *opts,
                                       sshtun_error *err);

/* How many SSH connections carry the session now (its pool: see
 * PoolMin/PoolMax in sshtun(1)); a negative error for a NULL session. */
int sshtun_session_connections(sshtun_session *s);

/* 1 while the session is up, 0 once lost or closed. */
int sshtun_session_alive(sshtun_session *s);

/* Block until the session is lost or timeout_ms passes (-1: forever).
 * Returns 0 if lost/closed, SSHTUN_ERR_TIMEOUT otherwise. */
int sshtun_session_wait(sshtun_session *s, int timeout_ms);

/* Why the session ended or the last session-level error, as text. */
const char *sshtun_session_last_error(sshtun_session *s);

/* Close the session: data already handed to channels is sent first (for
 * at most 2 s), then every channel is closed (their blocked calls return
 * SSHTUN_ERR_CLOSED), forwards stop, the connection is closed and the
 * handle freed.  Channel handles still held by the caller stay valid until
 * sshtun_close.  Bounded in time. */
void sshtun_session_close(sshtun_session *s);

/* ---------------------------------------------------------------- channels */

typedef struct sshtun_channel sshtun_channel;

/* Ask the server to connect to host:port ("direct-tcpip"), reporting
 * orig_host:orig_port as the originator (NULL/0: "127.0.0.1":0).  Blocks
 * until the server answers or timeout_ms passes (-1: forever).  Returns the
 * channel, or NULL with err: SSHTUN_ERR_CONNECT_FAILED,
 * SSHTUN_ERR_PROHIBITED, ... and the server's reason in err->msg.
 * Thread-safe. */
sshtun_channel *sshtun_channel_open_direct(sshtun_session *s,
                                           const char *host, int port,
                                           const char *orig_host,
                                           int orig_port, int timeout_ms,
                                           sshtun_error *err);

/* As sshtun_channel_open_direct, to a Unix socket on the server
 * ("direct-streamlocal@openssh.com", OpenSSH's extension); needs the
 * server's AllowStreamLocalForwarding. */
sshtun_channel *sshtun_channel_open_streamlocal(sshtun_session *s,
                                                const char *path,
                                                int timeout_ms,
                                                sshtun_error *err);

/* Queue len bytes for sending.  Blocks while the channel's outbound
 * mailbox is full (the server's window is closed).  Returns len, the bytes
 * queued before timeout_ms passed (-1: forever), or a negative error
 * (SSHTUN_ERR_TIMEOUT if nothing was queued, SSHTUN_ERR_CLOSED after
 * sshtun_shutdown or when the channel is gone).  buf stays the caller's. */
ssize_t sshtun_send(sshtun_channel *ch, const void *buf, size_t len,
                    int timeout_ms);

/* Receive up to len bytes.  Blocks until data arrives, the server sends EOF
 * (returns 0, and 0 again on every later call), an error, or timeout_ms
 * passes (-1: forever; returns SSHTUN_ERR_TIMEOUT).  Several threads may
 * wait; they are served in arrival order. */
ssize_t sshtun_recv(sshtun_channel *ch, void *buf, size_t len,
                    int timeout_ms);

/* Half-close: send EOF after the data already queued.  recv still works. */
int sshtun_shutdown(sshtun_channel *ch);

/* Close the channel and free the handle (the handle is invalid after).
 * Threads blocked on it return SSHTUN_ERR_CLOSED first.  Never blocks on
 * the server: the SSH close completes in the background, bounded. */
void sshtun_close(sshtun_channel *ch);

/* Text of the channel's last error (open failure reason, ...), or "". */
const char *sshtun_channel_last_error(sshtun_channel *ch);

/* ---------------------------------------------------------------- remote */

typedef struct sshtun_listener sshtun_listener;

/* Ask the server to listen on bind:port ("tcpip-forward"; bind NULL, ""
 * or "*" for all its addresses, port 0 to let it pick) and wait for its
 * answer.  *bound_port (may be NULL) gets the port it listens on.
 * Returns the listener, or NULL with err (SSHTUN_ERR_PROHIBITED when the
 * server refuses, e.g. AllowTcpForwarding or a port in use). */
sshtun_listener *sshtun_listen_remote(sshtun_session *s, const char *bind,
                                      int port, int *bound_port,
                                      sshtun_error *err);

/* Take the next connection made to the server's port, as a channel with
 * the same send/recv/shutdown/close as direct ones.  Waits up to
 * timeout_ms (-1: forever).  The caller owns the channel.  libssh2 1.10
 * does not report the originator's address.  Thread-safe. */
sshtun_channel *sshtun_accept(sshtun_listener *l, int timeout_ms,
                              sshtun_error *err);

/* The port the server listens on for l. */
int sshtun_listener_port(sshtun_listener *l);

/* Cancel the forward on the server and free the handle; channels already
 * accepted stay the caller's.  Blocked sshtun_accept calls return. */
void sshtun_listener_close(sshtun_listener *l);

/* ---------------------------------------------------------------- forwards */

typedef struct sshtun_forward sshtun_forward;

/* Start a local forward as `ssh -L spec` where spec is
 * "[bind_address:]port:host:hostport" (IPv6 in brackets).  Listens at once
 * (default bind: 127.0.0.1 and ::1) and serves every client in its own
 * reader/writer threads until sshtun_forward_close or the session ends.
 * Returns the forward, or NULL with err (SSHTUN_ERR_INVAL for a bad spec,
 * SSHTUN_ERR_BIND when the port cannot be bound). */
sshtun_forward *sshtun_forward_local(sshtun_session *s, const char *spec,
                                     sshtun_error *err);

/* Start a SOCKS4/4a/5 proxy as `ssh -D spec`, spec "[bind_address:]port":
 * each CONNECT request becomes a direct-tcpip channel (names are resolved
 * by the server).  Uses the session's SocksAuthFile, SocksAllow and
 * SocksTimeout options.  Failures get the SOCKS reply that says why.
 * Returns the forward, or NULL with err (SSHTUN_ERR_INVAL for a bad spec
 * or credentials file, SSHTUN_ERR_BIND ...). */
sshtun_forward *sshtun_forward_dynamic(sshtun_session *s, const char *spec,
                                       sshtun_error *err);

/* As `ssh -W host:port`: open a direct-tcpip channel to host:port and
 * copy in_fd to it and it to out_fd (descriptors may be sockets, pipes or
 * files; they stay the caller's, except that out_fd is shut down or
 * closed at the channel's EOF).  Blocks until the channel's EOF has been
 * written to out_fd (as ssh -W, even if in_fd is still open).
 * Returns 0, or the open failure (SSHTUN_ERR_CONNECT_FAILED ...) or
 * SSHTUN_ERR_IO/_SESSION with err. */
int sshtun_forward_stdio(sshtun_session *s, const char *host, int port,
                         int in_fd, int out_fd, sshtun_error *err);

/* Start a remote forward as `ssh -R spec`: the server listens on
 * "[bind_address:]port" (its loopback by default; port 0: it picks, see
 * sshtun_forward_port) and each connection to it is joined to a new TCP
 * connection made from here to host:hostport.  With no host:hostport the
 * server side gets a SOCKS4/4a/5 proxy whose connections are made from
 * here (SocksAuthFile, SocksAllow, SocksTimeout apply).  Returns the
 * forward, or NULL with err (SSHTUN_ERR_PROHIBITED if the server refuses). */
sshtun_forward *sshtun_forward_remote(sshtun_session *s, const char *spec,
                                      sshtun_error *err);

/* The first TCP port the forward listens on (useful with port 0). */
int sshtun_forward_port(sshtun_forward *f);

/* Stop listening, close its connections, join its threads and free.
 * Call it once for every forward you started, before, during (from
 * another thread) or after sshtun_session_close, which stops forwards
 * but leaves their handles valid until this call. */
void sshtun_forward_close(sshtun_forward *f);

/* Start every forward listed in the session's options (LocalForward,
 * RemoteForward and DynamicForward, as set by `-L`, `-R`, `-D` or -o).
 * With ExitOnForwardFailure=yes the first failure is
 * returned; otherwise failures are logged and the rest go on.  Returns 0,
 * or the error, with err filled. */
int sshtun_session_start_forwards(sshtun_session *s, sshtun_error *err);

/* ---------------------------------------------------------------- statistics */

/* Both statistics structs can grow: set size to sizeof the struct you
 * have before the call; the library fills at most that many bytes and
 * sets version to the layout it filled (SSHTUN_STATS_VERSION). */
#define SSHTUN_STATS_VERSION 1

struct sshtun_session_stats {
    size_t size;                    /* in: sizeof(struct sshtun_session_stats) */
    unsigned version;               /* out: SSHTUN_STATS_VERSION */
    int up;                         /* 1 while connected, 0 otherwise */
    int64_t up_since;               /* Unix time the connection came up
                                       (the last reconnect), 0 if down */
    uint64_t reconnects;            /* successful reconnects so far */
    int64_t keepalive_rtt_ms;       /* last ServerAlive round trip, -1 if
                                       none measured yet */
    uint64_t bytes_in;              /* channel data received, all channels */
    uint64_t bytes_out;             /* channel data sent, all channels */
    int connections_up;             /* SSH connections up now */
    int64_t retry_in_ms;            /* reconnecting: time to the next
                                       attempt; -1 otherwise */
    char status[256];               /* reconnecting: why; else "" */
};

/* Fill st with the session's statistics (cheap: counters are read, not
 * locked).  Returns 0, or SSHTUN_ERR_INVAL for a NULL or too-small st. */
int sshtun_session_stats(sshtun_session *s,
                         struct sshtun_session_stats *st);

/* Why channel opens of a forward failed (index of open_failed[]). */
enum sshtun_open_failure {
    SSHTUN_OPEN_PROHIBITED = 0,     /* administratively prohibited */
    SSHTUN_OPEN_CONNECT_FAILED = 1, /* the target refused or is unreachable */
    SSHTUN_OPEN_UNKNOWN_TYPE = 2,
    SSHTUN_OPEN_RESOURCE = 3,       /* resource shortage */
    SSHTUN_OPEN_TIMEOUT = 4,        /* no answer in time */
    SSHTUN_OPEN_OTHER = 5,          /* anything else, session lost included */
    SSHTUN_OPEN_FAILURE_KINDS = 6
};

struct sshtun_forward_stats {
    size_t size;                    /* in: sizeof(struct sshtun_forward_stats) */
    unsigned version;               /* out: SSHTUN_STATS_VERSION */
    char kind[16];                  /* "local", "dynamic", "remote",
                                       "remote dynamic" */
    char spec[320];                 /* the spec it was started with */
    int port;                       /* as sshtun_forward_port */
    uint64_t conns_open;            /* connections open now */
    uint64_t conns_total;           /* connections accepted in total */
    uint64_t bytes_up;              /* from clients towards targets */
    uint64_t bytes_down;            /* from targets to clients */
    uint64_t open_failed[SSHTUN_OPEN_FAILURE_KINDS];
    uint64_t socks_replies[9];      /* SOCKS replies sent, by SOCKS5 code
                                       (0 succeeded ... 8 address type not
                                       supported; SOCKS4 clients counted by
                                       the code they were mapped from) */
    uint64_t handshakes_timed_out;  /* SOCKS handshakes past SocksTimeout */
    uint64_t stalled;               /* connections now whose reader is not
                                       taking data (inbound queue full) */
    uint64_t queued_bytes;          /* bytes now queued in its channels,
                                       both ways */
    uint64_t stalled_window;        /* what the server may still send to
                                       the stalled ones (their read
                                       windows, summed) */
};

/* Fill st with the forward's statistics.  Returns 0 or SSHTUN_ERR_INVAL. */
int sshtun_forward_stats(sshtun_forward *f,
                         struct sshtun_forward_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* SSHTUN_H */
