/*
 * main.c - the sshtun program: ssh's tunnelling options on libsshtun.
 *
 * Thin by design: parse the command line into options, read the config
 * files, then either talk to a running master (-O, or -S with a live
 * master) or connect, start the forwards (and the control socket with
 * -M) and wait for a signal or the session's end.  Fatal errors print one
 * line and exit 255, as ssh does; SIGINT/SIGTERM shut down cleanly and
 * exit 0 once the tunnels are up (while connecting, or with -W, they exit
 * 255 at once).  No thread is started before the configuration is
 * accepted, so an early exit never races a thread being born.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libssh2.h>
#include <openssl/opensslv.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli/args.h"
#include "cli/notify.h"
#include "cli/prompt.h"
#include "config/options.h"
#include "control/ctlpath.h"
#include "control/muxclient.h"
#include "control/muxserver.h"
#include "control/statsfmt.h"
#include "sshtun.h"

#define EXIT_FATAL 255
#define CONTINUE (-1)               /* not done: go on to the next step */
#define STATS_TEXT_MAX (64 * 1024)

/* Log callback: errors and info as plain lines, debug with a prefix. */
static void log_stderr(int level, const char *msg, void *user)
{
    (void)user;
    if (level >= SSHTUN_LOG_DEBUG)
        fprintf(stderr, "debug%d: %s\r\n", level - SSHTUN_LOG_DEBUG + 1,
                msg);
    else
        fprintf(stderr, "%s\r\n", msg);
}

/* Print a fatal error and return ssh's exit status for it. */
static int fatal(const char *msg)
{
    fprintf(stderr, "sshtun: %s\n", msg);
    return EXIT_FATAL;
}

/* Apply -v/-q to LogLevel. */
static void apply_verbosity(struct cli_args *a)
{
    /* As ssh: -v is DEBUG1, -vv DEBUG2, -vvv DEBUG3. */
    static const char *const levels[] = { "DEBUG1", "DEBUG2", "DEBUG3" };
    sshtun_error e;

    if (a->quiet)
        sshtun_options_set(a->opts, "LogLevel", "QUIET", &e);
    else if (a->verbose > 0)
        sshtun_options_set(a->opts, "LogLevel",
                           levels[a->verbose > 3 ? 2 : a->verbose - 1], &e);
}

/* ---------------------------------------------------------------- signals */

/* Signals are handled by one thread: before the session is up, SIGINT or
 * SIGTERM ends the process at once (nothing to clean up yet, but a prompt
 * may have turned echo off); after, they ask main to shut down through a
 * pipe ('x'), and SIGUSR1 asks for a statistics summary ('u').  SIGUSR2,
 * sent by main to the thread alone, ends the thread. */
static sigset_t handled_signals;
static int stop_pipe[2] = { -1, -1 };
static int session_up;              /* atomic */
static int stdio_mode;
static int signals_quit;            /* atomic */
static pthread_t sig_thread;

/* Tell main something through the pipe. */
static void poke_main(char what)
{
    if (write(stop_pipe[1], &what, 1) < 0)
        _exit(EXIT_FATAL);
}

/* The signal thread. */
static void *signal_main(void *arg)
{
    (void)arg;
    for (;;) {
        int sig;
        if (sigwait(&handled_signals, &sig))
            continue;
        if (sig == SIGUSR2 && __atomic_load_n(&signals_quit, __ATOMIC_SEQ_CST))
            return NULL;
        if (sig == SIGHUP) {
            fprintf(stderr, "SIGHUP received: sshtun has nothing to "
                    "reload\r\n");
        } else if (sig == SIGUSR1) {
            poke_main('u');
        } else if (sig == SIGINT || sig == SIGTERM) {
            if (!__atomic_load_n(&session_up, __ATOMIC_SEQ_CST)
                || stdio_mode) {
                /* Connecting, or -W: nothing to shut down gracefully. */
                prompt_restore_tty();
                fprintf(stderr, "sshtun: killed by signal %d\n", sig);
                _exit(EXIT_FATAL);
            }
            poke_main('x');
        }
    }
}

/* Start the signal thread (once the configuration is accepted). */
static int signals_start(void)
{
    sigemptyset(&handled_signals);
    sigaddset(&handled_signals, SIGINT);
    sigaddset(&handled_signals, SIGTERM);
    sigaddset(&handled_signals, SIGHUP);
    sigaddset(&handled_signals, SIGUSR1);
    sigaddset(&handled_signals, SIGUSR2);
    /* Blocked before any thread starts, so only the signal thread sees
     * them. */
    pthread_sigmask(SIG_BLOCK, &handled_signals, NULL);
    if (pipe2(stop_pipe, O_CLOEXEC) < 0
        || pthread_create(&sig_thread, NULL, signal_main, NULL))
        return -1;
    return 0;
}

/* End and join the signal thread. */
static void signals_stop(void)
{
    __atomic_store_n(&signals_quit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(sig_thread, SIGUSR2);
    pthread_join(sig_thread, NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
}

/* ---------------------------------------------------------------- -f */

/* -f: the pipe to the waiting parent, or -1. */
static int background_fd = -1;

/* Fork; the parent waits for the child's word and returns the exit
 * status, the child returns CONTINUE and carries on. */
static int go_background(void)
{
    int p[2];
    unsigned char status;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
        return fatal("cannot go to the background");
    if (pid > 0) {
        ssize_t n;
        close(p[1]);
        do
            n = read(p[0], &status, 1);
        while (n < 0 && errno == EINTR);
        /* No word: the child failed and has said why on stderr. */
        return n == 1 ? status : EXIT_FATAL;
    }
    close(p[0]);
    background_fd = p[1];
    return CONTINUE;                /* setsid() once up: prompts need the tty */
}

/* Tell the waiting parent (if any) how it went. */
static void report_background(unsigned char status)
{
    ssize_t n;
    int fd;

    if (background_fd < 0)
        return;
    n = write(background_fd, &status, 1);
    (void)n;
    close(background_fd);
    background_fd = -1;
    setsid();
    /* Like ssh -f: no more terminal input. */
    if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }
}

/* ---------------------------------------------------------------- setup */

/* Parse argv, answer -h/-V, read the config files.  Returns CONTINUE or
 * the exit status. */
static int configure(int argc, char **argv, struct cli_args *a)
{
    sshtun_error e;
    char err[600];

    if (args_parse(argc, argv, a, err, sizeof err)) {
        fprintf(stderr, "sshtun: %s\n%s", err, args_usage());
        return EXIT_FATAL;
    }
    if (a->show_help) {
        fputs(args_usage(), stdout);
        return 0;
    }
    if (a->show_version) {
        fprintf(stderr, "sshtun %s, libssh2 %s, %s\n", sshtun_version(),
                libssh2_version(0), OPENSSL_VERSION_TEXT);
        return 0;
    }
    stdio_mode = a->stdio_host[0] != '\0';
    apply_verbosity(a);
    sshtun_options_set_log(a->opts, log_stderr, NULL);
    sshtun_options_set_passphrase(a->opts, prompt_passphrase, NULL);
    /* Command-line values are set: the config files fill in the rest. */
    if (sshtun_options_apply_config(a->opts, a->config_file, a->host, &e))
        return fatal(e.msg);
    return CONTINUE;
}

/* The control socket's path (-S, -o ControlPath or SshtunControlPath),
 * expanded into path ("" for none).  Returns CONTINUE or 255. */
static int control_path(struct cli_args *a, char *path, size_t size)
{
    const sshtun_options *o = a->opts;
    const char *tmpl = a->control_path[0] ? a->control_path
                                          : o->control_path;
    struct passwd *pw = getpwuid(getuid());
    char local[256] = "", err[400];
    struct ctlpath_info in;

    path[0] = '\0';
    if (!tmpl || !*tmpl || !strcasecmp(tmpl, "none"))
        return CONTINUE;
    gethostname(local, sizeof local - 1);
    in.host = o->hostname ? o->hostname : a->host;
    in.orig_host = a->host;
    in.port = options_port(o);
    in.local_user = pw ? pw->pw_name : "";
    in.ruser = o->user ? o->user : in.local_user;
    in.local_host = local;
    in.uid = (unsigned)getuid();
    in.home = pw ? pw->pw_dir : "/";
    if (ctlpath_expand(tmpl, &in, path, size, err, sizeof err))
        return fatal(err);
    return CONTINUE;
}

/* Talk to a master: -O, or -S with a live one (unless -M).  Returns the
 * exit status, or CONTINUE to connect (no master, or become one). */
static int try_master(struct cli_args *a, const char *path)
{
    struct muxclient_req req = { MUXCMD_NONE, a->opts, NULL, 0,
                                 a->verbose > 0, a->quiet };
    char err[400];
    int fd;

    if (a->control_cmd) {
        int cmd = muxclient_command(a->control_cmd);
        if (cmd < 0) {
            fprintf(stderr, "sshtun: unknown -O command '%s' (check, "
                    "forward, cancel, exit, stop or stats)\n", a->control_cmd);
            return EXIT_FATAL;
        }
        if (!path[0])
            return fatal("No ControlPath specified for \"-O\" command");
        req.cmd = (enum muxclient_cmd)cmd;
    } else if (!path[0] || a->control_master == CTL_YES) {
        return CONTINUE;
    }
    if ((fd = muxclient_connect(path, err, sizeof err)) < 0) {
        if (a->control_cmd || (fd == -2 && a->control_master == CTL_AUTO))
            return fatal(err);
        if (fd == -2)
            fprintf(stderr, "sshtun: %s\n", err);
        return CONTINUE;            /* no master: connect ourselves */
    }
    req.stdio_host = a->stdio_host[0] ? a->stdio_host : NULL;
    req.stdio_port = a->stdio_port;
    return muxclient_run(fd, &req);
}

/* ---------------------------------------------------------------- running */

/* What the waiting loop watches. */
struct running {
    sshtun_session *s;
    struct muxserver *ctl;          /* -M, or NULL */
    int last_up;                    /* for STATUS= on changes */
};

/* Log the statistics summary (SIGUSR1). */
static void log_stats(struct running *r)
{
    char *text = malloc(STATS_TEXT_MAX);

    if (!text)
        return;
    if (r->ctl)
        muxserver_stats(r->ctl, 1, text, STATS_TEXT_MAX);
    else
        statsfmt_table(r->s, text, STATS_TEXT_MAX);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(stderr, "%s\r\n", line);
    free(text);
}

/* Tell the service manager about an up/down change. */
static void notify_state(struct running *r)
{
    struct sshtun_session_stats st = { .size = sizeof st };

    if (sshtun_session_stats(r->s, &st) || st.up == r->last_up)
        return;
    r->last_up = st.up;
    if (st.up)
        notify_send("STATUS=connected");
    else if (st.retry_in_ms >= 0)
        notify_send("STATUS=reconnecting in %lld s: %s",
                    (long long)(st.retry_in_ms + 999) / 1000, st.status);
    else
        notify_send("STATUS=down: %s", st.status);
}

/* Wait for a stop request or the session's end.  Returns the exit code. */
static int run_until_done(struct running *r)
{
    int64_t watchdog = notify_watchdog_ms(), next_dog = clock_now_ms();

    for (;;) {
        struct pollfd p = { .fd = stop_pipe[0], .events = POLLIN };
        char what;

        if (watchdog && clock_now_ms() >= next_dog) {
            notify_send("WATCHDOG=1");
            next_dog = clock_now_ms() + watchdog;
        }
        if (poll(&p, 1, 250) > 0 && read(stop_pipe[0], &what, 1) == 1) {
            if (what == 'x')
                return 0;
            log_stats(r);
        }
        if (!sshtun_session_alive(r->s))
            return EXIT_FATAL;
        notify_state(r);
    }
}

/* MUX_C_TERMINATE: shut down as on SIGTERM. */
static void control_terminate(void *arg)
{
    (void)arg;
    poke_main('x');
}

/* Start the forwards (and the control socket); then run until done. */
static int serve_forwards(struct running *r, struct cli_args *a,
                          const char *path)
{
    struct muxserver_hooks hooks = { control_terminate, NULL };
    sshtun_error e;
    int rc;

    if (sshtun_session_start_forwards(r->s, &e)) {
        fprintf(stderr, "sshtun: Error: %s\nsshtun: Could not request "
                "forwarding.\n", e.msg);
        return EXIT_FATAL;
    }
    if (path[0] && !(r->ctl = muxserver_start(r->s, path,
                                              a->control_master == CTL_AUTO,
                                              &hooks, &e)))
        return fatal(e.msg);
    /* Logged in and every forward listens: now, and never before. */
    if (background_fd >= 0)
        notify_send("READY=1\nSTATUS=connected\nMAINPID=%d", (int)getpid());
    else
        notify_send("READY=1\nSTATUS=connected");
    report_background(0);           /* -f: the parent may exit now */
    rc = run_until_done(r);         /* the library logged why it ended */
    notify_send("STOPPING=1");
    return rc;
}

/* Connect and serve: the stdio forward, or the forwards.  Returns the
 * exit status. */
static int run_session(struct cli_args *a, const char *path)
{
    struct running r = { NULL, NULL, 1 };
    sshtun_error e;
    int rc;

    if (!(r.s = sshtun_session_connect(a->opts, &e)))
        return fatal(e.msg);
    __atomic_store_n(&session_up, 1, __ATOMIC_SEQ_CST);
    if (stdio_mode) {
        /* -W: as in ssh, the stdio forward is the only one. */
        if (path[0] && a->control_master != CTL_UNSET
            && a->control_master != CTL_NO)
            fprintf(stderr, "sshtun: no control socket with -W\n");
        report_background(0);
        rc = sshtun_forward_stdio(r.s, a->stdio_host, a->stdio_port,
                                  STDIN_FILENO, STDOUT_FILENO, &e)
                 ? fatal(e.msg) : 0;
    } else {
        rc = serve_forwards(&r, a, path);
    }
    prompt_cancel();                /* a reconnect's prompt ends now */
    muxserver_stop(r.ctl);
    sshtun_session_close(r.s);
    return rc;
}

/* Everything after the configuration: master or client, then run. */
static int run(struct cli_args *a)
{
    char path[CTLPATH_MAX + 1];
    int rc;

    if ((rc = control_path(a, path, sizeof path)) != CONTINUE
        || (rc = try_master(a, path)) != CONTINUE)
        return rc;
    if (a->background && (rc = go_background()) != CONTINUE)
        return rc;
    notify_init();
    if (signals_start())
        return fatal("cannot set up signal handling");
    rc = run_session(a, path);
    signals_stop();
    notify_close();
    return rc;
}

/* Each forwarded connection takes a descriptor: like a server, take the
 * hard limit (the library leaves the process's limits to its program). */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct cli_args a;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    memset(&a, 0, sizeof a);
    if (sshtun_global_init() || !(a.opts = sshtun_options_new()))
        return fatal("initialisation failed");
    if ((rc = configure(argc, argv, &a)) == CONTINUE)
        rc = run(&a);
    sshtun_options_free(a.opts);
    sshtun_global_cleanup();
    return rc;
}
