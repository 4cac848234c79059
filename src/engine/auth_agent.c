/*
 * auth_agent.c - publickey authentication with the keys of ssh-agent
 * (see auth.h).
 *
 * The agent signs through our own client (agent.c), so RSA keys are
 * signed as rsa-sha2-512/256 with the agent's flags.  The agent key the
 * session's memo remembers is offered first.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/clock.h"
#include "config/algolist.h"
#include "engine/agent.h"
#include "engine/auth_agent.h"
#include "engine/auth_state.h"
#include "engine/rsasign.h"
#include "engine/sshbuf.h"

#define AGENT_CONNECT_MS 5000
#define AGENT_LIST_MS 10000

/* What the sign callback needs to ask the agent. */
struct agent_signer {
    int fd;
    const uint8_t *blob;            /* the key as the agent knows it */
    size_t blob_len;
    uint32_t flags;
    const char *alg;
    const sshtun_options *o;
};

/* libssh2's sign callback: the agent signs (bounded by AUTH_STEP_MS: it
 * may wait for the user to confirm). */
static LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC(sign_with_agent)
{
    struct agent_signer *as = *abstract;
    int rc;

    (void)session;
    rc = agent_sign(as->fd, as->blob, as->blob_len, data, data_len,
                    as->flags, as->alg, clock_now_ms() + AUTH_STEP_MS, sig,
                    sig_len);
    if (rc)
        log_msg(as->o, SSHTUN_LOG_VERBOSE, "ssh-agent did not sign with %s "
                "(%s)", as->alg, rc == AGENTMSG_REFUSED ? "refused"
                : rc == -ETIMEDOUT ? "timed out" : "bad or no answer");
    return rc ? -1 : 0;
}

/* Offer an agent key under alg on the open agent fd. */
static int offer(struct auth_state *st, int fd, const uint8_t *blob,
                 size_t len, const char *alg, const char *label)
{
    struct agent_signer as = { fd, blob, len, 0, alg, st->o };
    uint8_t renamed[AGENTMSG_BLOB_MAX + 64];
    const uint8_t *offered = blob;
    long n = (long)len;

    if (rsasign_is_rsa_alg(alg)) {
        as.flags = !strcmp(alg, "rsa-sha2-512") ? AGENT_RSA_SHA2_512
                   : !strcmp(alg, "rsa-sha2-256") ? AGENT_RSA_SHA2_256 : 0;
        if ((n = rsasign_rename_blob(blob, len, alg, renamed,
                                     sizeof renamed)) < 0)
            return SSHTUN_ERR_AUTH;
        offered = renamed;
    }
    log_msg(st->o, SSHTUN_LOG_VERBOSE, "Offering agent key %s with %s (offer "
            "%d)", label, alg, st->offers + 1);
    return auth_state_offer(st, offered, (size_t)n, sign_with_agent, &as);
}

/* The key type named at the head of a blob into out ("" if none). */
static void blob_type(const uint8_t *blob, size_t len, char *out,
                      size_t size)
{
    struct sshbuf_reader r;
    const uint8_t *t;
    size_t tlen;

    out[0] = '\0';
    sshbuf_reader_init(&r, blob, len);
    if (!sshbuf_get_string(&r, &t, &tlen) && tlen < size) {
        memcpy(out, t, tlen);
        out[tlen] = '\0';
    }
}

/* An identity record for an agent key. */
static struct auth_memo_entry *agent_who(const struct agent_id *id)
{
    struct auth_memo_entry *who = calloc(1, sizeof *who);

    if (who && id->blob_len <= sizeof who->blob) {
        who->identity = AUTH_ID_AGENT;
        memcpy(who->blob, id->blob, id->blob_len);
        who->blob_len = id->blob_len;
    }
    return who;
}

/* Whether an agent key can be used; notes why not. */
static int usable(struct auth_state *st, const char *type,
                  const char *label)
{
    if (!strncmp(type, "sk-", 3) || strstr(type, "-cert-v01@")
        || !strcmp(type, "ssh-dss")) {
        auth_state_note(st, "skipped agent key %s (%s keys cannot be used)", label,
                  type);
        return 0;
    }
    if (!strcmp(type, "ssh-rsa") ? st->n_rsa_algs == 0
                                 : !algolist_has(st->accepted, type)) {
        auth_state_note(st, "skipped agent key %s: %s is not in "
                  "PubkeyAcceptedAlgorithms", label, type);
        return 0;
    }
    return 1;
}

/* Try one agent key. */
static int try_id(struct auth_state *st, int fd, const struct agent_id *id)
{
    char type[64], label[AGENTMSG_COMMENT_MAX + 8];
    int rsa, rc;

    blob_type(id->blob, id->blob_len, type, sizeof type);
    snprintf(label, sizeof label, "%s", id->comment[0] ? id->comment : type);
    if (!usable(st, type, label))
        return SSHTUN_ERR_AUTH;
    rsa = !strcmp(type, "ssh-rsa");
    rc = offer(st, fd, id->blob, id->blob_len, rsa ? st->rsa_algs[0] : type,
               label);
    if (rc == 0 || (rc == SSHTUN_ERR_AUTH && rsa && st->n_rsa_algs > 1)) {
        struct auth_memo_entry *who = agent_who(id);
        if (rc == 0 && who)
            auth_state_won(st, who);
        if (rc == 0)
            free(who);
        else
            auth_state_defer(st, NULL, id->blob, id->blob_len, 1, who, label);
    }
    return rc;
}

/* Whether an agent key is the one the memo remembers. */
static int remembered(const struct auth_state *st, const struct agent_id *id)
{
    const struct auth_memo_entry *m = st->memo;

    return m && m->method == AUTH_METHOD_PUBLICKEY
           && m->identity == AUTH_ID_AGENT && m->blob_len == id->blob_len
           && !memcmp(m->blob, id->blob, id->blob_len);
}

/* Connect to the agent: a socket or -1 (logged). */
static int open_agent(struct auth_state *st)
{
    char path[PATH_MAX];
    int fd;

    if (agent_socket_path(st->o, path, sizeof path))
        return -1;
    if ((fd = agent_connect(path, clock_now_ms() + AGENT_CONNECT_MS)) < 0)
        log_msg(st->o, SSHTUN_LOG_DEBUG, "ssh-agent at %s not usable: %s",
                path, strerror(errno));
    return fd;
}

/* Publickey with the agent's keys: the remembered one first. */
int auth_agent(struct auth_state *st)
{
    struct agent_ids *ids = calloc(1, sizeof *ids);
    int fd = ids ? open_agent(st) : -1, rc = SSHTUN_ERR_AUTH;

    if (fd >= 0 && agent_list(fd, clock_now_ms() + AGENT_LIST_MS, ids))
        log_msg(st->o, SSHTUN_LOG_DEBUG, "ssh-agent did not list its keys");
    else if (fd >= 0)
        log_msg(st->o, SSHTUN_LOG_DEBUG, "ssh-agent holds %d usable keys",
                ids->n);
    for (int pass = 0; fd >= 0 && pass < 2; pass++)
        for (int i = 0; i < ids->n && rc == SSHTUN_ERR_AUTH; i++)
            if (remembered(st, &ids->v[i]) == !pass)
                rc = try_id(st, fd, &ids->v[i]);
    if (fd >= 0)
        close(fd);
    if (ids)
        agentmsg_free_identities(ids);
    free(ids);
    return rc;
}

/* Offer an agent's RSA key again under alg. */
int auth_agent_retry(struct auth_state *st, const uint8_t *blob,
                     size_t blob_len, const char *alg, const char *label)
{
    int fd = open_agent(st), rc;

    if (fd < 0)
        return SSHTUN_ERR_AUTH;
    rc = offer(st, fd, blob, blob_len, alg, label);
    close(fd);
    return rc;
}
