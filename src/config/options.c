/*
 * options.c - sshtun_options: ssh_config keywords, parsed and stored.
 *
 * Each keyword maps to one field and a value kind.  As in ssh_config(5),
 * the first value obtained for a keyword wins (so the command line, parsed
 * first, beats a config file), except for lists that accumulate.  Values
 * are checked here so a bad one is reported with the keyword's name before
 * anything connects.
 */
#include "config.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config/algolist.h"
#include "config/allowlist.h"
#include "base/error.h"
#include "config/fwdspec.h"
#include "config/options.h"
#include "config/permitopen.h"

enum kind { K_STR, K_PORT, K_YESNO, K_STRICT, K_SECONDS, K_SECONDS_POSITIVE,
            K_LIST, K_FWD_LOCAL, K_FWD_DYNAMIC, K_FWD_REMOTE, K_ALLOW,
            K_LOGLEVEL, K_SIZE, K_FAMILY, K_COUNT, K_ALGOS, K_PUBKEY,
            K_POOL_SIZE, K_BUDGET, K_PERMIT_OPEN, K_LIMIT };

/* Whether a kind is stored as one string. */
static int is_string(enum kind k)
{
    return k == K_STR || k == K_ALGOS || k == K_PERMIT_OPEN;
}

/* Whether a kind accumulates values in a struct opt_list. */
static int is_list(enum kind k)
{
    return k == K_LIST || k == K_FWD_LOCAL || k == K_FWD_DYNAMIC
           || k == K_FWD_REMOTE || k == K_ALLOW;
}

struct keyword {
    const char *name;
    enum kind kind;
    size_t off;
};

#define F(field) offsetof(struct sshtun_options, field)

static const struct keyword keywords[] = {
    { "HostName", K_STR, F(hostname) },
    { "Port", K_PORT, F(port) },
    { "User", K_STR, F(user) },
    { "IdentityFile", K_LIST, F(identity_files) },
    { "IdentitiesOnly", K_YESNO, F(identities_only) },
    { "IdentityAgent", K_STR, F(identity_agent) },
    { "UserKnownHostsFile", K_STR, F(user_known_hosts) },
    { "GlobalKnownHostsFile", K_STR, F(global_known_hosts) },
    { "StrictHostKeyChecking", K_STRICT, F(strict) },
    { "BatchMode", K_YESNO, F(batch_mode) },
    { "ExitOnForwardFailure", K_YESNO, F(exit_on_forward_failure) },
    { "GatewayPorts", K_YESNO, F(gateway_ports) },
    { "ConnectTimeout", K_SECONDS, F(connect_timeout) },
    { "AddressFamily", K_FAMILY, F(address_family) },
    { "Ciphers", K_STR, F(ciphers) },
    { "MACs", K_STR, F(macs) },
    { "HostKeyAlgorithms", K_STR, F(hostkey_algorithms) },
    { "LocalForward", K_FWD_LOCAL, F(local_forwards) },
    { "DynamicForward", K_FWD_DYNAMIC, F(dynamic_forwards) },
    { "RemoteForward", K_FWD_REMOTE, F(remote_forwards) },
    { "SocksAuthFile", K_STR, F(socks_auth_file) },
    { "SocksAllow", K_ALLOW, F(socks_allow) },
    { "SocksTimeout", K_SECONDS_POSITIVE, F(socks_timeout) },
    { "ServerAliveInterval", K_SECONDS, F(server_alive_interval) },
    { "ServerAliveCountMax", K_COUNT, F(server_alive_count_max) },
    { "ProxyCommand", K_STR, F(proxy_command) },
    { "Reconnect", K_YESNO, F(reconnect) },
    { "HashKnownHosts", K_YESNO, F(hash_known_hosts) },
    { "ReconnectMaxDelay", K_SECONDS, F(reconnect_max_delay) },
    { "ReconnectCount", K_SECONDS, F(reconnect_count) },
    { "ProxyJump", K_STR, F(proxy_jump) },
    { "SshtunControlPath", K_STR, F(control_path) },
    { "LogLevel", K_LOGLEVEL, F(log.level) },
    { "WindowSize", K_SIZE, F(window_size) },
    { "PasswordAuthentication", K_YESNO, F(password_authentication) },
    { "KbdInteractiveAuthentication", K_YESNO, F(kbdint_authentication) },
    { "PubkeyAuthentication", K_PUBKEY, F(pubkey_authentication) },
    { "PreferredAuthentications", K_STR, F(preferred_authentications) },
    { "PubkeyAcceptedAlgorithms", K_ALGOS, F(pubkey_accepted_algorithms) },
    { "PoolMin", K_POOL_SIZE, F(pool_min) },
    { "PoolMax", K_POOL_SIZE, F(pool_max) },
    { "PoolIdleTime", K_SECONDS, F(pool_idle_time) },
    { "HostKeyAlias", K_STR, F(host_key_alias) },
    { "RevokedHostKeys", K_STR, F(revoked_host_keys) },
    { "PermitRemoteOpen", K_PERMIT_OPEN, F(permit_remote_open) },
    { "MemoryBudget", K_BUDGET, F(memory_budget) },
    { "ForwardMaxConnections", K_LIMIT, F(max_connections) },
    { "ForwardMaxHandshakes", K_LIMIT, F(max_handshakes) },
};

/* Older names ssh still accepts for a keyword. */
static const struct { const char *alias, *name; } aliases[] = {
    { "PubkeyAcceptedKeyTypes", "PubkeyAcceptedAlgorithms" },
    { "ChallengeResponseAuthentication", "KbdInteractiveAuthentication" },
};

#define NKEYWORDS (sizeof keywords / sizeof keywords[0])

/* OpenSSH keywords sshtun has no use for: accepted and ignored, so a
 * user's existing ~/.ssh/config just works. */
static const char *const ignored_keywords[] = {
    "AddKeysToAgent", "BindAddress", "UseRoaming", "Protocol",
    "LogVerbose", "GSSAPIStrictAcceptorCheck", "Cipher", "BindInterface",
    "CanonicalDomains", "CanonicalizeFallbackLocal", "CanonicalizeHostname",
    "CanonicalizeMaxDots", "CanonicalizePermittedCNAMEs", "CASignatureAlgorithms",
    "CertificateFile", "CheckHostIP",
    "ClearAllForwardings", "Compression", "ConnectionAttempts",
    "ControlMaster", "ControlPath", "ControlPersist", "EnableEscapeCommandline",
    "EnableSSHKeysign", "EscapeChar", "FingerprintHash", "ForkAfterAuthentication",
    "ForwardAgent", "ForwardX11", "ForwardX11Timeout", "ForwardX11Trusted",
    "GSSAPIAuthentication", "GSSAPIDelegateCredentials", "GSSAPIKeyExchange",
    "GSSAPIClientIdentity", "GSSAPIServerIdentity", "GSSAPIRenewalForcesRekey",
    "GSSAPITrustDns", "HostbasedAcceptedAlgorithms",
    "HostbasedAuthentication", "HostbasedKeyTypes", "IgnoreUnknown",
    "IPQoS", "KbdInteractiveDevices",
    "KexAlgorithms", "KnownHostsCommand", "LocalCommand", "NoHostAuthenticationForLocalhost",
    "NumberOfPasswordPrompts", "ObscureKeystrokeTiming",
    "PermitLocalCommand", "PKCS11Provider",
    "ProxyUseFdpass", "RekeyLimit",
    "RemoteCommand", "RequestTTY", "RequiredRSASize",
    "SecurityKeyProvider", "SendEnv", "SessionType", "SetEnv",
    "StdinNull", "StreamLocalBindMask", "StreamLocalBindUnlink", "SyslogFacility",
    "TCPKeepAlive", "Tag", "Tunnel", "TunnelDevice", "UpdateHostKeys",
    "UseKeychain", "UsePrivilegedPort", "VerifyHostKeyDNS",
    "VisualHostKey", "XAuthLocation", "ChannelTimeout",
};

#define NIGNORED (sizeof ignored_keywords / sizeof ignored_keywords[0])

/* New options, every field unset. */
sshtun_options *sshtun_options_new(void)
{
    sshtun_options *o = calloc(1, sizeof *o);

    if (!o)
        return NULL;
    o->port = -1;
    o->identities_only = -1;
    o->strict = STRICT_UNSET;
    o->batch_mode = -1;
    o->exit_on_forward_failure = -1;
    o->gateway_ports = -1;
    o->connect_timeout = -1;
    o->address_family = -1;
    o->log.level = -1;
    o->window_size = -1;
    o->socks_timeout = -1;
    o->server_alive_interval = -1;
    o->server_alive_count_max = -1;
    o->reconnect = -1;
    o->hash_known_hosts = -1;
    o->reconnect_max_delay = -1;
    o->reconnect_count = -1;
    o->password_authentication = -1;
    o->kbdint_authentication = -1;
    o->pubkey_authentication = -1;
    o->pool_min = -1;
    o->pool_max = -1;
    o->pool_idle_time = -1;
    o->memory_budget = -1;
    o->max_connections = -1;
    o->max_handshakes = -1;
    return o;
}

/* Free a list's strings. */
static void list_free(struct opt_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

/* Free options and their strings. */
void sshtun_options_free(sshtun_options *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->identity_data.n; i++)
        OPENSSL_cleanse(o->identity_data.v[i], strlen(o->identity_data.v[i]));
    list_free(&o->identity_data);
    for (size_t i = 0; i < NKEYWORDS; i++) {
        void *p = (char *)o + keywords[i].off;
        if (is_string(keywords[i].kind))
            free(*(char **)p);
        else if (is_list(keywords[i].kind))
            list_free(p);
    }
    free(o);
}

/* Whether kw is one of OpenSSH's that mean nothing here. */
int options_keyword_ignored(const char *kw)
{
    for (size_t i = 0; i < NIGNORED; i++)
        if (!strcasecmp(kw, ignored_keywords[i]))
            return 1;
    return 0;
}

/* Find a keyword (or its older name), case-insensitively. */
static const struct keyword *find_keyword(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(aliases[i].alias, name))
            name = aliases[i].name;
    for (size_t i = 0; i < NKEYWORDS; i++)
        if (!strcasecmp(keywords[i].name, name))
            return &keywords[i];
    return NULL;
}

/* yes/no (and true/false) -> 1/0, else -1. */
static int parse_yesno(const char *v)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true"))
        return 1;
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false"))
        return 0;
    return -1;
}

/* A whole non-negative decimal number (<= max), else -1. */
static long parse_number(const char *v, long max)
{
    char *end;
    long n;

    if (!isdigit((unsigned char)*v))
        return -1;
    n = strtol(v, &end, 10);
    if (*end || n < 0 || n > max)
        return -1;
    return n;
}

/* Bytes with optional K/M suffix (binary), else -1. */
static long parse_size(const char *v)
{
    char *end;
    long n;

    if (!isdigit((unsigned char)*v))
        return -1;
    n = strtol(v, &end, 10);
    if (n < 0 || n > OPTS_MAX_WINDOW)
        return -1;
    if (*end == 'k' || *end == 'K')
        n *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        n *= 1024 * 1024, end++;
    if (*end)
        return -1;
    return n;
}

/* ssh's LogLevel names -> our levels, else -1. */
static int parse_loglevel(const char *v)
{
    static const struct { const char *n; int l; } t[] = {
        { "QUIET", SSHTUN_LOG_QUIET }, { "FATAL", SSHTUN_LOG_ERROR },
        { "ERROR", SSHTUN_LOG_ERROR }, { "INFO", SSHTUN_LOG_INFO },
        { "VERBOSE", SSHTUN_LOG_VERBOSE }, { "DEBUG", SSHTUN_LOG_DEBUG },
        { "DEBUG1", SSHTUN_LOG_DEBUG }, { "DEBUG2", SSHTUN_LOG_DEBUG2 },
        { "DEBUG3", SSHTUN_LOG_DEBUG3 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcasecmp(v, t[i].n))
            return t[i].l;
    return -1;
}

/* Append a copy of v to a list. */
static int list_add(struct opt_list *l, const char *v, const char *kw,
                    sshtun_error *err)
{
    if (l->n == OPT_LIST_MAX)
        return error_set(err, SSHTUN_ERR_INVAL, "%s: too many values (max %d)",
                         kw, OPT_LIST_MAX);
    if (!(l->v[l->n] = strdup(v)))
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    l->n++;
    return 0;
}

/* Store an int field if unset. */
static void set_int(void *p, int v)
{
    if (*(int *)p < 0)
        *(int *)p = v;
}

/* Report a bad value for kw. */
static int bad_value(sshtun_error *err, const char *kw, const char *v,
                     const char *want)
{
    return error_set(err, SSHTUN_ERR_INVAL, "%s: bad value '%s' (%s)", kw, v,
                     want);
}

/* A forward in either the -L/-R form or the config form ("port
 * host:hostport"), as the -L/-R form in spec. */
static int forward_spec(const char *v, char *spec, size_t size,
                        sshtun_error *err)
{
    if (strpbrk(v, " \t"))
        return fwdspec_from_config(v, spec, size, err);
    snprintf(spec, size, "%s", v);
    return 0;
}

/* One parser per value kind: the value v for keyword kw into field p. */
typedef int (*value_parser)(void *p, const char *kw, const char *v,
                            sshtun_error *err);

/* A string; the first one given stays. */
static int parse_str(void *p, const char *kw, const char *v,
                     sshtun_error *err)
{
    if (!*v)
        return bad_value(err, kw, v, "empty");
    if (!*(char **)p && !(*(char **)p = strdup(v)))
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    return 0;
}

/* A TCP port. */
static int parse_port_value(void *p, const char *kw, const char *v,
                            sshtun_error *err)
{
    long n = fwdspec_port(v);

    if (n <= 0)
        return bad_value(err, kw, v, "a port number 1-65535");
    set_int(p, (int)n);
    return 0;
}

/* yes or no. */
static int parse_yesno_value(void *p, const char *kw, const char *v,
                             sshtun_error *err)
{
    int n = parse_yesno(v);

    if (n < 0)
        return bad_value(err, kw, v, "yes or no");
    set_int(p, n);
    return 0;
}

/* PubkeyAuthentication: yes, no, or ssh's unbound / host-bound (both
 * mean yes here: host-bound needs an extension libssh2 does not send). */
static int parse_pubkey_auth(void *p, const char *kw, const char *v,
                             sshtun_error *err)
{
    int n = parse_yesno(v);

    if (!strcasecmp(v, "unbound") || !strcasecmp(v, "host-bound"))
        n = 1;
    if (n < 0)
        return bad_value(err, kw, v, "yes, no, unbound or host-bound");
    set_int(p, n);
    return 0;
}

/* An algorithm list (algolist.h), checked by assembling it. */
static int parse_algos(void *p, const char *kw, const char *v,
                       sshtun_error *err)
{
    char out[1024];
    int rc = algolist_assemble(kw, v, algolist_pubkey_default,
                               algolist_pubkey_known, out, sizeof out, err);

    return rc ? rc : parse_str(p, kw, v, err);
}

/* StrictHostKeyChecking's values. */
static int parse_strict(void *p, const char *kw, const char *v,
                        sshtun_error *err)
{
    int n;

    if (!strcasecmp(v, "accept-new"))
        n = STRICT_ACCEPT_NEW;
    else if (!strcasecmp(v, "ask"))
        n = STRICT_ASK;
    else if (!strcasecmp(v, "off"))
        n = STRICT_NO;
    else if ((n = parse_yesno(v)) < 0)
        return bad_value(err, kw, v, "yes, no, ask or accept-new");
    set_int(p, n);
    return 0;
}

/* Seconds, 0 or "none" for no limit. */
static int parse_seconds(void *p, const char *kw, const char *v,
                         sshtun_error *err)
{
    long n = strcasecmp(v, "none") ? parse_number(v, 86400) : 0;

    if (n < 0)
        return bad_value(err, kw, v, "seconds");
    set_int(p, (int)n);
    return 0;
}

/* Seconds, at least one: a deadline that cannot be turned off. */
static int parse_seconds_positive(void *p, const char *kw, const char *v,
                                  sshtun_error *err)
{
    long n = parse_number(v, 86400);

    if (n < 1)
        return bad_value(err, kw, v, "at least 1 second");
    set_int(p, (int)n);
    return 0;
}

/* A count from 1 to 1000. */
static int parse_count(void *p, const char *kw, const char *v,
                       sshtun_error *err)
{
    long n = parse_number(v, 1000);

    if (n < 1)
        return bad_value(err, kw, v, "a count from 1 to 1000");
    set_int(p, (int)n);
    return 0;
}

/* A per-forward limit: 1 to OPTS_MAX_LIMIT. */
static int parse_limit(void *p, const char *kw, const char *v,
                       sshtun_error *err)
{
    long n = parse_number(v, OPTS_MAX_LIMIT);

    if (n < 1)
        return bad_value(err, kw, v, "a number from 1 to 65536");
    set_int(p, (int)n);
    return 0;
}

/* AddressFamily's values. */
static int parse_family(void *p, const char *kw, const char *v,
                        sshtun_error *err)
{
    int n;

    if (!strcasecmp(v, "any"))
        n = AF_UNSPEC;
    else if (!strcasecmp(v, "inet"))
        n = AF_INET;
    else if (!strcasecmp(v, "inet6"))
        n = AF_INET6;
    else
        return bad_value(err, kw, v, "any, inet or inet6");
    set_int(p, n);
    return 0;
}

/* LogLevel's values. */
static int parse_loglevel_value(void *p, const char *kw, const char *v,
                                sshtun_error *err)
{
    int n = parse_loglevel(v);

    if (n < 0)
        return bad_value(err, kw, v,
                         "QUIET, ERROR, INFO, VERBOSE or DEBUG1-3");
    set_int(p, n);
    return 0;
}

/* A window size in bytes. */
static int parse_size_value(void *p, const char *kw, const char *v,
                            sshtun_error *err)
{
    long n = parse_size(v);

    if (n < OPTS_MIN_WINDOW || n > OPTS_MAX_WINDOW)
        return bad_value(err, kw, v, "bytes from 64K to 16M");
    if (*(long *)p < 0)
        *(long *)p = n;
    return 0;
}

/* One more value of a list. */
static int parse_list(void *p, const char *kw, const char *v,
                      sshtun_error *err)
{
    if (!*v)
        return bad_value(err, kw, v, "empty");
    return list_add(p, v, kw, err);
}

/* A -D specification, checked, then listed. */
static int parse_fwd_dynamic(void *p, const char *kw, const char *v,
                             sshtun_error *err)
{
    struct fwdspec fs;
    int rc = fwdspec_parse_dynamic(v, &fs, err);

    return rc ? rc : list_add(p, v, kw, err);
}

/* A SocksAllow rule, checked by parsing it into a scratch list. */
static int parse_allow(void *p, const char *kw, const char *v,
                       sshtun_error *err)
{
    struct allowlist *tmp = calloc(1, sizeof *tmp);
    int rc;

    if (!tmp)
        return error_set(err, SSHTUN_ERR_NOMEM, "out of memory");
    rc = allowlist_add(tmp, v, err);
    free(tmp);
    return rc ? rc : list_add(p, v, kw, err);
}

/* A -R specification: "[bind:]port:host:hostport", "[bind:]port
 * host:hostport" or "[bind:]port" (a SOCKS proxy on the server). */
static int parse_fwd_remote(void *p, const char *kw, const char *v,
                            sshtun_error *err)
{
    char spec[2 * FWD_HOST_MAX + 16];
    struct fwdspec fs;
    int rc;

    if ((rc = forward_spec(v, spec, sizeof spec, err)))
        return rc;
    if (fwdspec_parse_local(spec, &fs, NULL)
        && fwdspec_parse_dynamic(spec, &fs, NULL))
        return error_set(err, SSHTUN_ERR_INVAL, "Bad remote forwarding "
                         "specification '%.300s': expected [bind_address:]"
                         "port:host:hostport or [bind_address:]port", v);
    return list_add(p, spec, kw, err);
}

/* A -L specification in either form, stored in the -L form. */
static int parse_fwd_local(void *p, const char *kw, const char *v,
                           sshtun_error *err)
{
    char spec[2 * FWD_HOST_MAX + 16];
    struct fwdspec fs;
    int rc;

    if ((rc = forward_spec(v, spec, sizeof spec, err))
        || (rc = fwdspec_parse_local(spec, &fs, err)))
        return rc;
    return list_add(p, spec, kw, err);
}

/* PermitRemoteOpen: checked, then kept as text (first value wins). */
static int parse_permit_open(void *p, const char *kw, const char *v,
                             sshtun_error *err)
{
    struct permitopen tmp;
    int rc = permitopen_parse(&tmp, v, err);

    return rc ? rc : parse_str(p, kw, v, err);
}

/* A number of connections in a pool. */
static int parse_pool_size(void *p, const char *kw, const char *v,
                           sshtun_error *err)
{
    long n = parse_number(v, OPTS_POOL_LIMIT);

    if (n < 1)
        return bad_value(err, kw, v, "a count from 1 to "
                         OPTS_POOL_LIMIT_TEXT);
    set_int(p, (int)n);
    return 0;
}

/* A memory budget: bytes with an optional K, M or G suffix. */
static int parse_budget(void *p, const char *kw, const char *v,
                        sshtun_error *err)
{
    char *end;
    long n;

    if (!isdigit((unsigned char)*v))
        return bad_value(err, kw, v, "bytes from 4M to 64G");
    n = strtol(v, &end, 10);
    if (n > OPTS_MAX_BUDGET)
        n = -1;
    else if (*end == 'k' || *end == 'K')
        n <<= 10, end++;
    else if (*end == 'm' || *end == 'M')
        n <<= 20, end++;
    else if (*end == 'g' || *end == 'G')
        n <<= 30, end++;
    if (*end || n < OPTS_MIN_BUDGET || n > OPTS_MAX_BUDGET)
        return bad_value(err, kw, v, "bytes from 4M to 64G");
    if (*(long *)p < 0)
        *(long *)p = n;
    return 0;
}

/* The parser of each kind, indexed by enum kind. */
static const value_parser parsers[] = {
    [K_STR] = parse_str,
    [K_PORT] = parse_port_value,
    [K_YESNO] = parse_yesno_value,
    [K_STRICT] = parse_strict,
    [K_SECONDS] = parse_seconds,
    [K_SECONDS_POSITIVE] = parse_seconds_positive,
    [K_LIST] = parse_list,
    [K_FWD_LOCAL] = parse_fwd_local,
    [K_FWD_DYNAMIC] = parse_fwd_dynamic,
    [K_FWD_REMOTE] = parse_fwd_remote,
    [K_ALLOW] = parse_allow,
    [K_LOGLEVEL] = parse_loglevel_value,
    [K_SIZE] = parse_size_value,
    [K_FAMILY] = parse_family,
    [K_COUNT] = parse_count,
    [K_ALGOS] = parse_algos,
    [K_PUBKEY] = parse_pubkey_auth,
    [K_POOL_SIZE] = parse_pool_size,
    [K_BUDGET] = parse_budget,
    [K_PERMIT_OPEN] = parse_permit_open,
    [K_LIMIT] = parse_limit,
};

/* Set one keyword's value (first value wins, lists accumulate). */
int sshtun_options_set(sshtun_options *o, const char *kw, const char *v,
                       sshtun_error *err)
{
    const struct keyword *k;

    if (!o || !kw || !v)
        return error_set(err, SSHTUN_ERR_INVAL, "missing option or value");
    k = find_keyword(kw);
    if (!k) {
        if (options_keyword_ignored(kw))
            return 0;               /* OpenSSH's, meaningless here */
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad configuration option: %s", kw);
    }
    return parsers[k->kind]((char *)o + k->off, k->name, v, err);
}

/* Parse "Keyword=value" or "Keyword value". */
int sshtun_options_parse(sshtun_options *o, const char *line,
                         sshtun_error *err)
{
    char kw[64];
    size_t n = 0;
    const char *v;

    while (*line && isspace((unsigned char)*line))
        line++;
    while (line[n] && line[n] != '=' && !isspace((unsigned char)line[n]))
        n++;
    if (n == 0 || n >= sizeof kw)
        return error_set(err, SSHTUN_ERR_INVAL,
                         "Bad configuration option: '%s'", line);
    memcpy(kw, line, n);
    kw[n] = '\0';
    v = line + n;
    while (*v && isspace((unsigned char)*v))
        v++;
    if (*v == '=')
        v++;
    while (*v && isspace((unsigned char)*v))
        v++;
    if (!*v)
        return error_set(err, SSHTUN_ERR_INVAL, "%s: missing value", kw);
    {
        /* Trailing blanks are not part of the value, as in ssh. */
        char value[1024];
        size_t len = strlen(v);
        while (len && isspace((unsigned char)v[len - 1]))
            len--;
        if (len >= sizeof value)
            return error_set(err, SSHTUN_ERR_INVAL, "%s: value too long", kw);
        memcpy(value, v, len);
        value[len] = '\0';
        return sshtun_options_set(o, kw, value, err);
    }
}

/* A keyword's value as text (ints formatted into a static-per-call buffer
 * is not thread-safe, so ints are returned only through typed helpers). */
const char *sshtun_options_get(const sshtun_options *o, const char *kw,
                               int index)
{
    const struct keyword *k = find_keyword(kw);
    const void *p;

    if (!o || !k)
        return NULL;
    p = (const char *)o + k->off;
    if (is_string(k->kind))
        return index == 0 ? *(char *const *)p : NULL;
    if (is_list(k->kind)) {
        const struct opt_list *l = p;
        return index >= 0 && index < l->n ? l->v[index] : NULL;
    }
    return NULL;
}

/* Add a private key held in memory (text, as in a key file). */
int sshtun_options_add_identity(sshtun_options *o, const char *key,
                                sshtun_error *err)
{
    if (!o || !key || !*key)
        return error_set(err, SSHTUN_ERR_INVAL, "no key");
    return list_add(&o->identity_data, key, "identity", err);
}

/* Set the log callback. */
void sshtun_options_set_log(sshtun_options *o, sshtun_log_fn fn, void *user)
{
    o->log.fn = fn;
    o->log.user = user;
}

/* Set the passphrase callback. */
void sshtun_options_set_passphrase(sshtun_options *o,
                                   sshtun_passphrase_fn fn, void *user)
{
    o->pass_fn = fn;
    o->pass_user = user;
}

int options_port(const sshtun_options *o) { return o->port > 0 ? o->port : 22; }
int options_flag(int v) { return v > 0; }

int options_log_level(const sshtun_options *o)
{
    return o->log.level >= 0 ? o->log.level : SSHTUN_LOG_INFO;
}

int options_server_alive_count(const sshtun_options *o)
{
    return o->server_alive_count_max > 0 ? o->server_alive_count_max : 3;
}

int options_socks_timeout(const sshtun_options *o)
{
    return o->socks_timeout > 0 ? o->socks_timeout
                                : OPTS_DEFAULT_SOCKS_TIMEOUT;
}

int options_max_connections(const sshtun_options *o)
{
    return o->max_connections > 0 ? o->max_connections
                                  : OPTS_DEFAULT_MAX_CONNECTIONS;
}

int options_max_handshakes(const sshtun_options *o)
{
    return o->max_handshakes > 0 ? o->max_handshakes
                                 : OPTS_DEFAULT_MAX_HANDSHAKES;
}

long options_window_size(const sshtun_options *o)
{
    return o->window_size > 0 ? o->window_size : OPTS_DEFAULT_WINDOW;
}

long options_memory_budget(const sshtun_options *o)
{
    return o->memory_budget > 0 ? o->memory_budget : OPTS_DEFAULT_BUDGET;
}

int options_pool_max(const sshtun_options *o)
{
    return o->pool_max > 0 ? o->pool_max : OPTS_DEFAULT_POOL_MAX;
}

int options_pool_min(const sshtun_options *o)
{
    int n = o->pool_min > 0 ? o->pool_min : 1;

    return n < options_pool_max(o) ? n : options_pool_max(o);
}

int64_t options_pool_idle_ms(const sshtun_options *o)
{
    return (o->pool_idle_time >= 0 ? o->pool_idle_time
                                   : OPTS_DEFAULT_POOL_IDLE) * (int64_t)1000;
}

int options_strict(const sshtun_options *o)
{
    return o->strict >= 0 ? o->strict : STRICT_ASK;
}

/* Copy a list. */
static int list_dup(struct opt_list *dst, const struct opt_list *src)
{
    dst->n = 0;
    for (int i = 0; i < src->n; i++) {
        if (!(dst->v[i] = strdup(src->v[i])))
            return -1;
        dst->n++;
    }
    return 0;
}

/* Deep copy of options. */
sshtun_options *options_dup(const sshtun_options *o)
{
    sshtun_options *c = malloc(sizeof *c);
    int bad = 0;

    if (!c)
        return NULL;
    *c = *o;
    if (list_dup(&c->identity_data, &o->identity_data))
        bad = 1;
    for (size_t i = 0; i < NKEYWORDS; i++) {
        void *p = (char *)c + keywords[i].off;
        if (is_string(keywords[i].kind)) {
            char **s = p;
            if (*s && !(*s = strdup(*s)))
                bad = 1;
        } else if (is_list(keywords[i].kind)) {
            struct opt_list tmp = *(struct opt_list *)p;
            if (list_dup(p, &tmp))
                bad = 1;
        }
    }
    if (bad) {
        sshtun_options_free(c);
        return NULL;
    }
    return c;
}
