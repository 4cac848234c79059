/*
 * agent.h - a small ssh-agent client: list the agent's keys, have it sign.
 *
 * libssh2 1.10's agent support asks for SHA-1 signatures from RSA keys,
 * which OpenSSH >= 8.8 refuses; this client asks with the
 * SSH_AGENT_RSA_SHA2_512/256 flags.  Every call has a deadline (an agent
 * may wait for the user to confirm a key, ssh-add -c); replies are parsed
 * by agentmsg.c.  Runs on the connecting I/O thread.
 */
#ifndef SSHTUN_AGENT_H
#define SSHTUN_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "config/options.h"
#include "engine/agentmsg.h"

/* The agent's socket path from IdentityAgent or $SSH_AUTH_SOCK into buf:
 * 0, or -1 when there is no agent to use. */
int agent_socket_path(const sshtun_options *o, char *buf, size_t size);

/* Connect to the agent at path: a socket, or -1 (errno set). */
int agent_connect(const char *path, int64_t deadline_ms);

/* The agent's keys: 0, or an AGENTMSG_* error / -ETIMEDOUT / -errno. */
int agent_list(int fd, int64_t deadline_ms, struct agent_ids *ids);

/* Have the agent sign data with the key blob (flags: AGENT_RSA_SHA2_*);
 * the signature must be under alg.  *sig is malloc'd.  0 or as above. */
int agent_sign(int fd, const uint8_t *blob, size_t blob_len,
               const uint8_t *data, size_t data_len, uint32_t flags,
               const char *alg, int64_t deadline_ms, uint8_t **sig,
               size_t *siglen);

#endif
