/*
 * chanopen.h - opening channels through the session's pool: requests are
 * queued without waiting, then waited for with a time limit.
 */
#ifndef SSHTUN_CHANOPEN_H
#define SSHTUN_CHANOPEN_H

#include "sshtun.h"

struct sshtun_channel;
struct sshtun_session;

/* Wait for the open to be decided.  Returns 0 when open, else the error
 * (err filled); the caller then closes it. */
int chanopen_wait(struct sshtun_channel *ch, int timeout_ms,
                  sshtun_error *err);

/* Request a direct-tcpip channel without waiting; chanopen_wait next. */
struct sshtun_channel *chanopen_direct_start(struct sshtun_session *s,
                                             const char *host, int port,
                                             const char *orig_host,
                                             int orig_port,
                                             sshtun_error *err);

/* Request a direct-streamlocal@openssh.com channel to a server-side Unix
 * socket without waiting; chanopen_wait next. */
struct sshtun_channel *chanopen_streamlocal_start(struct sshtun_session *s,
                                                  const char *path,
                                                  sshtun_error *err);

#endif
