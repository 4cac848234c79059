/*
 * prompt.c - passphrase prompts on /dev/tty or via SSH_ASKPASS.
 *
 * SSH_ASKPASS is used when SSH_ASKPASS_REQUIRE=force, or when it is set
 * and there is no terminal (as ssh does with no tty); otherwise the
 * prompt goes to /dev/tty with echo off.
 *
 * A prompt may run on the session's I/O thread (a reconnect needing a
 * passphrase), so it never blocks for long: it polls with a short timeout
 * and gives up once prompt_cancel() is called (the program is closing the
 * session).  The terminal's settings are restored on every way out, and
 * remembered so that a signal ending the program mid-prompt can restore
 * them too.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/prompt.h"

/* How often a waiting prompt looks at the cancel flag. */
#define PROMPT_POLL_MS 200

static int cancelled;                   /* atomic */

/* The terminal whose echo a prompt turned off, and its settings. */
static pthread_mutex_t tty_mu = PTHREAD_MUTEX_INITIALIZER;
static int tty_fd = -1;                 /* [tty_mu] */
static struct termios tty_saved;        /* [tty_mu] */

/* End prompts. */
void prompt_cancel(void)
{
    __atomic_store_n(&cancelled, 1, __ATOMIC_SEQ_CST);
}

/* Whether prompts are to end. */
static int is_cancelled(void)
{
    return __atomic_load_n(&cancelled, __ATOMIC_SEQ_CST);
}

/* Restore the terminal a prompt changed. */
void prompt_restore_tty(void)
{
    pthread_mutex_lock(&tty_mu);
    if (tty_fd >= 0) {
        tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
        tty_fd = -1;
    }
    pthread_mutex_unlock(&tty_mu);
}

/* Wait until fd is readable: 1, or 0 once cancelled, -1 on error. */
static int wait_readable(int fd)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n;

        if (is_cancelled())
            return 0;
        n = poll(&p, 1, PROMPT_POLL_MS);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* Strip a trailing newline. */
static void chomp(char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Run the askpass program with the prompt and read one line. */
static int askpass(const char *prog, const char *prompt, char *buf,
                   size_t size)
{
    int p[2], status;
    pid_t pid;
    size_t got = 0;

    if (pipe(p) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execlp(prog, prog, prompt, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    while (got + 1 < size) {
        ssize_t n;
        if (wait_readable(p[0]) <= 0) {
            kill(pid, SIGTERM);     /* cancelled: the program is closing */
            got = 0;
            break;
        }
        n = read(p[0], buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || is_cancelled())
        return -1;
    chomp(buf);
    return 0;
}

/* Turn echo off on fd, remembering the settings to restore. */
static int echo_off(int fd)
{
    struct termios quiet;
    int ok;

    pthread_mutex_lock(&tty_mu);
    ok = tty_fd < 0 && tcgetattr(fd, &tty_saved) == 0;
    if (ok) {
        quiet = tty_saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tty_fd = fd;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    pthread_mutex_unlock(&tty_mu);
    return ok;
}

/* Read a line from the terminal with echo off.  Returns 0, or -1 when
 * cancelled or the terminal went away. */
static int tty_read(int fd, const char *prompt, char *buf, size_t size)
{
    size_t got = 0;
    int rc = 0, changed;
    ssize_t w = write(fd, prompt, strlen(prompt));

    (void)w;
    changed = echo_off(fd);
    while (got + 1 < size) {
        char ch;
        ssize_t n;
        if ((rc = wait_readable(fd)) <= 0) {
            rc = -1;
            break;
        }
        rc = 0;
        n = read(fd, &ch, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0 || ch == '\n')
            break;
        buf[got++] = ch;
    }
    buf[got] = '\0';
    if (rc)
        memset(buf, 0, size);
    if (changed)
        prompt_restore_tty();
    w = write(fd, "\n", 1);
    return rc;
}

/* Ask for a passphrase. */
int prompt_passphrase(const char *prompt, char *buf, size_t size, void *user)
{
    const char *prog = getenv("SSH_ASKPASS");
    const char *require = getenv("SSH_ASKPASS_REQUIRE");
    int fd, rc;

    (void)user;
    if (is_cancelled())
        return -1;
    if (require && !strcmp(require, "never"))
        prog = NULL;
    if (prog && *prog && require && !strcmp(require, "force"))
        return askpass(prog, prompt, buf, size);
    fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return prog && *prog ? askpass(prog, prompt, buf, size) : -1;
    rc = tty_read(fd, prompt, buf, size);
    close(fd);
    return rc;
}
