/*
 * args.c - ssh-compatible command-line parsing (see args.h).
 *
 * Options with ssh's letters map onto ssh_config keywords, so `-p 2222`
 * and `-o Port=2222` are the same thing; like ssh, the first value given
 * wins.  Letters ssh has that sshtun does not implement yet are refused by
 * name rather than silently ignored.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args.h"

static const char usage_text[] =
"usage: sshtun [-46fgMNnqTVv] [-c cipher_spec] [-D [bind_address:]port]\n"
"              [-F configfile] [-i identity_file]\n"
"              [-L [bind_address:]port:host:hostport] [-l login_name]\n"
"              [-m mac_spec] [-O ctl_cmd] [-o option] [-p port]\n"
"              [-J destination] [-R [bind_address:]port[:host:hostport]]\n"
"              [-S ctl_path] [-W host:port]\n"
"              destination\n";

/* The usage text. */
const char *args_usage(void)
{
    return usage_text;
}

/* Split "host:port" or "[v6addr]:port".  Returns 0 or -1. */
int args_hostport(const char *spec, char *host, size_t hsize, int *port)
{
    const char *colon, *h = spec;
    size_t hlen;
    char *end;
    long p;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':')
            return -1;
        h = spec + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || strchr(spec, ':') != colon)
            return -1;
        hlen = (size_t)(colon - spec);
    }
    if (hlen == 0 || hlen >= hsize || !colon[1])
        return -1;
    p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* Set an option, copying the library's message into err on failure. */
static int set(sshtun_options *o, const char *kw, const char *v, char *err,
               size_t errsize)
{
    sshtun_error e;

    if (sshtun_options_set(o, kw, v, &e) == 0)
        return 0;
    snprintf(err, errsize, "%s", e.msg);
    return -1;
}

/* Split the destination into User, HostName and Port. */
int args_destination(const char *dest, sshtun_options *o, char *hostout,
                     size_t hostsize, char *err, size_t errsize)
{
    char buf[1024], *host, *at, *port = NULL;
    int uri = 0;

    if (!strncmp(dest, "ssh://", 6)) {
        dest += 6;
        uri = 1;
    }
    if (!*dest || strlen(dest) >= sizeof buf) {
        snprintf(err, errsize, "bad destination '%s'", dest);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", dest);
    if (uri && buf[strlen(buf) - 1] == '/')
        buf[strlen(buf) - 1] = '\0';
    host = buf;
    if ((at = strrchr(buf, '@'))) {
        *at = '\0';
        host = at + 1;
        if (!*buf) {
            snprintf(err, errsize, "bad destination '%s': empty user", dest);
            return -1;
        }
    }
    if (*host == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':')) {
            snprintf(err, errsize, "bad destination '%s'", dest);
            return -1;
        }
        *close = '\0';
        if (close[1] == ':')
            port = close + 2;
        host++;
    } else {
        char *colon = strchr(host, ':');
        /* One colon: host:port.  More: a bare IPv6 address. */
        if (colon && !strchr(colon + 1, ':')) {
            *colon = '\0';
            port = colon + 1;
        }
    }
    if (!*host) {
        snprintf(err, errsize, "bad destination '%s': empty host", dest);
        return -1;
    }
    if (at && set(o, "User", buf, err, errsize))
        return -1;
    if (port && set(o, "Port", port, err, errsize))
        return -1;
    if (strlen(host) >= hostsize) {
        snprintf(err, errsize, "bad destination '%s': host name too long",
                 dest);
        return -1;
    }
    strcpy(hostout, host);
    return 0;
}

/* -o ControlMaster=... / ControlPath=...: the command line's own (the
 * config files' are ssh's and ignored).  Returns 1 if arg was one of
 * them (0 done, or -1 with err through *rc), 0 if not. */
static int control_option(const char *arg, struct cli_args *a, int *rc,
                          char *err, size_t errsize)
{
    static const char *const masters[] = { "no", "yes", "auto", "ask",
                                            "autoask" };
    static const int master_values[] = { CTL_NO, CTL_YES, CTL_AUTO, CTL_YES,
                                         CTL_AUTO };
    size_t klen = strcspn(arg, "= \t");
    const char *v = arg + klen;

    v += strspn(v, " \t");
    if (*v == '=')
        v++;
    v += strspn(v, " \t");
    *rc = 0;
    if (klen == 11 && !strncasecmp(arg, "ControlPath", 11)) {
        if (!a->control_path[0])
            snprintf(a->control_path, sizeof a->control_path, "%s", v);
        return 1;
    }
    if (klen != 13 || strncasecmp(arg, "ControlMaster", 13))
        return 0;
    for (size_t i = 0; i < sizeof masters / sizeof masters[0]; i++)
        if (!strcasecmp(v, masters[i])) {
            if (a->control_master == CTL_UNSET)
                a->control_master = master_values[i];
            return 1;
        }
    snprintf(err, errsize, "command-line: ControlMaster: bad value '%s' "
             "(yes, no, auto, ask or autoask)", v);
    *rc = -1;
    return 1;
}

/* Letters that set one keyword (to their argument or a fixed value).
 * Returns 1 if c is one (with *rc 0, or -1 and err), else 0. */
static int apply_simple(int c, const char *arg, struct cli_args *a, int *rc,
                        char *err, size_t errsize)
{
    static const struct { int letter; const char *kw; const char *value; }
    simple[] = {
        { '4', "AddressFamily", "inet" }, { '6', "AddressFamily", "inet6" },
        { 'c', "Ciphers", NULL }, { 'm', "MACs", NULL },
        { 'g', "GatewayPorts", "yes" }, { 'i', "IdentityFile", NULL },
        { 'l', "User", NULL }, { 'L', "LocalForward", NULL },
        { 'D', "DynamicForward", NULL }, { 'R', "RemoteForward", NULL },
        { 'J', "ProxyJump", NULL },
        { 'p', "Port", NULL },
    };

    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (simple[i].letter != c)
            continue;
        *rc = set(a->opts, simple[i].kw,
                  simple[i].value ? simple[i].value : arg, err, errsize);
        if (!*rc && (c == 'L' || c == 'D' || c == 'R'))
            a->nforwards++;
        return 1;
    }
    return 0;
}

/* Apply one option letter.  Returns 0 or -1 with err. */
static int apply_option(int c, const char *arg, struct cli_args *a,
                        char *err, size_t errsize)
{
    sshtun_error e;
    int rc;

    if (apply_simple(c, arg, a, &rc, err, errsize))
        return rc;
    switch (c) {
    case 'F':
        a->config_file = arg;
        return 0;
    case 'h':
        a->show_help = 1;
        return 0;
    case 'o':
        if (control_option(arg, a, &rc, err, errsize))
            return rc;
        if (sshtun_options_parse(a->opts, arg, &e)) {
            snprintf(err, errsize, "command-line: %s", e.msg);
            return -1;
        }
        if (!strncasecmp(arg, "LocalForward", 12)
            || !strncasecmp(arg, "RemoteForward", 13)
            || !strncasecmp(arg, "DynamicForward", 14))
            a->nforwards++;
        return 0;
    case 'q':
        a->quiet = 1;
        return 0;
    case 'M':
        if (a->control_master == CTL_UNSET)
            a->control_master = CTL_YES;
        return 0;
    case 'S':
        if (!a->control_path[0])
            snprintf(a->control_path, sizeof a->control_path, "%s", arg);
        return 0;
    case 'O':
        a->control_cmd = arg;
        return 0;
    case 'f':
        a->background = 1;
        return 0;
    case 'v':
        a->verbose++;
        return 0;
    case 'V':
        a->show_version = 1;
        return 0;
    case 'N': case 'T': case 'n': case 'C':
        return 0;                   /* sshtun never runs a command or tty */
    case 'W':
        if (args_hostport(arg, a->stdio_host, sizeof a->stdio_host,
                          &a->stdio_port)) {
            snprintf(err, errsize, "Bad stdio forwarding specification "
                     "'%s': expected host:port", arg);
            return -1;
        }
        return 0;
    case ':':
        snprintf(err, errsize, "option requires an argument -- %c", optopt);
        return -1;
    default:
        snprintf(err, errsize, "unknown option -- %c",
                 optopt ? optopt : '?');
        return -1;
    }
}

/* OpenSSH 9.6's test for a host name from the command line: no leading
 * '-', no shell metacharacter, blank or control character (they would
 * reach /bin/sh through ProxyCommand's %h). */
int args_valid_hostname(const char *s)
{
    if (*s == '-')
        return 0;
    for (; *s; s++)
        if (strchr("'`\"$\\;&<>|(){}", *s) || isspace((unsigned char)*s)
            || iscntrl((unsigned char)*s))
            return 0;
    return 1;
}

/* OpenSSH 9.6's test for a user name from the command line (%r); also
 * no control characters. */
int args_valid_user(const char *s)
{
    if (*s == '-')
        return 0;
    for (; *s; s++) {
        if (strchr("'`\";&<>|(){}", *s) || iscntrl((unsigned char)*s)
            || (isspace((unsigned char)*s) && s[1] == '-')
            || (*s == '\\' && !s[1]))
            return 0;
    }
    return 1;
}

/* Check user and host of each -J hop "[user@]host[:port]"; 0 or -1. */
static int check_jump_hops(const char *jump, char *err, size_t errsize)
{
    char buf[1024], *save = NULL, *hop;

    if (!jump || !strcasecmp(jump, "none"))
        return 0;
    snprintf(buf, sizeof buf, "%s", jump);
    for (hop = strtok_r(buf, ",", &save); hop;
         hop = strtok_r(NULL, ",", &save)) {
        char *at = strrchr(hop, '@'), *host = at ? at + 1 : hop;
        if (!strncmp(hop, "ssh://", 6) && !at)
            host = hop + 6;
        if (at) {
            *at = '\0';
            if (!args_valid_user(hop)) {
                snprintf(err, errsize, "ProxyJump: remote username "
                         "contains invalid characters");
                return -1;
            }
        }
        if (!args_valid_hostname(host)) {
            snprintf(err, errsize, "ProxyJump: hostname contains invalid "
                     "characters");
            return -1;
        }
    }
    return 0;
}

/* Refuse names from the command line that a shell would interpret, as
 * ssh does since 9.6 (CVE-2023-51385).  Names from config files are the
 * user's own and are not checked here. */
static int check_names(const struct cli_args *a, char *err, size_t errsize)
{
    const char *user = sshtun_options_get(a->opts, "User", 0);

    if (!args_valid_hostname(a->host)) {
        snprintf(err, errsize, "hostname contains invalid characters");
        return -1;
    }
    if (user && !args_valid_user(user)) {
        snprintf(err, errsize, "remote username contains invalid "
                 "characters");
        return -1;
    }
    return check_jump_hops(sshtun_options_get(a->opts, "ProxyJump", 0), err,
                           errsize);
}

/* Parse the command line.  As ssh does, options may also follow the
 * destination; anything else after it would be a remote command. */
int args_parse(int argc, char **argv, struct cli_args *a, char *err,
               size_t errsize)
{
    /* '+': stop at the destination; ':': report a missing argument as ':'. */
    static const char optstring[] = "+:46c:fF:ghi:l:L:m:MnO:o:p:qS:TNVvCD:R:W:J:";
    const char *dest = NULL;
    int c;

    opterr = 0;
#ifdef __GLIBC__
    optind = 0;                 /* full reset: forget the last argv too */
#else
    optind = 1;
#endif
    for (;;) {
        while ((c = getopt(argc, argv, optstring)) != -1)
            if (apply_option(c, optarg, a, err, errsize))
                return -1;
        if (optind >= argc)
            break;
        if (dest) {
            snprintf(err, errsize, "sshtun runs no remote command: "
                     "unexpected '%s' after the destination", argv[optind]);
            return -1;
        }
        dest = argv[optind++];
        if (!strcmp(argv[optind - 2], "--")) {
            /* After "--" nothing more is an option (and getopt must not be
             * asked again: it would rewind to the destination). */
            if (optind < argc) {
                snprintf(err, errsize, "sshtun runs no remote command: "
                         "unexpected '%s' after the destination",
                         argv[optind]);
                return -1;
            }
            break;
        }
    }
    if (a->show_help || a->show_version)
        return 0;
    if (!dest) {
        snprintf(err, errsize, "no destination given");
        return -1;
    }
    if (args_destination(dest, a->opts, a->host, sizeof a->host, err,
                         errsize))
        return -1;
    return check_names(a, err, errsize);
}
