/*
 * options.h - the session options object and its keyword parser.
 *
 * Options are named and valued as in ssh_config(5), so `-o`, a config
 * file and the C API all go through sshtun_options_set().  This module
 * only parses and stores: it does no I/O, so it is unit-tested directly.
 */
#ifndef SSHTUN_OPTIONS_H
#define SSHTUN_OPTIONS_H

#include <stdint.h>

#include "sshtun.h"
#include "base/log.h"

#define OPT_LIST_MAX 32

enum strict_mode {
    STRICT_UNSET = -1,
    STRICT_NO = 0,
    STRICT_YES = 1,
    STRICT_ASK = 2,
    STRICT_ACCEPT_NEW = 3
};

/* A string list that accumulates, as IdentityFile does. */
struct opt_list {
    int n;
    char *v[OPT_LIST_MAX];
};

struct sshtun_options {
    char *hostname;
    int port;                       /* -1: unset (22) */
    char *user;
    struct opt_list identity_files;
    struct opt_list identity_data;  /* private keys given in memory */
    int identities_only;            /* -1 unset, 0/1 */
    char *identity_agent;           /* NULL: $SSH_AUTH_SOCK; "none" */
    char *user_known_hosts;         /* space-separated list */
    char *global_known_hosts;
    int strict;                     /* enum strict_mode */
    int batch_mode;
    int exit_on_forward_failure;
    int gateway_ports;
    int connect_timeout;            /* seconds, -1 unset */
    int address_family;             /* AF_UNSPEC, AF_INET, AF_INET6; -1 unset */
    char *ciphers;
    char *macs;
    char *hostkey_algorithms;
    struct opt_list local_forwards; /* normalised "[bind:]port:host:hostport" */
    struct opt_list dynamic_forwards;   /* "[bind:]port" */
    struct opt_list remote_forwards;    /* -R form, normalised */
    char *socks_auth_file;          /* SOCKS5 user:password list */
    struct opt_list socks_allow;    /* destination rules (allowlist.h) */
    int socks_timeout;              /* handshake deadline, seconds; -1 */
    int server_alive_interval;      /* seconds, 0 off; -1 unset */
    int server_alive_count_max;     /* -1 unset (3) */
    char *proxy_command;            /* ProxyCommand, "none" = unset */
    int reconnect;                  /* yes/no, -1 unset */
    int hash_known_hosts;           /* yes/no, -1 unset */
    int reconnect_max_delay;        /* seconds, -1 unset (30) */
    int reconnect_count;            /* attempts, 0 forever, -1 unset */
    char *proxy_jump;               /* ProxyJump, "none" = unset */
    char *control_path;             /* SshtunControlPath (the config
                                       files' control socket; ssh's own
                                       ControlPath is ignored there) */
    char *host_key_alias;           /* HostKeyAlias: known_hosts name */
    char *revoked_host_keys;        /* RevokedHostKeys: file of keys */
    char *permit_remote_open;       /* PermitRemoteOpen (permitopen.h) */
    struct log_sink log;            /* LogLevel (-1 unset) and callback */
    long window_size;               /* bytes, -1 unset */
    long memory_budget;             /* bytes all channels' windows may
                                       promise, -1 unset (64M) */
    int password_authentication;    /* yes/no, -1 unset (yes) */
    int kbdint_authentication;      /* yes/no, -1 unset (yes) */
    int pubkey_authentication;      /* yes/no, -1 unset (yes) */
    char *preferred_authentications;    /* method list, NULL: ssh's order */
    char *pubkey_accepted_algorithms;   /* algolist.h syntax, NULL: default */
    int pool_min;                   /* connections kept, -1 unset (1) */
    int pool_max;                   /* connections at most, -1 unset (8) */
    int pool_idle_time;             /* seconds before an idle extra
                                       connection closes, 0 never, -1
                                       unset (60) */
    int max_connections;            /* per forward, -1 unset */
    int max_handshakes;             /* per forward, -1 unset */
    sshtun_passphrase_fn pass_fn;
    void *pass_user;
};

/* Log one line through the options' sink (base/log.h). */
#define log_msg(o, level, ...) log_line((o) ? &(o)->log : NULL, level, __VA_ARGS__)

/* Effective values with ssh's defaults applied. */
int options_port(const sshtun_options *o);
int options_log_level(const sshtun_options *o);
long options_window_size(const sshtun_options *o);
int options_strict(const sshtun_options *o);
long options_memory_budget(const sshtun_options *o);
int options_pool_min(const sshtun_options *o);
int options_pool_max(const sshtun_options *o);
int64_t options_pool_idle_ms(const sshtun_options *o);      /* 0: never */
int options_flag(int v);               /* -1 (unset) -> 0 */

/* Whether kw is an OpenSSH keyword sshtun accepts and ignores. */
int options_keyword_ignored(const char *kw);

/* Deep copy (for a session to keep its own); NULL if out of memory. */
sshtun_options *options_dup(const sshtun_options *o);

/* Seconds a SOCKS client has to complete its handshake. */
#define OPTS_DEFAULT_SOCKS_TIMEOUT 10
int options_socks_timeout(const sshtun_options *o);
int options_server_alive_count(const sshtun_options *o);

/* Per forward: connections open at once (ForwardMaxConnections), and
 * connections still in their handshake (a SOCKS exchange, a channel
 * open; ForwardMaxHandshakes), beyond which accepting pauses. */
#define OPTS_DEFAULT_MAX_CONNECTIONS 10000
#define OPTS_DEFAULT_MAX_HANDSHAKES 1000
#define OPTS_MAX_LIMIT 65536
int options_max_connections(const sshtun_options *o);
int options_max_handshakes(const sshtun_options *o);

/* Default window: measured best over a 20 ms link (see tests/bench). */
#define OPTS_DEFAULT_WINDOW (8L * 1024 * 1024)
#define OPTS_MIN_WINDOW (64L * 1024)
#define OPTS_MAX_WINDOW (16L * 1024 * 1024)

/* Connection pool: PoolMax's default and upper bound, PoolIdleTime's
 * default (seconds). */
#define OPTS_DEFAULT_POOL_MAX 8
#define OPTS_POOL_LIMIT 64
#define OPTS_POOL_LIMIT_TEXT "64"
#define OPTS_DEFAULT_POOL_IDLE 60

/* MemoryBudget: default and range, bytes. */
#define OPTS_DEFAULT_BUDGET (64L << 20)
#define OPTS_MIN_BUDGET (4L << 20)
#define OPTS_MAX_BUDGET (64L << 30)

#endif
