/*
 * args.h - the sshtun command line, parsed into library options.
 *
 * Flags mean what they mean to ssh.  Parsing does no I/O, so it is
 * unit-tested; main.c acts on the result.
 */
#ifndef SSHTUN_ARGS_H
#define SSHTUN_ARGS_H

#include <stddef.h>

#include "sshtun.h"

struct cli_args {
    sshtun_options *opts;
    int verbose;                    /* count of -v */
    int quiet;
    int background;                 /* -f */
    int show_version;
    int show_help;
    const char *config_file;        /* -F */
    int nforwards;                  /* -L/-R/-D given (and -o forms) */
    char host[256];                 /* the destination's host, as given */
    char stdio_host[256];           /* -W host:port; "" if not given */
    int stdio_port;
    int control_master;             /* -M / ControlMaster: CTL_* */
    char control_path[1024];        /* -S / ControlPath, as given; "" */
    const char *control_cmd;        /* -O, or NULL */
};

/* ControlMaster values (ask is yes, autoask is auto: sshtun never asks). */
enum { CTL_UNSET = 0, CTL_NO, CTL_YES, CTL_AUTO };

/* Parse argv into a (already created) options object.  Returns 0, or -1
 * with a one-line message in err. */
int args_parse(int argc, char **argv, struct cli_args *a, char *err,
               size_t errsize);

/* Split "[user@]host[:port]" or "ssh://[user@]host[:port]": User and
 * Port go into the options, the host name into host (it becomes HostName
 * only after the config files had their say, as in ssh).  Returns 0 or -1
 * with err. */
int args_destination(const char *dest, sshtun_options *opts, char *host,
                     size_t hostsize, char *err,
                     size_t errsize);

/* Split "host:port" or "[v6addr]:port".  Returns 0 or -1. */
int args_hostport(const char *spec, char *host, size_t hsize, int *port);

/* Whether a host or user name from the command line is safe to hand to
 * a ProxyCommand's shell (OpenSSH 9.6's rules). */
int args_valid_hostname(const char *s);
int args_valid_user(const char *s);

/* The usage text. */
const char *args_usage(void);

#endif
