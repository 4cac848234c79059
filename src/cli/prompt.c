/*
 * prompt.c - passphrase prompts on /dev/tty or via SSH_ASKPASS.
 *
 * SSH_ASKPASS is used when SSH_ASKPASS_REQUIRE=force, or when it is set
 * and there is no terminal (as ssh does with no tty); otherwise the
 * prompt goes to /dev/tty with echo off.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/prompt.h"

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
        ssize_t n = read(p[0], buf + got, size - 1 - got);
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
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    chomp(buf);
    return 0;
}

/* Read a line from the terminal with echo off. */
static int tty_read(int fd, const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    size_t got = 0;
    int have_termios = tcgetattr(fd, &old) == 0;
    ssize_t w = write(fd, prompt, strlen(prompt));

    (void)w;
    if (have_termios) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    while (got + 1 < size) {
        char ch;
        ssize_t n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || ch == '\n')
            break;
        buf[got++] = ch;
    }
    buf[got] = '\0';
    if (have_termios)
        tcsetattr(fd, TCSAFLUSH, &old);
    w = write(fd, "\n", 1);
    return 0;
}

/* Ask for a passphrase. */
int prompt_passphrase(const char *prompt, char *buf, size_t size, void *user)
{
    const char *prog = getenv("SSH_ASKPASS");
    const char *require = getenv("SSH_ASKPASS_REQUIRE");
    int fd, rc;

    (void)user;
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
