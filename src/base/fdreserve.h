/*
 * fdreserve.h - descriptors kept back for what must work when clients
 * have taken all the others: connecting again and reading known_hosts
 * and keys.
 *
 * A flood of clients can use up every descriptor the process may open
 * (EMFILE).  The process keeps FDRESERVE_COUNT descriptors open on
 * /dev/null.  A thread marked with fdreserve_privileged (the sessions'
 * I/O threads) opens through these wrappers; when such an open fails
 * with EMFILE or ENFILE, a reserved descriptor is closed and the open
 * tried again, as long as reserves last.  Other threads (accepting
 * clients, connecting -R targets) open through the same wrappers under
 * a shared lock, so a descriptor given back cannot go to them in
 * between.  Reserves are taken again by later privileged opens when
 * descriptors are free.
 */
#ifndef SSHTUN_FDRESERVE_H
#define SSHTUN_FDRESERVE_H

#include <stdio.h>
#include <sys/socket.h>

/* A reconnect through a jump host: its socket, the socketpair, the
 * known_hosts files and a few key files. */
#define FDRESERVE_COUNT 8

/* Open the reserves (at library init); 0 or -1. */
int fdreserve_init(void);

/* Close the reserves (at library cleanup). */
void fdreserve_cleanup(void);

/* Let the calling thread use the reserves from now on. */
void fdreserve_privileged(void);

/* The calls, with errno as they set it. */
int fdreserve_socket(int domain, int type, int protocol);
int fdreserve_socketpair(int domain, int type, int protocol, int sv[2]);
int fdreserve_accept4(int fd, struct sockaddr *sa, socklen_t *len,
                      int flags);
FILE *fdreserve_fopen(const char *path, const char *mode);

/* How many reserves are held now (for tests). */
int fdreserve_held(void);

#endif
