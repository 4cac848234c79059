/*
 * listener.c - local listening sockets (see listener.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "forward/listener.h"

/* "[::1]:80" / "127.0.0.1:80" for an address. */
void listener_format_sockaddr(const void *sa, char *buf, size_t size)
{
    const struct sockaddr *s = sa;
    char host[INET6_ADDRSTRLEN] = "?";

    if (s->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(buf, size, "[%s]:%d", host, ntohs(a->sin6_port));
    } else if (s->sa_family == AF_INET) {
        const struct sockaddr_in *a = sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(buf, size, "%s:%d", host, ntohs(a->sin_port));
    } else {
        snprintf(buf, size, "unix socket");
    }
}

/* Bind one address.  Returns fd, or -errno. */
static int bind_one(const struct sockaddr *sa, socklen_t len)
{
    /* Non-blocking: accept runs after poll, and must not block if the
     * client left in between (it holds the descriptor reserve's lock). */
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0), one = 1;

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* A long backlog: clients wait there while accepting pauses
     * (ForwardMaxHandshakes). */
    if (bind(fd, sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* The port a socket is bound to. */
static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Bind every address of host (NULL: wildcard) on port. */
static int bind_host(struct listener *l, const char *host, int port,
                     int family, int *first_err, char *first_addr,
                     size_t addrsize, sshtun_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%d", l->nfds ? l->port : port);
    if ((rc = getaddrinfo(host, portstr, &hints, &res)))
        return error_set(err, SSHTUN_ERR_RESOLVE, "bind address %s: %s",
                         host ? host : "*", gai_strerror(rc));
    for (ai = res; ai && l->nfds < LISTENER_MAX_FDS; ai = ai->ai_next) {
        int fd;
        if (l->nfds) {              /* port 0: reuse the port we got */
            if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port =
                    htons((uint16_t)l->port);
            else
                ((struct sockaddr_in *)ai->ai_addr)->sin_port =
                    htons((uint16_t)l->port);
        }
        fd = bind_one(ai->ai_addr, ai->ai_addrlen);
        if (fd < 0) {
            if (!*first_err && fd != -EAFNOSUPPORT && fd != -EADDRNOTAVAIL) {
                *first_err = -fd;
                listener_format_sockaddr(ai->ai_addr, first_addr, addrsize);
            }
            continue;
        }
        if (!l->nfds)
            l->port = bound_port(fd);
        l->fds[l->nfds++] = fd;
    }
    freeaddrinfo(res);
    return 0;
}

/* Bind a listener as ssh would. */
int listener_open(struct listener *l, const char *bind_addr, int port,
                  int gateway_ports, int family, sshtun_error *err)
{
    int first_err = 0, rc = 0;
    char first_addr[80] = "";

    if (family != AF_INET && family != AF_INET6)
        family = AF_UNSPEC;
    l->nfds = 0;
    l->port = port;
    if (!bind_addr && !gateway_ports) {
        if (family != AF_INET6)
            rc = bind_host(l, "127.0.0.1", port, AF_INET, &first_err,
                           first_addr, sizeof first_addr, err);
        if (!rc && family != AF_INET)
            rc = bind_host(l, "::1", port, AF_INET6, &first_err, first_addr,
                           sizeof first_addr, err);
    } else if (!bind_addr || !*bind_addr || !strcmp(bind_addr, "*")) {
        rc = bind_host(l, NULL, port, family, &first_err, first_addr,
                       sizeof first_addr, err);
    } else {
        rc = bind_host(l, bind_addr, port, family, &first_err, first_addr,
                       sizeof first_addr, err);
    }
    l->warning[0] = '\0';
    if (!rc && l->nfds > 0 && first_err)
        snprintf(l->warning, sizeof l->warning, "bind %s: %s", first_addr,
                 strerror(first_err));
    if (!rc && l->nfds == 0)
        rc = error_set(err, SSHTUN_ERR_BIND, "bind %s: %s; cannot listen to "
                       "port %d", first_addr[0] ? first_addr : "(none)",
                       strerror(first_err ? first_err : EADDRNOTAVAIL), port);
    if (rc)
        listener_close(l);
    return rc;
}

/* Listen on a Unix socket. */
int listener_open_unix(struct listener *l, const char *path,
                       sshtun_error *err)
{
    struct sockaddr_un sa;
    int fd;

    memset(l, 0, sizeof *l);
    if (strlen(path) >= sizeof sa.sun_path)
        return error_set(err, SSHTUN_ERR_BIND, "socket path %s is too long",
                         path);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    /* Bind in a private directory, set the mode, then link the socket
     * into place: nobody can connect before it is 0600, and link() never
     * replaces an existing path. */
    {
        char dir[sizeof sa.sun_path], tmp[sizeof sa.sun_path + 16], *slash;
        int e = 0;

        snprintf(dir, sizeof dir, "%s", path);
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, slash ? "/" : ".");
        if (strlen(dir) + 20 >= sizeof sa.sun_path)
            return error_set(err, SSHTUN_ERR_BIND, "socket path %s is too "
                             "long", path);
        snprintf(tmp, sizeof tmp, "%s/.sshtun-XXXXXX", dir);
        if (!mkdtemp(tmp))
            return error_set(err, SSHTUN_ERR_BIND, "bind %s: %s; cannot listen "
                             "on that socket path", path, strerror(errno));
        snprintf(sa.sun_path, sizeof sa.sun_path, "%.*s/s",
                 (int)sizeof sa.sun_path - 3, tmp);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0
            || chmod(sa.sun_path, 0600) < 0 || listen(fd, SOMAXCONN) < 0
            || link(sa.sun_path, path) < 0)
            e = errno;
        unlink(sa.sun_path);
        rmdir(tmp);
        if (e == EEXIST)
            e = EADDRINUSE;         /* as bind() on the path would say */
        if (e) {
            if (fd >= 0)
                close(fd);
            return error_set(err, SSHTUN_ERR_BIND, "bind %s: %s; cannot listen "
                             "on that socket path", path, strerror(e));
        }
    }
    l->fds[0] = fd;
    l->nfds = 1;
    l->port = 0;
    snprintf(l->path, sizeof l->path, "%s", path);
    return 0;
}

/* Close the sockets. */
void listener_close(struct listener *l)
{
    for (int i = 0; i < l->nfds; i++)
        close(l->fds[i]);
    l->nfds = 0;
    if (l->path[0]) {
        unlink(l->path);
        l->path[0] = '\0';
    }
}
