/*
 * fdio.c - writing whole buffers to a descriptor (see fdio.h).
 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fdio.h"

/* Send all of buf, retrying short writes and EINTR. */
int fdio_send_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)     /* a pipe or a file (-W) */
            n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
