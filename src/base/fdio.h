/*
 * fdio.h - writing whole buffers to a descriptor, whatever it is.
 */
#ifndef SSHTUN_FDIO_H
#define SSHTUN_FDIO_H

#include <stddef.h>

/* Send all of buf to fd: a socket (no SIGPIPE), a pipe or a file.
 * Returns 0, or -1 with errno set. */
int fdio_send_all(int fd, const void *buf, size_t len);

#endif
