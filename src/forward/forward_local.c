/*
 * forward_local.c - local forwarding, `ssh -L`.
 *
 * Every client of the listener gets a direct-tcpip channel to the one
 * target of the spec; the shared machinery is in forward.c.
 */
#include "config.h"

#include <stdlib.h>

#include "engine/channel.h"
#include "base/error.h"
#include "forward/forward.h"
#include "config/fwdspec.h"
#include "base/log.h"
#include "engine/session.h"

/* Connect step: open the channel to the spec's target. */
static struct sshtun_channel *local_connect(struct forward_conn *c)
{
    struct sshtun_forward *f = forward_conn_forward(c);
    const struct fwdspec *spec = forward_cfg(f);
    struct sshtun_channel *ch;
    sshtun_error err;

    ch = spec->target_path[0]
         ? forward_conn_open_path(c, spec->target_path, &err)
         : forward_conn_open(c, spec->host, spec->port, &err);
    if (!ch) {
        /* A session or forward going down is not this client's problem. */
        int quiet = err.code == SSHTUN_ERR_SESSION
                    || err.code == SSHTUN_ERR_CLOSED;
        log_msg(forward_conn_session(c)->opts,
                quiet ? SSHTUN_LOG_DEBUG : SSHTUN_LOG_ERROR,
                "%s (port %d, client %s)", err.msg, sshtun_forward_port(f),
                forward_conn_peer(c));
    }
    return ch;
}

static const struct forward_kind local_kind = {
    .name = "local",
    .connect = local_connect,
    .free_cfg = free,
};

/* Start a local forward from a -L spec. */
sshtun_forward *sshtun_forward_local(sshtun_session *s, const char *spec,
                                     sshtun_error *err)
{
    struct fwdspec *fs;
    struct sshtun_forward *f;

    if (!s || !spec) {
        error_set(err, SSHTUN_ERR_INVAL, "no session or spec");
        return NULL;
    }
    if (!(fs = malloc(sizeof *fs))) {
        error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (fwdspec_parse_local(spec, fs, err)) {
        free(fs);
        return NULL;
    }
    f = forward_start(s, &local_kind, fs, fs->has_bind ? fs->bind : NULL,
                      fs->listen_port, fs->listen_path[0] ? fs->listen_path
                                                          : NULL,
                      NULL, err);
    if (f)
        forward_set_spec(f, spec);
    if (f)
        log_msg(s->opts, SSHTUN_LOG_VERBOSE, "Local forwarding listening "
                "on %s to %s.", fs->listen_path[0] ? fs->listen_path : "port",
                spec);
    return f;
}
