/*
 * chanio.h - the I/O thread's side of channels: moving data between
 * libssh2 and each channel's bounded queues, EOF, and closing.
 */
#ifndef SSHTUN_CHANIO_H
#define SSHTUN_CHANIO_H

struct conn;
struct sshtun_channel;

/* Serve every channel of c.  1 on progress, 0, or -1 if the connection is
 * lost. */
int chanio_serve_all(struct conn *c);

/* Put a channel that just opened (or was accepted) on c's list. */
void chanio_add(struct conn *c, struct sshtun_channel *ch);

/* The I/O thread is done with ch: drop its reference. */
void chanio_release(struct conn *c, struct sshtun_channel *ch);

/* Fail every channel c carries, with the reason. */
void chanio_fail_all(struct conn *c, int code, const char *msg);

/* Whether any channel still has data, EOF or CLOSE to send. */
int chanio_output_pending(struct conn *c);

/* The poll timeout (ms), shortened to the nearest channel deadline. */
int chanio_poll_timeout(struct conn *c, int timeout);

#endif
