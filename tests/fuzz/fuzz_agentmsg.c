/*
 * fuzz_agentmsg.c - libFuzzer target for the ssh-agent reply parsers
 * (src/engine/agentmsg.c, over sshbuf.c).
 *
 * The input is what an agent sent, as a stream: it is framed as the
 * client frames it (agentmsg_frame, fed a growing prefix as if it came
 * one byte at a time), and each complete message is parsed both as an
 * identities answer and as a sign response.  Checks: framing never
 * claims more than it has, nor a message over the limit, and agrees with
 * itself as bytes arrive; parsed identities respect the caps, their
 * comments are printable and terminated; a parsed signature lies inside
 * the message.  Any violation traps.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/agentmsg.h"

/* Stop the fuzzer when cond is false. */
#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse one message both ways and check the results. */
static void parse(const uint8_t *msg, size_t len)
{
    static struct agent_ids ids;
    const uint8_t *sig;
    size_t siglen;

    if (agentmsg_parse_identities(msg, len, &ids) == 0) {
        CHECK(ids.n >= 0 && ids.n <= AGENTMSG_IDS_MAX);
        for (int i = 0; i < ids.n; i++) {
            const char *c = ids.v[i].comment;
            size_t n = strnlen(c, AGENTMSG_COMMENT_MAX);
            CHECK(n < AGENTMSG_COMMENT_MAX);
            for (size_t j = 0; j < n; j++)
                CHECK(c[j] >= 0x20 && c[j] < 0x7f);
            CHECK(ids.v[i].blob_len > 0
                  && ids.v[i].blob_len <= AGENTMSG_BLOB_MAX);
        }
        agentmsg_free_identities(&ids);
    } else {
        CHECK(ids.n == 0);
    }
    if (agentmsg_parse_signature(msg, len, "rsa-sha2-512", &sig, &siglen)
        == 0)
        CHECK(sig > msg && siglen > 0 && sig + siglen <= msg + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size) {
        long whole = 0;
        uint8_t *msg;
        for (size_t have = 0; have <= size && have <= 8; have++) {
            long w = agentmsg_frame(data, have);
            CHECK(w == 0 || w == AGENTMSG_BAD || (size_t)w <= have);
        }
        whole = agentmsg_frame(data, size);
        if (whole <= 0)
            return 0;
        CHECK((size_t)whole <= size && whole <= AGENTMSG_MAX + 4);
        CHECK(agentmsg_frame(data, (size_t)whole) == whole);
        CHECK(agentmsg_frame(data, (size_t)whole - 1) == 0);
        /* An exact-size copy, so reading past the message is caught. */
        msg = malloc((size_t)whole - 4);
        memcpy(msg, data + 4, (size_t)whole - 4);
        parse(msg, (size_t)whole - 4);
        free(msg);
        data += whole;
        size -= (size_t)whole;
    }
    return 0;
}
