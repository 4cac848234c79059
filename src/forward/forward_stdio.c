/*
 * forward_stdio.c - `ssh -W host:port`: a pair of file descriptors joined
 * to one direct-tcpip channel (the joining is the engine's bridge.c).
 *
 * Used as another program's ProxyCommand: standard input goes to the
 * channel and the channel to standard output, until the channel's EOF
 * (as with ssh -W, even if input is still open).
 */
#include "config.h"

#include "engine/bridge.h"

/* Join in_fd/out_fd to a channel to host:port until both sides end. */
int sshtun_forward_stdio(sshtun_session *s, const char *host, int port,
                         int in_fd, int out_fd, sshtun_error *err)
{
    return bridge_stdio(s, host, port, in_fd, out_fd, err);
}
