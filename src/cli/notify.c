/*
 * notify.c - the sd_notify datagram protocol, spoken directly (no
 * libsystemd): one datagram of newline-separated KEY=value lines to the
 * Unix socket named by NOTIFY_SOCKET, a path or, with a leading '@', an
 * abstract-namespace name.
 *
 * Why here and not in the library: the library never prints, exits or
 * talks to the outside world on its own, and "ready" is the program's
 * judgement (logged in and every forward listening), made in main once
 * sshtun_session_start_forwards has returned.  What STATUS= reports on a
 * reconnect is read from sshtun_session_stats() in main's wait loop,
 * which wakes every 250 ms anyway, so no library thread ever calls into
 * this code and the library needs no callback for it.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/notify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static int64_t watchdog_ms;

/* Parse the environment and open the socket. */
int notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *usec = getenv("WATCHDOG_USEC");
    const char *wpid = getenv("WATCHDOG_PID");
    size_t len;

    if (usec && (!wpid || atol(wpid) == (long)getpid()))
        watchdog_ms = strtoll(usec, NULL, 10) / 2000;
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (!path || (path[0] != '/' && path[0] != '@')
        || (len = strlen(path)) >= sizeof notify_addr.sun_path) {
        unsetenv("NOTIFY_SOCKET");
        return 0;
    }
    memset(&notify_addr, 0, sizeof notify_addr);
    notify_addr.sun_family = AF_UNIX;
    memcpy(notify_addr.sun_path, path, len);
    if (path[0] == '@')
        notify_addr.sun_path[0] = '\0';     /* abstract: no NUL at the end */
    notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len
                             + (path[0] == '/'));
    unsetenv("NOTIFY_SOCKET");
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return notify_fd >= 0;
}

/* Send one datagram. */
void notify_send(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n;

    if (notify_fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof msg)
        n = (int)sizeof msg - 1;
    if (sendto(notify_fd, msg, (size_t)n, MSG_NOSIGNAL,
               (struct sockaddr *)&notify_addr, notify_len) < 0) {
        /* Nothing to do: the manager is gone or does not listen. */
    }
}

/* The watchdog period. */
int64_t notify_watchdog_ms(void)
{
    return notify_fd >= 0 ? watchdog_ms : 0;
}

/* Close. */
void notify_close(void)
{
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
}
