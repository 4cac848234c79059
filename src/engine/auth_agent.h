/*
 * auth_agent.h - publickey authentication with an ssh-agent's keys,
 * signed by the agent (with the RSA SHA-2 flags).
 */
#ifndef SSHTUN_AUTH_AGENT_H
#define SSHTUN_AUTH_AGENT_H

#include <stddef.h>
#include <stdint.h>

struct auth_state;

/* Publickey with the agent's keys. */
int auth_agent(struct auth_state *st);

/* Offer an agent's RSA key (its ssh-rsa blob) under alg, connecting to
 * the agent again (for a deferred fallback). */
int auth_agent_retry(struct auth_state *st, const uint8_t *blob,
                     size_t blob_len, const char *alg, const char *label);

#endif
