/*
 * muxclient.c - the client side of the multiplexing protocol (see
 * muxclient.h).
 *
 * One request at a time, each answered before the next, as OpenSSH's
 * client does; replies are checked against the request id.  Forward
 * specs from the options go out in the message fields OpenSSH uses
 * ("" for the default bind address, "*" for all, port -2 for a path).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/fwdspec.h"
#include "config/options.h"
#include "control/ctlpath.h"
#include "control/muxclient.h"
#include "control/muxio.h"

#define HELLO_TIMEOUT_MS 10000

/* The command an -O argument names. */
int muxclient_command(const char *name)
{
    static const struct { const char *name; int cmd; } cmds[] = {
        { "check", MUXCMD_CHECK }, { "forward", MUXCMD_FORWARD },
        { "cancel", MUXCMD_CANCEL }, { "exit", MUXCMD_EXIT },
        { "stop", MUXCMD_STOP }, { "stats", MUXCMD_STATS },
    };

    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(name, cmds[i].name))
            return cmds[i].cmd;
    return -1;
}

/* Connect and exchange hellos. */
int muxclient_connect(const char *path, char *err, size_t errsize)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct mux_msg hello = { .type = MUX_MSG_HELLO, .version = MUX_VERSION };
    struct mux_msg m;
    unsigned char *body;
    int fd;

    if (strlen(path) > CTLPATH_MAX) {
        snprintf(err, errsize, "ControlPath too long ('%.200s' is over %d "
                 "bytes)", path, CTLPATH_MAX);
        return -2;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errsize, "socket: %s", strerror(errno));
        return -2;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        snprintf(err, errsize, "Control socket connect(%.200s): %s%s", path,
                 strerror(e), e == ECONNREFUSED ? " (a stale socket: no "
                 "master is running)" : "");
        close(fd);
        return e == ENOENT || e == ECONNREFUSED ? -1 : -2;
    }
    err[0] = '\0';
    if (muxio_send(fd, &hello)
        || muxio_read(fd, &m, &body, HELLO_TIMEOUT_MS, err, errsize)
        || m.type != MUX_MSG_HELLO || m.version != MUX_VERSION) {
        if (!err[0])
            snprintf(err, errsize, "master at %.200s: hello exchange "
                     "failed", path);
        free(body);
        close(fd);
        return -2;
    }
    free(body);
    return fd;
}

/* Send a request and read its answer, checking the request id. */
static int transact(int fd, struct mux_msg *req, struct mux_msg *rep,
                    unsigned char **body)
{
    static uint32_t next_rid;
    char err[256];

    req->rid = next_rid++;
    *body = NULL;
    if (muxio_send(fd, req)) {
        fprintf(stderr, "sshtun: write to master failed: %s\n",
                strerror(errno));
        return -1;
    }
    if (muxio_read(fd, rep, body, -1, err, sizeof err)) {
        fprintf(stderr, "sshtun: read from master failed: %s\n",
                err[0] ? err : "connection closed");
        return -1;
    }
    if (rep->rid != req->rid) {
        fprintf(stderr, "sshtun: out of sequence reply from master\n");
        return -1;
    }
    return 0;
}

/* Print a refusal. */
static int refused(const char *what, const struct mux_msg *rep)
{
    if (rep->type == MUX_S_FAILURE || rep->type == MUX_S_PERMISSION_DENIED)
        fprintf(stderr, "sshtun: %s: %.*s\n", what, (int)rep->text_len,
                rep->text);
    else
        fprintf(stderr, "sshtun: %s: unexpected reply %s\n", what,
                muxmsg_type_name(rep->type));
    return -1;
}

/* Fill a forward request's fields from a spec. */
static int fill_fwd(struct mux_msg *m, uint32_t type, const char *spec)
{
    struct fwdspec fs;
    int dynamic = type == MUX_FWD_DYNAMIC
                  || (type == MUX_FWD_REMOTE
                      && fwdspec_parse_local(spec, &fs, NULL));

    memset(&fs, 0, sizeof fs);
    if (dynamic ? fwdspec_parse_dynamic(spec, &fs, NULL)
                : fwdspec_parse_local(spec, &fs, NULL))
        return -1;
    m->fwd_type = type;
    if (fs.listen_path[0]) {
        snprintf(m->listen_host, sizeof m->listen_host, "%s", fs.listen_path);
        m->listen_port = MUX_PORT_PATH;
    } else {
        snprintf(m->listen_host, sizeof m->listen_host, "%s",
                 !fs.has_bind ? "" : fs.bind[0] ? fs.bind : "*");
        m->listen_port = (uint32_t)fs.listen_port;
    }
    if (fs.target_path[0]) {
        snprintf(m->connect_host, sizeof m->connect_host, "%s",
                 fs.target_path);
        m->connect_port = MUX_PORT_PATH;
    } else if (!dynamic) {
        snprintf(m->connect_host, sizeof m->connect_host, "%s", fs.host);
        m->connect_port = (uint32_t)fs.port;
    }
    return 0;
}

/* Ask for (or cancel) one forward. */
static int one_forward(int fd, int cancel, uint32_t type, const char *spec,
                       int print_port)
{
    struct mux_msg req = { .type = cancel ? MUX_C_CLOSE_FWD : MUX_C_OPEN_FWD };
    struct mux_msg rep;
    unsigned char *body;
    char what[400];
    int rc = 0;

    snprintf(what, sizeof what, "%s %s", cancel ? "cancelling"
             : "forwarding", spec);
    if (fill_fwd(&req, type, spec)) {
        fprintf(stderr, "sshtun: bad forwarding specification '%s'\n", spec);
        return -1;
    }
    if (transact(fd, &req, &rep, &body))
        rc = -1;
    else if (rep.type == MUX_S_REMOTE_PORT && !cancel) {
        if (print_port)
            printf("%u\n", rep.value);
    } else if (rep.type != MUX_S_OK) {
        rc = refused(what, &rep);
    }
    free(body);
    return rc;
}

/* Every -L, -D and -R of the options. */
static int all_forwards(int fd, const struct muxclient_req *r, int cancel)
{
    const sshtun_options *o = r->opts;
    int rc = 0;

    for (int i = 0; i < o->local_forwards.n; i++)
        rc |= one_forward(fd, cancel, MUX_FWD_LOCAL, o->local_forwards.v[i], 0);
    for (int i = 0; i < o->dynamic_forwards.n; i++)
        rc |= one_forward(fd, cancel, MUX_FWD_DYNAMIC,
                          o->dynamic_forwards.v[i], 0);
    for (int i = 0; i < o->remote_forwards.n; i++)
        rc |= one_forward(fd, cancel, MUX_FWD_REMOTE, o->remote_forwards.v[i],
                          r->cmd == MUXCMD_FORWARD);
    return rc;
}

/* A request with a request id only, answered by OK (or ALIVE). */
static int simple(int fd, uint32_t type, const char *what, int quiet)
{
    struct mux_msg req = { .type = type }, rep;
    unsigned char *body;
    int rc = transact(fd, &req, &rep, &body);

    if (!rc && type == MUX_C_ALIVE_CHECK && rep.type == MUX_S_ALIVE)
        fprintf(stderr, "Master running (pid=%u)\r\n", rep.value);
    else if (!rc && rep.type == MUX_S_OK && !quiet)
        fprintf(stderr, "%s request sent.\r\n", what);
    else if (!rc && rep.type != MUX_S_OK)
        rc = refused(what, &rep);
    free(body);
    return rc;
}

/* -O stats. */
static int stats(int fd, int table)
{
    struct mux_msg req = { .type = MUX_C_STATS, .value = table ? 1 : 0 };
    struct mux_msg rep;
    unsigned char *body;
    int rc = transact(fd, &req, &rep, &body);

    if (!rc && rep.type == MUX_S_STATS)
        fwrite(rep.text, 1, rep.text_len, stdout);
    else if (!rc)
        rc = refused("stats", &rep);
    free(body);
    return rc;
}

/* -W through the master: pass stdin and stdout, wait until it hangs up. */
static int stdio_fwd(int fd, const struct muxclient_req *r)
{
    struct mux_msg req = { .type = MUX_C_NEW_STDIO_FWD, .rid = 0 };
    struct mux_msg rep;
    unsigned char *body = NULL;
    char err[256];
    int rc = -1;

    snprintf(req.connect_host, sizeof req.connect_host, "%s", r->stdio_host);
    req.connect_port = (uint32_t)r->stdio_port;
    if (muxio_send(fd, &req) || muxio_send_fd(fd, 0) || muxio_send_fd(fd, 1))
        fprintf(stderr, "sshtun: cannot pass descriptors to the master\n");
    else if (muxio_read(fd, &rep, &body, -1, err, sizeof err))
        fprintf(stderr, "sshtun: read from master failed: %s\n", err);
    else if (rep.type != MUX_S_SESSION_OPENED)
        refused("Stdio forwarding request failed", &rep);
    else
        rc = 0;
    free(body);
    if (rc == 0) {
        /* The master ends the forward by hanging up. */
        if (muxio_read(fd, &rep, &body, -1, err, sizeof err) == 0)
            rc = -1;
        free(body);
    }
    return rc;
}

/* Run a request. */
int muxclient_run(int fd, const struct muxclient_req *r)
{
    int rc;

    switch (r->cmd) {
    case MUXCMD_CHECK: rc = simple(fd, MUX_C_ALIVE_CHECK, "check", 0); break;
    case MUXCMD_EXIT: rc = simple(fd, MUX_C_TERMINATE, "Exit", r->quiet);
        break;
    case MUXCMD_STOP:
        rc = simple(fd, MUX_C_STOP_LISTENING, "Stop listening", r->quiet);
        break;
    case MUXCMD_FORWARD: rc = all_forwards(fd, r, 0); break;
    case MUXCMD_CANCEL: rc = all_forwards(fd, r, 1); break;
    case MUXCMD_STATS: rc = stats(fd, r->table); break;
    default:
        rc = all_forwards(fd, r, 0);
        if (!rc && r->stdio_host)
            rc = stdio_fwd(fd, r);
        break;
    }
    close(fd);
    fflush(stdout);
    return rc ? 255 : 0;
}
