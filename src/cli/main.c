/*
 * main.c - the sshtun program: ssh's tunnelling options on libsshtun.
 *
 * Thin by design: parse the command line into options, connect, start
 * the forwards, then wait for a signal or the session's end.  Everything
 * else is the library's.  Fatal errors print one line and exit 255, as
 * ssh does; SIGINT/SIGTERM shut down cleanly and exit 0 once the tunnels
 * are up (while connecting, or with -W, they exit 255 at once).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libssh2.h>
#include <openssl/opensslv.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/prompt.h"
#include "sshtun.h"

#define EXIT_FATAL 255

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

/* Signals are handled by one thread: before the session is up, SIGINT or
 * SIGTERM ends the process at once (nothing to clean up yet); after, they
 * ask main to shut down through a pipe. */
static sigset_t handled_signals;
static int stop_pipe[2] = { -1, -1 };
static int session_up;
static int stdio_mode;

/* The signal thread. */
static void *signal_main(void *arg)
{
    (void)arg;
    for (;;) {
        int sig;
        if (sigwait(&handled_signals, &sig))
            continue;
        if (sig == SIGHUP) {
            fprintf(stderr, "SIGHUP received: sshtun has nothing to "
                    "reload\r\n");
            continue;
        }
        if (!__atomic_load_n(&session_up, __ATOMIC_SEQ_CST) || stdio_mode) {
            /* Connecting, or -W: nothing to shut down gracefully. */
            fprintf(stderr, "sshtun: killed by signal %d\n", sig);
            _exit(EXIT_FATAL);
        }
        if (write(stop_pipe[1], "x", 1) < 0)
            _exit(EXIT_FATAL);
    }
    return NULL;
}

/* -f: the pipe to the waiting parent, or -1. */
static int background_fd = -1;

/* Fork; the parent waits for the child's word and returns the exit
 * status, the child returns -1 and carries on in a new session. */
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
    return -1;                      /* setsid() once up: prompts need the tty */
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

/* Wait for a stop request or the session's end.  Returns the exit code. */
static int run_until_done(sshtun_session *s)
{
    for (;;) {
        struct pollfd p = { .fd = stop_pipe[0], .events = POLLIN };

        if (poll(&p, 1, 250) > 0)
            return 0;
        if (!sshtun_session_alive(s))
            return EXIT_FATAL;
    }
}

int main(int argc, char **argv)
{
    struct cli_args a;
    sshtun_session *s;
    sshtun_error e;
    pthread_t sig_thread;
    char err[600];
    int rc;

    signal(SIGPIPE, SIG_IGN);
    memset(&a, 0, sizeof a);
    if (sshtun_global_init() || !(a.opts = sshtun_options_new()))
        return fatal("initialisation failed");
    if (args_parse(argc, argv, &a, err, sizeof err)) {
        fprintf(stderr, "sshtun: %s\n%s", err, args_usage());
        sshtun_options_free(a.opts);
        sshtun_global_cleanup();
        return EXIT_FATAL;
    }
    /* -f: fork now, before any thread exists; the parent exits with the
     * status the child reports once its forwards are up. */
    if (a.background && !a.show_help && !a.show_version
        && (rc = go_background()) >= 0) {
        sshtun_options_free(a.opts);    /* the parent is done */
        sshtun_global_cleanup();
        return rc;
    }

    sigemptyset(&handled_signals);
    sigaddset(&handled_signals, SIGINT);
    sigaddset(&handled_signals, SIGTERM);
    sigaddset(&handled_signals, SIGHUP);
    /* Blocked before any thread starts, so only the signal thread sees
     * them. */
    pthread_sigmask(SIG_BLOCK, &handled_signals, NULL);
    if (pipe2(stop_pipe, O_CLOEXEC) < 0
        || pthread_create(&sig_thread, NULL, signal_main, NULL))
        return fatal("cannot set up signal handling");
    pthread_detach(sig_thread);

    if (a.show_help) {
        fputs(args_usage(), stdout);
        rc = 0;
        goto out;
    }
    if (a.show_version) {
        fprintf(stderr, "sshtun %s, libssh2 %s, %s\n", SSHTUN_VERSION,
                libssh2_version(0), OPENSSL_VERSION_TEXT);
        rc = 0;
        goto out;
    }
    stdio_mode = a.stdio_host[0] != '\0';
    apply_verbosity(&a);
    sshtun_options_set_log(a.opts, log_stderr, NULL);
    sshtun_options_set_passphrase(a.opts, prompt_passphrase, NULL);
    /* Command-line values are set: the config files fill in the rest. */
    if (sshtun_options_apply_config(a.opts, a.config_file, a.host, &e)) {
        rc = fatal(e.msg);
        goto out;
    }

    s = sshtun_session_connect(a.opts, &e);
    if (!s) {
        rc = fatal(e.msg);
        goto out;
    }
    __atomic_store_n(&session_up, 1, __ATOMIC_SEQ_CST);
    if (a.stdio_host[0]) {
        /* -W: as in ssh, the stdio forward is the only one. */
        report_background(0);
        if (sshtun_forward_stdio(s, a.stdio_host, a.stdio_port, STDIN_FILENO,
                                 STDOUT_FILENO, &e)) {
            fprintf(stderr, "sshtun: %s\n", e.msg);
            rc = EXIT_FATAL;
        } else {
            rc = 0;
        }
    } else if (sshtun_session_start_forwards(s, &e)) {
        fprintf(stderr, "sshtun: Error: %s\nsshtun: Could not request "
                "forwarding.\n", e.msg);
        rc = EXIT_FATAL;
    } else {
        report_background(0);       /* -f: the parent may exit now */
        rc = run_until_done(s);     /* the library logged why it ended */
    }
    sshtun_session_close(s);
out:
    sshtun_options_free(a.opts);
    sshtun_global_cleanup();
    return rc;
}
