/*
 * fuzz_mux.c - libFuzzer target for the multiplexing codec
 * (src/control/muxmsg.c).
 *
 * The input is a byte stream as a control socket would deliver it; the
 * first byte picks the size of the pieces it arrives in (0: all at once).
 * Frames are split off as they complete and each body is parsed.  A
 * parsed message is encoded again and must parse to the same fields
 * (strings, numbers, the reason text), and its frame must be found whole
 * by the splitter.  The splitter must never claim more bytes than it was
 * given, and the same stream fed at once must give the same frames.  Any
 * violation traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/muxmsg.h"

/* Stop the fuzzer when cond is false. */
#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Encode a parsed message again and check it parses to the same. */
static void check_reencode(const struct mux_msg *m)
{
    static unsigned char buf[MUX_BODY_MAX + 16];
    const unsigned char *body;
    struct mux_msg again;
    size_t n = muxmsg_encode(m, buf, sizeof buf), blen;
    char err[128];

    if (!n)
        return;                     /* a type sshtun never sends */
    CHECK(muxmsg_frame(buf, n, &body, &blen) == (long)n);
    CHECK(muxmsg_parse(body, blen, &again, err, sizeof err) == 0);
    CHECK(again.type == m->type && again.rid == m->rid);
    CHECK(again.fwd_type == m->fwd_type && again.value == m->value);
    CHECK(again.listen_port == m->listen_port);
    CHECK(again.connect_port == m->connect_port);
    CHECK(!strcmp(again.listen_host, m->listen_host));
    CHECK(!strcmp(again.connect_host, m->connect_host));
    CHECK(again.text_len == m->text_len);
    CHECK(!m->text_len || !memcmp(again.text, m->text, m->text_len));
}

/* Split and parse everything complete in buf; returns bytes used and
 * counts the frames. */
static size_t drain(const unsigned char *buf, size_t len, int *frames)
{
    size_t off = 0;
    long n;
    const unsigned char *body;
    size_t blen;

    while ((n = muxmsg_frame(buf + off, len - off, &body, &blen)) > 0) {
        struct mux_msg m;
        char err[128];
        CHECK((size_t)n <= len - off && blen + 4 == (size_t)n);
        if (muxmsg_parse(body, blen, &m, err, sizeof err) == 0)
            check_reencode(&m);
        off += (size_t)n;
        (*frames)++;
    }
    if (n < 0)
        return (size_t)-1;          /* the stream is not to be trusted */
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t piece, have = 0, used = 0;
    int frames = 0, whole = 0, bad = 0, bad_whole;
    unsigned char *acc;

    if (size < 1)
        return 0;
    piece = data[0] % 32;
    data++;
    size--;
    bad_whole = drain(data, size, &whole) == (size_t)-1;
    if (!(acc = malloc(size + 1)))
        return 0;
    while (have < size && !bad) {
        size_t n = piece ? piece : size;
        size_t d;
        if (n > size - have)
            n = size - have;
        memcpy(acc + have, data + have, n);
        have += n;
        d = drain(acc + used, have - used, &frames);
        if (d == (size_t)-1)
            bad = 1;
        else
            used += d;
    }
    CHECK(bad == bad_whole);
    CHECK(bad || frames == whole);
    free(acc);
    return 0;
}
