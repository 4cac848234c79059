/*
 * agentmsg.c - ssh-agent protocol messages (see agentmsg.h).
 *
 * Every message is uint32 length, byte type, contents.  An identities
 * answer is uint32 count, then (string key blob, string comment) per key;
 * a sign response is string signature, itself string algorithm, string
 * signature bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/agentmsg.h"
#include "engine/sshbuf.h"

/* Size of the complete message at the head of buf. */
long agentmsg_frame(const uint8_t *buf, size_t have)
{
    struct sshbuf_reader r;
    uint32_t len;

    sshbuf_reader_init(&r, buf, have);
    if (sshbuf_get_u32(&r, &len))
        return 0;
    if (len == 0 || len > AGENTMSG_MAX)
        return AGENTMSG_BAD;
    return have - 4 >= len ? (long)len + 4 : 0;
}

/* The list-identities request. */
size_t agentmsg_identities_request(uint8_t out[5])
{
    sshbuf_store_u32(out, 1);
    out[4] = AGENTC_REQUEST_IDENTITIES;
    return 5;
}

/* A sign request. */
long agentmsg_sign_request(uint8_t *out, size_t size, const uint8_t *blob,
                           size_t blob_len, const uint8_t *data,
                           size_t data_len, uint32_t flags)
{
    struct sshbuf_writer w;

    if (size < 4)
        return -1;
    sshbuf_writer_init(&w, out + 4, size - 4);
    sshbuf_put_u8(&w, AGENTC_SIGN_REQUEST);
    sshbuf_put_string(&w, blob, blob_len);
    sshbuf_put_string(&w, data, data_len);
    sshbuf_put_u32(&w, flags);
    if (w.overflow || w.len > AGENTMSG_MAX)
        return -1;
    sshbuf_store_u32(out, (uint32_t)w.len);
    return (long)w.len + 4;
}

/* Copy a comment, keeping printable ASCII only (it reaches logs). */
static void copy_comment(char *dst, const uint8_t *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < AGENTMSG_COMMENT_MAX; i++)
        if (s[i] >= 0x20 && s[i] < 0x7f)
            dst[n++] = (char)s[i];
    dst[n] = '\0';
}

/* Free the blobs of a parsed answer. */
void agentmsg_free_identities(struct agent_ids *ids)
{
    for (int i = 0; i < ids->n; i++)
        free(ids->v[i].blob);
    ids->n = 0;
}

/* Read the type byte: 0 if it is want, AGENTMSG_REFUSED for a failure
 * answer, AGENTMSG_BAD otherwise. */
static int expect_type(struct sshbuf_reader *r, uint8_t want)
{
    uint8_t type;

    if (sshbuf_get_u8(r, &type))
        return AGENTMSG_BAD;
    if (type == want)
        return 0;
    return type == AGENT_FAILURE ? AGENTMSG_REFUSED : AGENTMSG_BAD;
}

/* Parse an identities answer. */
int agentmsg_parse_identities(const uint8_t *msg, size_t len,
                              struct agent_ids *out)
{
    struct sshbuf_reader r;
    const uint8_t *blob, *comment;
    size_t blen, clen;
    uint32_t count;
    int rc;

    out->n = 0;
    sshbuf_reader_init(&r, msg, len);
    if ((rc = expect_type(&r, AGENT_IDENTITIES_ANSWER)))
        return rc;
    if (sshbuf_get_u32(&r, &count))
        return AGENTMSG_BAD;
    for (uint32_t i = 0; i < count; i++) {
        if (sshbuf_get_string(&r, &blob, &blen)
            || sshbuf_get_string(&r, &comment, &clen)) {
            agentmsg_free_identities(out);
            return AGENTMSG_BAD;
        }
        if (out->n == AGENTMSG_IDS_MAX || blen == 0
            || blen > AGENTMSG_BLOB_MAX)
            continue;
        if (!(out->v[out->n].blob = malloc(blen))) {
            agentmsg_free_identities(out);
            return AGENTMSG_NOMEM;
        }
        memcpy(out->v[out->n].blob, blob, blen);
        out->v[out->n].blob_len = blen;
        copy_comment(out->v[out->n].comment, comment, clen);
        out->n++;
    }
    return 0;
}

/* Parse a sign response. */
int agentmsg_parse_signature(const uint8_t *msg, size_t len,
                             const char *want_alg, const uint8_t **sig,
                             size_t *siglen)
{
    struct sshbuf_reader r, inner;
    const uint8_t *whole, *alg;
    size_t wlen, alen;
    int rc;

    sshbuf_reader_init(&r, msg, len);
    if ((rc = expect_type(&r, AGENT_SIGN_RESPONSE)))
        return rc;
    if (sshbuf_get_string(&r, &whole, &wlen))
        return AGENTMSG_BAD;
    sshbuf_reader_init(&inner, whole, wlen);
    if (sshbuf_get_string(&inner, &alg, &alen)
        || !sshbuf_string_is(alg, alen, want_alg)
        || sshbuf_get_string(&inner, sig, siglen) || *siglen == 0)
        return AGENTMSG_BAD;
    return 0;
}
