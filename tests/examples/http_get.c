/*
 * http_get.c - example: fetch a web page through an SSH tunnel from code.
 *
 * Connects to an SSH server, opens a direct-tcpip channel to a web server
 * the SSH server can reach, speaks HTTP/1.0 over it and prints the reply.
 * This is what `ssh -L` does for a client program, done inside the program.
 *
 *   http_get SSH_HOST SSH_PORT USER KEY KNOWN_HOSTS WEB_HOST WEB_PORT PATH
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sshtun.h"

/* Set an option or die with the library's message. */
static void set(sshtun_options *o, const char *kw, const char *v)
{
    sshtun_error err;

    if (sshtun_options_set(o, kw, v, &err)) {
        fprintf(stderr, "http_get: %s\n", err.msg);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    sshtun_options *o;
    sshtun_session *s;
    sshtun_channel *ch;
    sshtun_error err;
    char req[1024], buf[16384];
    ssize_t n;
    int rc = 0;

    if (argc != 9) {
        fprintf(stderr, "usage: http_get SSH_HOST SSH_PORT USER KEY "
                "KNOWN_HOSTS WEB_HOST WEB_PORT PATH\n");
        return 2;
    }
    sshtun_global_init();
    o = sshtun_options_new();
    set(o, "HostName", argv[1]);
    set(o, "Port", argv[2]);
    set(o, "User", argv[3]);
    set(o, "IdentityFile", argv[4]);
    set(o, "IdentitiesOnly", "yes");
    set(o, "UserKnownHostsFile", argv[5]);
    set(o, "GlobalKnownHostsFile", "none");
    set(o, "StrictHostKeyChecking", "yes");

    s = sshtun_session_connect(o, &err);
    sshtun_options_free(o);
    if (!s) {
        fprintf(stderr, "http_get: %s\n", err.msg);
        return 1;
    }
    ch = sshtun_channel_open_direct(s, argv[6], atoi(argv[7]), NULL, 0,
                                    10000, &err);
    if (!ch) {
        fprintf(stderr, "http_get: %s (%s)\n", err.msg,
                sshtun_strerror(err.code));
        sshtun_session_close(s);
        return 1;
    }
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
             argv[8], argv[6]);
    if (sshtun_send(ch, req, strlen(req), 10000) != (ssize_t)strlen(req)
        || sshtun_shutdown(ch) != 0) {
        fprintf(stderr, "http_get: send failed: %s\n",
                sshtun_channel_last_error(ch));
        rc = 1;
    }
    /* recv returns 0 at EOF: the server closed its side. */
    while (!rc && (n = sshtun_recv(ch, buf, sizeof buf, 10000)) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    if (!rc && n < 0) {
        fprintf(stderr, "http_get: recv: %s\n", sshtun_strerror((int)n));
        rc = 1;
    }
    sshtun_close(ch);
    sshtun_session_close(s);
    sshtun_global_cleanup();
    return rc;
}
