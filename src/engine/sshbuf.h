/*
 * sshbuf.h - reading and writing SSH wire encodings (RFC 4251 section 5:
 * uint32, string, mpint) in caller-owned memory.
 *
 * Private keys, agent messages and public key blobs all speak this
 * encoding; every read is bounds-checked so parsers of outside input
 * cannot run past what they were given.  Pure.
 */
#ifndef SSHTUN_SSHBUF_H
#define SSHTUN_SSHBUF_H

#include <stddef.h>
#include <stdint.h>

/* A read cursor over len bytes. */
struct sshbuf_reader {
    const uint8_t *p;
    size_t len, pos;
};

/* A writer into size bytes; overflow latches and is reported at the end. */
struct sshbuf_writer {
    uint8_t *p;
    size_t size, len;
    int overflow;
};

void sshbuf_reader_init(struct sshbuf_reader *r, const void *p, size_t len);
/* Each read returns 0, or -1 when the input is too short. */
int sshbuf_get_u8(struct sshbuf_reader *r, uint8_t *v);
int sshbuf_get_u32(struct sshbuf_reader *r, uint32_t *v);
int sshbuf_get_string(struct sshbuf_reader *r, const uint8_t **s,
                      size_t *slen);
/* A string equal to the NUL-terminated want. */
int sshbuf_string_is(const uint8_t *s, size_t slen, const char *want);
/* Bytes left unread. */
size_t sshbuf_left(const struct sshbuf_reader *r);

void sshbuf_writer_init(struct sshbuf_writer *w, void *p, size_t size);
void sshbuf_put_u8(struct sshbuf_writer *w, uint8_t v);
void sshbuf_put_u32(struct sshbuf_writer *w, uint32_t v);
void sshbuf_put_string(struct sshbuf_writer *w, const void *s, size_t len);
void sshbuf_put_cstring(struct sshbuf_writer *w, const char *s);
/* An mpint from a big-endian unsigned magnitude (leading zeros dropped,
 * a zero byte added when the top bit is set). */
void sshbuf_put_mpint(struct sshbuf_writer *w, const uint8_t *mag,
                      size_t len);
/* Store v big-endian at p. */
void sshbuf_store_u32(uint8_t *p, uint32_t v);

#endif
