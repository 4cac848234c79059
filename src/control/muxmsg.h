/*
 * muxmsg.h - OpenSSH's multiplexing protocol (PROTOCOL.mux, version 4):
 * the messages, framed and unframed.
 *
 * A frame is a uint32 length and that many bytes; the body starts with a
 * uint32 message type.  This module only splits, parses and encodes
 * bytes: it does no I/O, so it is unit-tested and fuzzed.  File
 * descriptors that travel beside some messages (SCM_RIGHTS) are the
 * caller's business.
 */
#ifndef SSHTUN_MUXMSG_H
#define SSHTUN_MUXMSG_H

#include <stddef.h>
#include <stdint.h>

#define MUX_VERSION 4

/* Largest frame body accepted; requests are small, the stats reply is
 * the largest message and stays well under. */
#define MUX_BODY_MAX (256 * 1024)

enum mux_type {
    MUX_MSG_HELLO = 0x00000001,
    MUX_C_NEW_SESSION = 0x10000002,
    MUX_C_ALIVE_CHECK = 0x10000004,
    MUX_C_TERMINATE = 0x10000005,
    MUX_C_OPEN_FWD = 0x10000006,
    MUX_C_CLOSE_FWD = 0x10000007,
    MUX_C_NEW_STDIO_FWD = 0x10000008,
    MUX_C_STOP_LISTENING = 0x10000009,
    MUX_C_PROXY = 0x1000000f,
    MUX_C_STATS = 0x2000f001,       /* sshtun's: statistics as JSON */
    MUX_S_OK = 0x80000001,
    MUX_S_PERMISSION_DENIED = 0x80000002,
    MUX_S_FAILURE = 0x80000003,
    MUX_S_EXIT_MESSAGE = 0x80000004,
    MUX_S_ALIVE = 0x80000005,
    MUX_S_SESSION_OPENED = 0x80000006,
    MUX_S_REMOTE_PORT = 0x80000007,
    MUX_S_TTY_ALLOC_FAIL = 0x80000008,
    MUX_S_PROXY = 0x8000000f,
    MUX_S_STATS = 0x9000f001
};

/* The hello extension that says a master answers MUX_C_STATS. */
#define MUX_EXT_STATS "stats@sshtun"

enum mux_fwd_type { MUX_FWD_LOCAL = 1, MUX_FWD_REMOTE = 2, MUX_FWD_DYNAMIC = 3 };

/* A listen or connect port of this value means the host is a Unix
 * socket path. */
#define MUX_PORT_PATH 0xfffffffeU

#define MUX_HOST_MAX 1024

/* One message, parsed.  Which fields mean something depends on type. */
struct mux_msg {
    uint32_t type;
    uint32_t rid;                   /* request id, or session id where the
                                       message has no request id */
    uint32_t version;               /* HELLO */
    int has_stats_ext;              /* HELLO carried MUX_EXT_STATS */
    uint32_t fwd_type;              /* OPEN_FWD, CLOSE_FWD */
    char listen_host[MUX_HOST_MAX]; /* OPEN_FWD, CLOSE_FWD */
    uint32_t listen_port;
    char connect_host[MUX_HOST_MAX];/* OPEN/CLOSE_FWD, NEW_STDIO_FWD */
    uint32_t connect_port;
    uint32_t value;                 /* ALIVE pid, REMOTE_PORT port,
                                       SESSION_OPENED and EXIT_MESSAGE's
                                       second field, C_STATS format
                                       (0 JSON, 1 table) */
    const char *text;               /* PERMISSION_DENIED/FAILURE reason,
                                       STATS JSON: points into the body */
    size_t text_len;
};

/* Find the first complete frame in buf.  Returns its total size with
 * *body and *body_len set, 0 if more bytes are needed, or -1 if the length
 * is out of bounds (the stream cannot be trusted after that). */
long muxmsg_frame(const unsigned char *buf, size_t len,
                  const unsigned char **body, size_t *body_len);

/* Parse a frame body.  Unknown types parse with only type (and rid, if
 * present) set.  Returns 0, or -1 with a reason in err. */
int muxmsg_parse(const unsigned char *body, size_t len, struct mux_msg *m,
                 char *err, size_t errsize);

/* Encode m as a whole frame into buf.  Returns the frame's size, or 0 if
 * it does not fit or the type has no encoding. */
size_t muxmsg_encode(const struct mux_msg *m, unsigned char *buf, size_t size);

/* The name of a message type, for messages ("MUX_C_OPEN_FWD"). */
const char *muxmsg_type_name(uint32_t type);

#endif
