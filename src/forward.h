/*
 * forward.h - forwards that run by themselves on a session (`ssh -L`).
 *
 * A forward owns its listening sockets and one accept thread.  Each
 * accepted client gets its own reader thread, which opens the channel
 * (so a slow open never holds up another client) and then starts a writer
 * thread: reader = client socket -> channel, writer = channel -> client
 * socket.  Half-closes pass through both ways.
 */
#ifndef SSHTUN_FORWARD_H
#define SSHTUN_FORWARD_H

#include "sshtun.h"

/* Stop and free every forward of the session (at session close). */
void forward_close_all(struct sshtun_session *s);

#endif
