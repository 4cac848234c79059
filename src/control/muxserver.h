/*
 * muxserver.h - sshtun as a multiplexing master: a control socket that
 * OpenSSH's `ssh -S path -O ...` and `ssh -S path -W host:port` (and
 * sshtun's own -O commands) can drive.
 */
#ifndef SSHTUN_MUXSERVER_H
#define SSHTUN_MUXSERVER_H

#include <stddef.h>

#include "sshtun.h"

struct muxserver;

/* What the master's owner does on request. */
struct muxserver_hooks {
    void (*terminate)(void *arg);   /* MUX_C_TERMINATE was accepted */
    void *arg;
};

/* Listen on path (mode 0600 from the start; an existing path is an
 * error, unless replace_stale and it is a socket nobody listens on).
 * Returns the server, or NULL with err. */
struct muxserver *muxserver_start(sshtun_session *s, const char *path,
                                  int replace_stale,
                                  const struct muxserver_hooks *hooks,
                                  sshtun_error *err);

/* Statistics text (format 0: JSON, 1: table), serialised with the
 * forward changes clients ask for.  Returns the length. */
size_t muxserver_stats(struct muxserver *m, int format, char *buf,
                       size_t size);

/* Stop listening (removing the socket), end every client (stdio
 * forwards included) and free.  Call before closing the session. */
void muxserver_stop(struct muxserver *m);

/* Whether path is a socket nobody listens on (1), a live one (0), or
 * absent or not a socket (-1). */
int muxserver_path_stale(const char *path);

#endif
