/*
 * muxmsg.c - splitting, parsing and encoding multiplexing messages (see
 * muxmsg.h).
 *
 * Written from PROTOCOL.mux and what OpenSSH's client sends: strings are
 * uint32-length-prefixed, may not hold a NUL (they become C strings), and
 * every field must be present; bytes after the last field are refused
 * except in HELLO, whose tail is extensions.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "control/muxmsg.h"

/* A read cursor over a body. */
struct rd {
    const unsigned char *p;
    size_t left;
};

/* Take a uint32. */
static int rd_u32(struct rd *r, uint32_t *v)
{
    if (r->left < 4)
        return -1;
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16
         | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    r->left -= 4;
    return 0;
}

/* Take a string without copying it. */
static int rd_str(struct rd *r, const unsigned char **s, size_t *len)
{
    uint32_t n;

    if (rd_u32(r, &n) || n > r->left)
        return -1;
    *s = r->p;
    *len = n;
    r->p += n;
    r->left -= n;
    return 0;
}

/* Take a string into a C string buffer: no NUL inside, must fit. */
static int rd_cstr(struct rd *r, char *out, size_t size)
{
    const unsigned char *s;
    size_t n;

    if (rd_str(r, &s, &n) || n >= size || memchr(s, '\0', n))
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A write cursor; overflow is remembered, not acted on. */
struct wr {
    unsigned char *p;
    size_t size, len;
    int overflow;
};

/* Put a uint32. */
static void wr_u32(struct wr *w, uint32_t v)
{
    if (w->size - w->len < 4) {
        w->overflow = 1;
        return;
    }
    w->p[w->len++] = (unsigned char)(v >> 24);
    w->p[w->len++] = (unsigned char)(v >> 16);
    w->p[w->len++] = (unsigned char)(v >> 8);
    w->p[w->len++] = (unsigned char)v;
}

/* Put a string. */
static void wr_str(struct wr *w, const void *s, size_t n)
{
    if (n > UINT32_MAX) {
        w->overflow = 1;
        return;
    }
    wr_u32(w, (uint32_t)n);
    if (w->overflow || w->size - w->len < n) {
        w->overflow = 1;
        return;
    }
    if (n)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

/* Split off one frame. */
long muxmsg_frame(const unsigned char *buf, size_t len,
                  const unsigned char **body, size_t *body_len)
{
    uint32_t n;
    struct rd r = { buf, len };

    if (rd_u32(&r, &n))
        return 0;
    if (n < 4 || n > MUX_BODY_MAX)
        return -1;
    if (r.left < n)
        return 0;
    *body = buf + 4;
    *body_len = n;
    return (long)n + 4;
}

/* HELLO: version, then name/value pairs. */
static int parse_hello(struct rd *r, struct mux_msg *m)
{
    if (rd_u32(r, &m->version))
        return -1;
    while (r->left) {
        const unsigned char *name, *value;
        size_t nlen, vlen;
        if (rd_str(r, &name, &nlen) || rd_str(r, &value, &vlen))
            return -1;
        if (nlen == strlen(MUX_EXT_STATS)
            && !memcmp(name, MUX_EXT_STATS, nlen))
            m->has_stats_ext = 1;
    }
    return 0;
}

/* OPEN_FWD / CLOSE_FWD. */
static int parse_fwd(struct rd *r, struct mux_msg *m)
{
    if (rd_u32(r, &m->fwd_type)
        || rd_cstr(r, m->listen_host, sizeof m->listen_host)
        || rd_u32(r, &m->listen_port)
        || rd_cstr(r, m->connect_host, sizeof m->connect_host)
        || rd_u32(r, &m->connect_port))
        return -1;
    if (m->fwd_type < MUX_FWD_LOCAL || m->fwd_type > MUX_FWD_DYNAMIC)
        return -1;
    return 0;
}

/* NEW_STDIO_FWD: reserved, host, port (a uint32, as OpenSSH sends it). */
static int parse_stdio(struct rd *r, struct mux_msg *m)
{
    const unsigned char *reserved;
    size_t n;

    return rd_str(r, &reserved, &n)
           || rd_cstr(r, m->connect_host, sizeof m->connect_host)
           || rd_u32(r, &m->connect_port) ? -1 : 0;
}

/* The fields after the type. */
static int parse_fields(struct rd *r, struct mux_msg *m)
{
    const unsigned char *s;

    switch (m->type) {
    case MUX_MSG_HELLO:
        return parse_hello(r, m);
    case MUX_C_ALIVE_CHECK: case MUX_C_TERMINATE: case MUX_C_STOP_LISTENING:
    case MUX_C_PROXY: case MUX_S_OK: case MUX_S_PROXY:
    case MUX_S_TTY_ALLOC_FAIL:
        return rd_u32(r, &m->rid);
    case MUX_C_OPEN_FWD: case MUX_C_CLOSE_FWD:
        return rd_u32(r, &m->rid) || parse_fwd(r, m) ? -1 : 0;
    case MUX_C_NEW_STDIO_FWD:
        return rd_u32(r, &m->rid) || parse_stdio(r, m) ? -1 : 0;
    case MUX_S_PERMISSION_DENIED: case MUX_S_FAILURE: case MUX_S_STATS:
        if (rd_u32(r, &m->rid) || rd_str(r, &s, &m->text_len))
            return -1;
        m->text = (const char *)s;
        return 0;
    case MUX_S_ALIVE: case MUX_S_SESSION_OPENED: case MUX_S_REMOTE_PORT:
    case MUX_S_EXIT_MESSAGE: case MUX_C_STATS:
        return rd_u32(r, &m->rid) || rd_u32(r, &m->value) ? -1 : 0;
    default:
        /* Unknown (or NEW_SESSION, which sshtun refuses): the request id,
         * if any, is enough to answer it. */
        if (rd_u32(r, &m->rid))
            m->rid = 0;
        r->left = 0;
        return 0;
    }
}

/* Parse one body. */
int muxmsg_parse(const unsigned char *body, size_t len, struct mux_msg *m,
                 char *err, size_t errsize)
{
    struct rd r = { body, len };

    memset(m, 0, sizeof *m);
    if (rd_u32(&r, &m->type)) {
        snprintf(err, errsize, "mux message too short");
        return -1;
    }
    if (parse_fields(&r, m)) {
        snprintf(err, errsize, "malformed %s message",
                 muxmsg_type_name(m->type));
        return -1;
    }
    if (r.left) {
        snprintf(err, errsize, "%zu stray bytes after %s", r.left,
                 muxmsg_type_name(m->type));
        return -1;
    }
    return 0;
}

/* The body fields of m after its type. */
static int encode_fields(const struct mux_msg *m, struct wr *w)
{
    switch (m->type) {
    case MUX_MSG_HELLO:
        wr_u32(w, m->version);
        if (m->has_stats_ext) {
            wr_str(w, MUX_EXT_STATS, strlen(MUX_EXT_STATS));
            wr_str(w, "", 0);
        }
        return 0;
    case MUX_C_ALIVE_CHECK: case MUX_C_TERMINATE: case MUX_C_STOP_LISTENING:
    case MUX_C_PROXY: case MUX_S_OK: case MUX_S_PROXY:
    case MUX_S_TTY_ALLOC_FAIL:
        wr_u32(w, m->rid);
        return 0;
    case MUX_C_OPEN_FWD: case MUX_C_CLOSE_FWD:
        wr_u32(w, m->rid);
        wr_u32(w, m->fwd_type);
        wr_str(w, m->listen_host, strlen(m->listen_host));
        wr_u32(w, m->listen_port);
        wr_str(w, m->connect_host, strlen(m->connect_host));
        wr_u32(w, m->connect_port);
        return 0;
    case MUX_C_NEW_STDIO_FWD:
        wr_u32(w, m->rid);
        wr_str(w, "", 0);
        wr_str(w, m->connect_host, strlen(m->connect_host));
        wr_u32(w, m->connect_port);
        return 0;
    case MUX_S_PERMISSION_DENIED: case MUX_S_FAILURE: case MUX_S_STATS:
        wr_u32(w, m->rid);
        wr_str(w, m->text ? m->text : "", m->text ? m->text_len : 0);
        return 0;
    case MUX_S_ALIVE: case MUX_S_SESSION_OPENED: case MUX_S_REMOTE_PORT:
    case MUX_S_EXIT_MESSAGE: case MUX_C_STATS:
        wr_u32(w, m->rid);
        wr_u32(w, m->value);
        return 0;
    default:
        return -1;
    }
}

/* Encode one frame. */
size_t muxmsg_encode(const struct mux_msg *m, unsigned char *buf, size_t size)
{
    struct wr w = { buf, size, 0, 0 };

    wr_u32(&w, 0);                  /* the length, filled in below */
    wr_u32(&w, m->type);
    if (encode_fields(m, &w) || w.overflow || w.len - 4 > MUX_BODY_MAX)
        return 0;
    buf[0] = (unsigned char)((w.len - 4) >> 24);
    buf[1] = (unsigned char)((w.len - 4) >> 16);
    buf[2] = (unsigned char)((w.len - 4) >> 8);
    buf[3] = (unsigned char)(w.len - 4);
    return w.len;
}

/* A type's name. */
const char *muxmsg_type_name(uint32_t type)
{
    static const struct { uint32_t type; const char *name; } names[] = {
        { MUX_MSG_HELLO, "MUX_MSG_HELLO" },
        { MUX_C_NEW_SESSION, "MUX_C_NEW_SESSION" },
        { MUX_C_ALIVE_CHECK, "MUX_C_ALIVE_CHECK" },
        { MUX_C_TERMINATE, "MUX_C_TERMINATE" },
        { MUX_C_OPEN_FWD, "MUX_C_OPEN_FWD" },
        { MUX_C_CLOSE_FWD, "MUX_C_CLOSE_FWD" },
        { MUX_C_NEW_STDIO_FWD, "MUX_C_NEW_STDIO_FWD" },
        { MUX_C_STOP_LISTENING, "MUX_C_STOP_LISTENING" },
        { MUX_C_PROXY, "MUX_C_PROXY" },
        { MUX_C_STATS, "MUX_C_STATS" },
        { MUX_S_OK, "MUX_S_OK" },
        { MUX_S_PERMISSION_DENIED, "MUX_S_PERMISSION_DENIED" },
        { MUX_S_FAILURE, "MUX_S_FAILURE" },
        { MUX_S_EXIT_MESSAGE, "MUX_S_EXIT_MESSAGE" },
        { MUX_S_ALIVE, "MUX_S_ALIVE" },
        { MUX_S_SESSION_OPENED, "MUX_S_SESSION_OPENED" },
        { MUX_S_REMOTE_PORT, "MUX_S_REMOTE_PORT" },
        { MUX_S_TTY_ALLOC_FAIL, "MUX_S_TTY_ALLOC_FAIL" },
        { MUX_S_PROXY, "MUX_S_PROXY" },
        { MUX_S_STATS, "MUX_S_STATS" },
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].type == type)
            return names[i].name;
    return "unknown mux message";
}
