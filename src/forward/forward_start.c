/*
 * forward_start.c - starting the forwards the options list (-L, -R, -D and
 * their LocalForward, RemoteForward, DynamicForward keywords).
 *
 * It sits above the forward kinds, which sit above the shared machinery
 * in forward.c: the machinery never names a kind.
 */
#include "config.h"

#include "base/error.h"
#include "base/log.h"
#include "config/options.h"
#include "engine/session.h"
#include "forward/forward.h"
#include "sshtun.h"

/* Start one forward per spec of a list; honours ExitOnForwardFailure. */
static int start_list(sshtun_session *s, const struct opt_list *l,
                      sshtun_forward *(*start)(sshtun_session *,
                                               const char *, sshtun_error *),
                      const char *what, sshtun_error *err)
{
    const sshtun_options *o = s->opts;

    for (int i = 0; i < l->n; i++) {
        sshtun_error e;
        sshtun_forward *f = start(s, l->v[i], &e);
        if (f) {
            forward_release(f);
            continue;
        }
        if (options_flag(o->exit_on_forward_failure)) {
            if (err)
                *err = e;
            return e.code;
        }
        log_msg(o, SSHTUN_LOG_ERROR, "%s", e.msg);
        log_msg(o, SSHTUN_LOG_ERROR, "Could not request %s forwarding.",
                what);
    }
    return 0;
}

/* Start every LocalForward and DynamicForward in the session's options. */
int sshtun_session_start_forwards(sshtun_session *s, sshtun_error *err)
{
    int rc;

    sshtun_error local;

    if (!err)
        err = &local;
    if (!s)
        return error_set(err, SSHTUN_ERR_INVAL, "no session");
    if (s->forwarding_disabled && (s->opts->local_forwards.n
                                   || s->opts->remote_forwards.n
                                   || s->opts->dynamic_forwards.n)) {
        error_set(err, SSHTUN_ERR_HOSTKEY_CHANGED, "Port forwarding is "
                "disabled to avoid man-in-the-middle attacks (the host key "
                "has changed).");
        if (options_flag(s->opts->exit_on_forward_failure))
            return err->code;
        log_msg(s->opts, SSHTUN_LOG_ERROR, "%s", err->msg);
        return 0;
    }
    if ((rc = start_list(s, &s->opts->local_forwards, sshtun_forward_local,
                         "local", err))
        || (rc = start_list(s, &s->opts->remote_forwards,
                            sshtun_forward_remote, "remote", err))
        || (rc = start_list(s, &s->opts->dynamic_forwards,
                            sshtun_forward_dynamic, "dynamic", err)))
        return rc;
    error_clear(err);
    return 0;
}
