/*
 * notify.h - telling a service manager (systemd's Type=notify) how the
 * tunnel is doing: READY=1, STATUS=, STOPPING=1, WATCHDOG=1, MAINPID=.
 */
#ifndef SSHTUN_NOTIFY_H
#define SSHTUN_NOTIFY_H

#include <stdint.h>

/* Read NOTIFY_SOCKET and WATCHDOG_USEC (and drop them from the
 * environment, so programs sshtun starts do not inherit them).  Call
 * before any thread starts.  Returns 1 if there is a manager to tell. */
int notify_init(void);

/* Send one message ("READY=1\nSTATUS=..."); nothing without a manager. */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* How often to send WATCHDOG=1 (half of WATCHDOG_USEC), in ms; 0: never. */
int64_t notify_watchdog_ms(void);

/* Close the socket. */
void notify_close(void);

#endif
