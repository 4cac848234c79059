/*
 * sshbuf.c - SSH wire encodings (see sshbuf.h).
 */
#include "config.h"

#include <string.h>

#include "engine/sshbuf.h"

/* Start reading p. */
void sshbuf_reader_init(struct sshbuf_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
}

/* Bytes left unread. */
size_t sshbuf_left(const struct sshbuf_reader *r)
{
    return r->len - r->pos;
}

/* One byte. */
int sshbuf_get_u8(struct sshbuf_reader *r, uint8_t *v)
{
    if (sshbuf_left(r) < 1)
        return -1;
    *v = r->p[r->pos++];
    return 0;
}

/* A big-endian uint32. */
int sshbuf_get_u32(struct sshbuf_reader *r, uint32_t *v)
{
    const uint8_t *b = r->p + r->pos;

    if (sshbuf_left(r) < 4)
        return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8
         | b[3];
    r->pos += 4;
    return 0;
}

/* A length-prefixed string, pointing into the input. */
int sshbuf_get_string(struct sshbuf_reader *r, const uint8_t **s,
                      size_t *slen)
{
    size_t save = r->pos;
    uint32_t n;

    if (sshbuf_get_u32(r, &n))
        return -1;
    if (n > sshbuf_left(r)) {
        r->pos = save;
        return -1;
    }
    *s = r->p + r->pos;
    *slen = n;
    r->pos += n;
    return 0;
}

/* Whether a string equals want. */
int sshbuf_string_is(const uint8_t *s, size_t slen, const char *want)
{
    return slen == strlen(want) && !memcmp(s, want, slen);
}

/* Start writing into p. */
void sshbuf_writer_init(struct sshbuf_writer *w, void *p, size_t size)
{
    w->p = p;
    w->size = size;
    w->len = 0;
    w->overflow = 0;
}

/* Append raw bytes. */
static void put_raw(struct sshbuf_writer *w, const void *s, size_t len)
{
    if (w->overflow || len > w->size - w->len) {
        w->overflow = 1;
        return;
    }
    if (len)
        memcpy(w->p + w->len, s, len);
    w->len += len;
}

/* Store v big-endian. */
void sshbuf_store_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One byte. */
void sshbuf_put_u8(struct sshbuf_writer *w, uint8_t v)
{
    put_raw(w, &v, 1);
}

/* A big-endian uint32. */
void sshbuf_put_u32(struct sshbuf_writer *w, uint32_t v)
{
    uint8_t b[4];

    sshbuf_store_u32(b, v);
    put_raw(w, b, 4);
}

/* A length-prefixed string. */
void sshbuf_put_string(struct sshbuf_writer *w, const void *s, size_t len)
{
    if (len > UINT32_MAX) {
        w->overflow = 1;
        return;
    }
    sshbuf_put_u32(w, (uint32_t)len);
    put_raw(w, s, len);
}

/* A NUL-terminated string as an SSH string. */
void sshbuf_put_cstring(struct sshbuf_writer *w, const char *s)
{
    sshbuf_put_string(w, s, strlen(s));
}

/* An mpint from an unsigned magnitude. */
void sshbuf_put_mpint(struct sshbuf_writer *w, const uint8_t *mag,
                      size_t len)
{
    uint8_t zero = 0;
    int pad;

    while (len && !mag[0]) {
        mag++;
        len--;
    }
    pad = len && (mag[0] & 0x80);
    sshbuf_put_u32(w, (uint32_t)(len + (size_t)pad));
    if (pad)
        put_raw(w, &zero, 1);
    put_raw(w, mag, len);
}
