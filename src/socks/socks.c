/*
 * socks.c - incremental SOCKS4/4a/5 decoder and reply encoder (socks.h).
 *
 * Input accumulates in a fixed buffer; each step looks for one whole
 * message at its start and either asks for more bytes or consumes it.
 * The protocol version is fixed by the first byte and never revisited, so
 * a SOCKS4-looking request after a SOCKS5 greeting is a malformed SOCKS5
 * request, not a new negotiation.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "socks/socks.h"

enum stage {
    ST_VERSION,         /* nothing decided yet */
    ST_METHODS,         /* SOCKS5 greeting */
    ST_USERPASS,        /* RFC 1929 sub-negotiation */
    ST_CHECKING,        /* caller verifies credentials */
    ST_REQUEST5,
    ST_REQUEST4,
    ST_READY,           /* request decoded */
    ST_FAILED
};

#define METHOD_NOAUTH 0x00
#define METHOD_USERPASS 0x02
#define METHOD_NONE 0xff

/* Start over for a new client. */
void socks_init(struct socks *s, int allow_noauth, int allow_userpass)
{
    memset(s, 0, sizeof *s);
    s->failed_reply = -1;
    s->allow_noauth = allow_noauth;
    s->allow_userpass = allow_userpass;
    s->stage = ST_VERSION;
}

/* Buffer input; refuse more than a message can hold. */
int socks_feed(struct socks *s, const void *data, size_t len)
{
    if (len == 0)
        return 0;                   /* memcpy from NULL is undefined */
    if (len > sizeof s->buf - s->len) {
        s->error = "message too long";
        s->stage = ST_FAILED;
        return -1;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

/* Drop the first n buffered bytes. */
static void consume(struct socks *s, size_t n)
{
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
}

/* Fail with a reply (or none when outlen stays 0). */
static enum socks_step fail(struct socks *s, const char *why)
{
    s->error = why;
    s->stage = ST_FAILED;
    return SOCKS_FAIL;
}

/* Encode a reply with a SOCKS5 code, for either version. */
size_t socks_reply(const struct socks *s, enum socks5_reply code,
                   unsigned char *out)
{
    if (s->version == 4) {
        out[0] = 0x00;
        out[1] = code == SOCKS5_SUCCEEDED ? SOCKS4_GRANTED : SOCKS4_REJECTED;
        memset(out + 2, 0, 6);
        return 8;
    }
    out[0] = 0x05;
    out[1] = (unsigned char)code;
    out[2] = 0x00;
    out[3] = 0x01;                  /* IPv4 0.0.0.0:0: nothing to report */
    memset(out + 4, 0, 6);
    return 10;
}

/* Fail a request with a reply code. */
static enum socks_step fail_reply(struct socks *s, enum socks5_reply code,
                                  const char *why, unsigned char *out,
                                  size_t *outlen)
{
    *outlen = socks_reply(s, code, out);
    s->failed_reply = (int)code;
    return fail(s, why);
}

/* SOCKS5 greeting: VER NMETHODS METHODS... */
static enum socks_step step_methods(struct socks *s, unsigned char *out,
                                    size_t *outlen)
{
    size_t n;
    int noauth = 0, userpass = 0, method = METHOD_NONE;

    if (s->len < 2)
        return SOCKS_NEED_MORE;
    n = s->buf[1];
    if (s->len < 2 + n)
        return SOCKS_NEED_MORE;
    for (size_t i = 0; i < n; i++) {
        noauth |= s->buf[2 + i] == METHOD_NOAUTH;
        userpass |= s->buf[2 + i] == METHOD_USERPASS;
    }
    consume(s, 2 + n);
    if (s->allow_userpass && userpass)
        method = METHOD_USERPASS;
    else if (s->allow_noauth && noauth)
        method = METHOD_NOAUTH;
    out[0] = 0x05;
    out[1] = (unsigned char)method;
    *outlen = 2;
    if (method == METHOD_NONE)
        return fail(s, "no acceptable authentication method");
    s->stage = method == METHOD_USERPASS ? ST_USERPASS : ST_REQUEST5;
    return SOCKS_REPLY;
}

/* RFC 1929: VER ULEN UNAME PLEN PASSWD. */
static enum socks_step step_userpass(struct socks *s, unsigned char *out,
                                     size_t *outlen)
{
    size_t ulen, plen;

    if (s->len < 2)
        return SOCKS_NEED_MORE;
    if (s->buf[0] != 0x01 || s->buf[1] == 0) {
        out[0] = 0x01;
        out[1] = 0x01;
        *outlen = 2;
        return fail(s, s->buf[0] != 0x01 ? "bad username/password version"
                                         : "empty username");
    }
    ulen = s->buf[1];
    if (s->len < 3 + ulen)
        return SOCKS_NEED_MORE;
    plen = s->buf[2 + ulen];
    if (s->len < 3 + ulen + plen)
        return SOCKS_NEED_MORE;
    memcpy(s->user, s->buf + 2, ulen);
    s->user[ulen] = '\0';
    memcpy(s->pass, s->buf + 3 + ulen, plen);
    s->pass[plen] = '\0';
    consume(s, 3 + ulen + plen);
    if (strlen(s->user) != ulen || strlen(s->pass) != plen) {
        out[0] = 0x01;
        out[1] = 0x01;
        *outlen = 2;
        return fail(s, "NUL byte in username or password");
    }
    s->stage = ST_CHECKING;
    return SOCKS_CHECK_AUTH;
}

/* The RFC 1929 status after the caller checked the credentials. */
enum socks_step socks_auth_result(struct socks *s, int ok,
                                  unsigned char *out, size_t *outlen)
{
    memset(s->pass, 0, sizeof s->pass);
    out[0] = 0x01;
    out[1] = ok ? 0x00 : 0x01;
    *outlen = 2;
    if (s->stage != ST_CHECKING || !ok)
        return fail(s, "username/password refused");
    s->stage = ST_REQUEST5;
    return SOCKS_REPLY;
}

/* SOCKS5 request: VER CMD RSV ATYP DST.ADDR DST.PORT. */
static enum socks_step step_request5(struct socks *s, unsigned char *out,
                                     size_t *outlen)
{
    size_t addr_off = 4, addr_len, total;
    const unsigned char *b = s->buf;

    if (s->len < 4)
        return SOCKS_NEED_MORE;
    if (b[0] != 0x05)
        return fail_reply(s, SOCKS5_GENERAL_FAILURE,
                          "request is not SOCKS version 5", out, outlen);
    switch (b[3]) {
    case 0x01: addr_len = 4; break;
    case 0x04: addr_len = 16; break;
    case 0x03:
        if (s->len < 5)
            return SOCKS_NEED_MORE;
        addr_off = 5;
        addr_len = b[4];
        if (addr_len == 0)
            return fail_reply(s, SOCKS5_GENERAL_FAILURE,
                              "empty domain name", out, outlen);
        break;
    default:
        return fail_reply(s, SOCKS5_ATYP_NOT_SUPPORTED,
                          "address type not supported", out, outlen);
    }
    total = addr_off + addr_len + 2;
    if (s->len < total)
        return SOCKS_NEED_MORE;
    if (b[1] != 0x01)
        return fail_reply(s, SOCKS5_CMD_NOT_SUPPORTED,
                          b[1] == 0x02 ? "BIND is not supported"
                          : b[1] == 0x03 ? "UDP ASSOCIATE is not supported"
                                         : "unknown command", out, outlen);
    s->atyp = b[3];
    if (b[3] == 0x03) {
        memcpy(s->host, b + addr_off, addr_len);
        s->host[addr_len] = '\0';
        if (strlen(s->host) != addr_len)
            return fail_reply(s, SOCKS5_GENERAL_FAILURE,
                              "NUL byte in domain name", out, outlen);
    } else {
        inet_ntop(b[3] == 0x01 ? AF_INET : AF_INET6, b + addr_off, s->host,
                  sizeof s->host);
    }
    s->port = b[addr_off + addr_len] << 8 | b[addr_off + addr_len + 1];
    consume(s, total);
    if (s->port == 0)
        return fail_reply(s, SOCKS5_GENERAL_FAILURE, "port 0", out, outlen);
    s->stage = ST_READY;
    return SOCKS_REQUEST;
}

/* Find a NUL in buf[from..len); index or -1. */
static long find_nul(const struct socks *s, size_t from)
{
    const unsigned char *p;

    if (from >= s->len)
        return -1;
    p = memchr(s->buf + from, 0, s->len - from);
    return p ? (long)(p - s->buf) : -1;
}

/* SOCKS4/4a: VN CD DSTPORT DSTIP USERID NUL [DOMAIN NUL]. */
static enum socks_step step_request4(struct socks *s, unsigned char *out,
                                     size_t *outlen)
{
    const unsigned char *b = s->buf;
    long uend, hend = -1;
    int is4a;

    if (s->len < 8)
        return SOCKS_NEED_MORE;
    uend = find_nul(s, 8);
    if (uend < 0)
        return s->len - 8 > SOCKS_NAME_MAX
                   ? fail_reply(s, SOCKS5_GENERAL_FAILURE,
                                "SOCKS4 user id too long", out, outlen)
                   : SOCKS_NEED_MORE;
    if (uend - 8 > SOCKS_NAME_MAX)
        return fail_reply(s, SOCKS5_GENERAL_FAILURE,
                          "SOCKS4 user id too long", out, outlen);
    is4a = b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0;
    if (is4a) {
        hend = find_nul(s, (size_t)uend + 1);
        if (hend < 0)
            return s->len - (size_t)uend - 1 > SOCKS_NAME_MAX
                       ? fail_reply(s, SOCKS5_GENERAL_FAILURE,
                                    "SOCKS4a host name too long", out, outlen)
                       : SOCKS_NEED_MORE;
        if (hend - uend - 1 > SOCKS_NAME_MAX || hend == uend + 1)
            return fail_reply(s, SOCKS5_GENERAL_FAILURE,
                              "bad SOCKS4a host name", out, outlen);
    }
    if (!s->allow_noauth)           /* SOCKS4 has no way to authenticate */
        return fail_reply(s, SOCKS5_NOT_ALLOWED, "SOCKS4 without "
                          "authentication refused (password required)",
                          out, outlen);
    if (b[1] != 0x01)
        return fail_reply(s, SOCKS5_CMD_NOT_SUPPORTED,
                          "SOCKS4 command not supported", out, outlen);
    s->port = b[2] << 8 | b[3];
    memcpy(s->user, b + 8, (size_t)(uend - 8));
    s->user[uend - 8] = '\0';
    if (is4a) {
        memcpy(s->host, b + uend + 1, (size_t)(hend - uend - 1));
        s->host[hend - uend - 1] = '\0';
        s->atyp = 0x03;
        consume(s, (size_t)hend + 1);
    } else {
        inet_ntop(AF_INET, b + 4, s->host, sizeof s->host);
        s->atyp = 0x01;
        consume(s, (size_t)uend + 1);
    }
    if (s->port == 0)
        return fail_reply(s, SOCKS5_GENERAL_FAILURE, "port 0", out, outlen);
    s->stage = ST_READY;
    return SOCKS_REQUEST;
}

/* Decode the next message. */
enum socks_step socks_step(struct socks *s, unsigned char *out,
                           size_t *outlen)
{
    *outlen = 0;
    switch (s->stage) {
    case ST_VERSION:
        if (s->len < 1)
            return SOCKS_NEED_MORE;
        if (s->buf[0] == 0x05) {
            s->version = 5;
            s->stage = ST_METHODS;
            return step_methods(s, out, outlen);
        }
        if (s->buf[0] == 0x04) {
            s->version = 4;
            s->stage = ST_REQUEST4;
            return step_request4(s, out, outlen);
        }
        return fail(s, "not a SOCKS 4 or 5 client");
    case ST_METHODS:
        return step_methods(s, out, outlen);
    case ST_USERPASS:
        return step_userpass(s, out, outlen);
    case ST_REQUEST5:
        return step_request5(s, out, outlen);
    case ST_REQUEST4:
        return step_request4(s, out, outlen);
    case ST_CHECKING:
    case ST_READY:
        return SOCKS_NEED_MORE;
    default:
        if (!s->error)
            s->error = "protocol error";
        return SOCKS_FAIL;
    }
}

/* Bytes after the request. */
const unsigned char *socks_leftover(const struct socks *s, size_t *len)
{
    *len = s->stage == ST_READY ? s->len : 0;
    return s->buf;
}

/* Name of a reply code. */
const char *socks_reply_name(enum socks5_reply code)
{
    switch (code) {
    case SOCKS5_SUCCEEDED: return "succeeded";
    case SOCKS5_GENERAL_FAILURE: return "general failure";
    case SOCKS5_NOT_ALLOWED: return "connection not allowed by ruleset";
    case SOCKS5_NET_UNREACHABLE: return "network unreachable";
    case SOCKS5_HOST_UNREACHABLE: return "host unreachable";
    case SOCKS5_CONN_REFUSED: return "connection refused";
    case SOCKS5_TTL_EXPIRED: return "TTL expired";
    case SOCKS5_CMD_NOT_SUPPORTED: return "command not supported";
    case SOCKS5_ATYP_NOT_SUPPORTED: return "address type not supported";
    default: return "unknown";
    }
}
