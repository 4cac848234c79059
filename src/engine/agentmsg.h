/*
 * agentmsg.h - the messages of the ssh-agent protocol that a client
 * needs (draft-miller-ssh-agent): list identities, sign.
 *
 * Requests are framed into caller memory; replies are parsed from bytes,
 * defensively (an agent is another process, and a forwarded one is
 * another machine): every length is checked, counts and sizes are capped.
 * Pure: no I/O, so it is unit-tested and fuzzed.
 */
#ifndef SSHTUN_AGENTMSG_H
#define SSHTUN_AGENTMSG_H

#include <stddef.h>
#include <stdint.h>

#define AGENTC_REQUEST_IDENTITIES 11
#define AGENT_IDENTITIES_ANSWER 12
#define AGENTC_SIGN_REQUEST 13
#define AGENT_SIGN_RESPONSE 14
#define AGENT_FAILURE 5
#define AGENT_RSA_SHA2_256 2
#define AGENT_RSA_SHA2_512 4

/* Limits: OpenSSH's agent refuses messages over 256 KiB. */
#define AGENTMSG_MAX (256 * 1024)
#define AGENTMSG_IDS_MAX 64
#define AGENTMSG_BLOB_MAX 16384
#define AGENTMSG_COMMENT_MAX 128

/* Results besides 0. */
#define AGENTMSG_BAD (-1)           /* malformed or over a limit */
#define AGENTMSG_REFUSED (-2)       /* the agent answered SSH_AGENT_FAILURE */
#define AGENTMSG_NOMEM (-3)

/* One key the agent holds. */
struct agent_id {
    uint8_t *blob;                  /* public key blob, malloc'd */
    size_t blob_len;
    char comment[AGENTMSG_COMMENT_MAX]; /* printable characters only */
};

struct agent_ids {
    int n;
    struct agent_id v[AGENTMSG_IDS_MAX];
};

/* Size of the complete message at the head of buf (4 + its length), 0 if
 * more bytes are needed, AGENTMSG_BAD if it is empty or too big. */
long agentmsg_frame(const uint8_t *buf, size_t have);

/* The list-identities request; returns its length (5). */
size_t agentmsg_identities_request(uint8_t out[5]);

/* A sign request for blob over data with flags; its length or -1. */
long agentmsg_sign_request(uint8_t *out, size_t size, const uint8_t *blob,
                           size_t blob_len, const uint8_t *data,
                           size_t data_len, uint32_t flags);

/* Parse an identities answer (the message after its length).  Keys past
 * AGENTMSG_IDS_MAX or with blobs over AGENTMSG_BLOB_MAX are left out.
 * On 0, free with agentmsg_free_identities. */
int agentmsg_parse_identities(const uint8_t *msg, size_t len,
                              struct agent_ids *out);
void agentmsg_free_identities(struct agent_ids *ids);

/* Parse a sign response: the signature must be under want_alg; *sig
 * points at the raw signature inside msg. */
int agentmsg_parse_signature(const uint8_t *msg, size_t len,
                             const char *want_alg, const uint8_t **sig,
                             size_t *siglen);

#endif
