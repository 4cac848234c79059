/*
 * api_auth_memo.c - two connections authenticating with one auth_memo,
 * against a real sshd: the second must authenticate as the first did
 * without asking again.
 *
 * Each connection is a plain socket and a libssh2 session of its own
 * (host key not checked: this drives auth_run, not the handshake).  The
 * passphrase callback answers SECRET and counts its calls; with KEY "-"
 * no key is offered (password authentication).  Prints "prompts: N" and
 * exits 0 when both connections authenticated.
 *
 *   api_auth_memo SSH_PORT USER KEY|- SECRET
 */
#include "config.h"

#include <arpa/inet.h>
#include <libssh2.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "config/options.h"
#include "engine/auth.h"
#include "engine/auth_memo.h"

static int prompts;

/* The passphrase callback: SECRET, counted. */
static int answer(const char *prompt, char *buf, size_t size, void *user)
{
    (void)prompt;
    prompts++;
    snprintf(buf, size, "%s", (const char *)user);
    return 0;
}

/* auth_ctx's wait: poll the socket until the deadline. */
static int wait_socket(void *arg, int64_t deadline_ms, sshtun_error *err)
{
    struct pollfd p = { .fd = *(int *)arg, .events = POLLIN | POLLOUT };
    int64_t left = deadline_ms - clock_now_ms();

    if (left <= 0 || poll(&p, 1, left > 1000 ? 1000 : (int)left) < 0) {
        snprintf(err->msg, sizeof err->msg, "timeout");
        return SSHTUN_ERR_TIMEOUT;
    }
    return 0;
}

/* One connection: connect, handshake, auth_run with memo. */
static int one(const sshtun_options *o, int port, struct auth_memo *memo)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;
    LIBSSH2_SESSION *ssh;
    sshtun_error err = { 0 };

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa))
        return -1;
    ssh = libssh2_session_init();
    libssh2_session_set_blocking(ssh, 1);
    if (libssh2_session_handshake(ssh, fd)) {
        fprintf(stderr, "FAIL: handshake\n");
        return -1;
    }
    libssh2_session_set_blocking(ssh, 0);
    {
        struct auth_ctx a = { ssh, o, 0, wait_socket, &fd, memo };
        rc = auth_run(&a, o->user, &err);
    }
    if (rc)
        fprintf(stderr, "FAIL: auth_run: %s\n", err.msg);
    libssh2_session_set_blocking(ssh, 1);
    libssh2_session_disconnect(ssh, "done");
    libssh2_session_free(ssh);
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    sshtun_options *o;
    struct auth_memo *memo;
    sshtun_error err;
    int failed = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: api_auth_memo SSH_PORT USER KEY|- SECRET\n");
        return 2;
    }
    libssh2_init(0);
    o = sshtun_options_new();
    sshtun_options_set(o, "HostName", "127.0.0.1", &err);
    sshtun_options_set(o, "User", argv[2], &err);
    sshtun_options_set(o, "IdentitiesOnly", "yes", &err);
    sshtun_options_set(o, "BatchMode", "no", &err);
    if (strcmp(argv[3], "-"))
        sshtun_options_set(o, "IdentityFile", argv[3], &err);
    else
        sshtun_options_set(o, "PubkeyAuthentication", "no", &err);
    sshtun_options_set_passphrase(o, answer, argv[4]);
    memo = auth_memo_new();
    for (int i = 0; i < 2; i++)
        if (one(o, atoi(argv[1]), memo))
            failed = 1;
    printf("prompts: %d\n", prompts);
    printf("can repeat: %d\n", auth_memo_can_repeat(memo, o));
    auth_memo_free(memo);
    sshtun_options_free(o);
    libssh2_exit();
    return failed;
}
