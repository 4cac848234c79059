/*
 * auth_ctx.h - what authentication needs from the connection that runs
 * it.  Header only: auth.h (the entry point) and auth_state.h (what the
 * parts of a run share) both use it.
 */
#ifndef SSHTUN_AUTH_CTX_H
#define SSHTUN_AUTH_CTX_H

#include <libssh2.h>
#include <stdint.h>

#include "config/options.h"
#include "engine/auth_memo.h"
#include "sshtun.h"

/* What authentication needs from the connection that runs it: the
 * libssh2 session (non-blocking) and a way to wait for its socket. */
struct auth_ctx {
    LIBSSH2_SESSION *ssh;
    const sshtun_options *opts;
    int no_secrets;                 /* host key changed: offer no password
                                       or keyboard-interactive answers */
    /* Wait until libssh2 can make progress or deadline_ms (clock_now_ms based)
     * passes: 0, or SSHTUN_ERR_TIMEOUT / _SESSION with err. */
    int (*wait)(void *wait_arg, int64_t deadline_ms, sshtun_error *err);
    void *wait_arg;
    struct auth_memo *memo;         /* shared by a session's connections;
                                       NULL: none */
};

#endif
