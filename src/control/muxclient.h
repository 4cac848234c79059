/*
 * muxclient.h - sshtun as a multiplexing client: the -O commands, and
 * using a live master's connection for -L/-R/-D and -W (as ssh does with
 * ControlMaster=no or auto).
 */
#ifndef SSHTUN_MUXCLIENT_H
#define SSHTUN_MUXCLIENT_H

#include <stddef.h>

#include "sshtun.h"

enum muxclient_cmd {
    MUXCMD_NONE = 0,                /* no -O: forwards and/or -W */
    MUXCMD_CHECK,
    MUXCMD_FORWARD,
    MUXCMD_CANCEL,
    MUXCMD_EXIT,
    MUXCMD_STOP,
    MUXCMD_STATS
};

/* The command an -O argument names; -1 if none. */
int muxclient_command(const char *name);

/* Connect to the master at path and exchange hellos.  Returns the socket,
 * -1 if no master listens there (absent or stale), or -2 on another
 * error; err says why either way. */
int muxclient_connect(const char *path, char *err, size_t errsize);

/* What to ask of the master. */
struct muxclient_req {
    enum muxclient_cmd cmd;
    const sshtun_options *opts;     /* its -L/-R/-D lists */
    const char *stdio_host;         /* -W, or NULL */
    int stdio_port;
    int table;                      /* stats as a table (-v) */
    int quiet;                      /* -q: no "request sent" lines */
};

/* Run the request on a connected socket (closed here).  Output goes to
 * stdout, messages to stderr, as ssh words them.  Returns the exit
 * status (0, or 255). */
int muxclient_run(int fd, const struct muxclient_req *req);

#endif
