/*
 * statsfmt.c - statistics as JSON or a table (see statsfmt.h).
 *
 * The JSON object's "version" is SSHTUN_STATS_VERSION; fields are only
 * ever added.  The forwards' statistics are copied while the forward
 * registry is locked, so none can be freed while it is read.  Strings are escaped as JSON requires (control characters
 * as \u00XX), so a spec or an error text cannot break the object.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/statsfmt.h"
#include "forward/forward.h"

/* Room kept free per forward still to write, so that a buffer too small
 * for every forward gives fewer forwards, not broken JSON. */
#define STATSFMT_ROOM_PER_FORWARD 8192

/* An output buffer that cuts short rather than overflows. */
struct out {
    char *p;
    size_t size, len;
};

/* Append formatted text. */
__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->len + 1 >= o->size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < o->size - o->len ? (size_t)n
                                               : o->size - o->len - 1;
}

/* Append a JSON string. */
static void put_json_str(struct out *o, const char *s)
{
    put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

/* The forwards' statistics, copied while the registry is locked (so no
 * forward can go away while it is read). */
struct fwd_list {
    struct sshtun_forward_stats st[STATSFMT_MAX_FORWARDS];
    struct forward_stalled_conn stalled[STATSFMT_MAX_FORWARDS]
                                       [STATSFMT_MAX_STALLED];
    int nstalled[STATSFMT_MAX_FORWARDS];
    int n, omitted;
};

/* forward_each callback: copy one forward's statistics. */
static int collect(struct sshtun_forward *f, const char *kind,
                   const char *spec, void *arg)
{
    struct fwd_list *l = arg;

    (void)kind;
    (void)spec;
    if (l->n < STATSFMT_MAX_FORWARDS) {
        l->st[l->n].size = sizeof l->st[l->n];
        sshtun_forward_stats(f, &l->st[l->n]);
        l->nstalled[l->n] = forward_stalled(f, l->stalled[l->n],
                                            STATSFMT_MAX_STALLED);
        l->n++;
    } else {
        l->omitted++;
    }
    return 0;
}

static const char *const open_failure_names[SSHTUN_OPEN_FAILURE_KINDS] = {
    "prohibited", "connect_failed", "unknown_type", "resource", "timeout",
    "other"
};

static const char *const socks_reply_names[9] = {
    "succeeded", "general_failure", "not_allowed", "network_unreachable",
    "host_unreachable", "connection_refused", "ttl_expired",
    "command_not_supported", "address_type_not_supported"
};

/* The stalled connections of a forward, as a JSON array. */
static void json_stalled(struct out *o, const struct forward_stalled_conn *c,
                         int n)
{
    put(o, ",\"stalled_conns\":[");
    for (int i = 0; i < n; i++) {
        put(o, "%s{\"peer\":", i ? "," : "");
        put_json_str(o, c[i].peer);
        put(o, ",\"queued_bytes\":%llu,\"window\":%llu}",
            (unsigned long long)c[i].queued, (unsigned long long)c[i].window);
    }
    put(o, "]");
}

/* One forward as a JSON object (without its closing brace). */
static void json_forward(struct out *o,
                         const struct sshtun_forward_stats *st)
{
    put(o, "{\"kind\":");
    put_json_str(o, st->kind);
    put(o, ",\"spec\":");
    put_json_str(o, st->spec);
    put(o, ",\"port\":%d,\"conns_open\":%llu,\"conns_total\":%llu,"
        "\"bytes_up\":%llu,\"bytes_down\":%llu,\"open_failed\":{", st->port,
        (unsigned long long)st->conns_open,
        (unsigned long long)st->conns_total,
        (unsigned long long)st->bytes_up, (unsigned long long)st->bytes_down);
    for (int i = 0; i < SSHTUN_OPEN_FAILURE_KINDS; i++)
        put(o, "%s\"%s\":%llu", i ? "," : "", open_failure_names[i],
            (unsigned long long)st->open_failed[i]);
    put(o, "},\"socks_replies\":{");
    for (int i = 0; i < 9; i++)
        put(o, "%s\"%s\":%llu", i ? "," : "", socks_reply_names[i],
            (unsigned long long)st->socks_replies[i]);
    put(o, "},\"handshakes_timed_out\":%llu,\"stalled\":%llu,"
        "\"queued_bytes\":%llu,\"stalled_window\":%llu",
        (unsigned long long)st->handshakes_timed_out,
        (unsigned long long)st->stalled,
        (unsigned long long)st->queued_bytes,
        (unsigned long long)st->stalled_window);
}

/* The session as a JSON object. */
static void json_session(struct out *o,
                         const struct sshtun_session_stats *ss)
{
    put(o, "{\"up\":%s,\"up_since\":%lld,\"reconnects\":%llu,"
        "\"keepalive_rtt_ms\":%lld,\"bytes_in\":%llu,\"bytes_out\":%llu,"
        "\"connections_up\":%d,\"retry_in_ms\":%lld,\"status\":",
        ss->up ? "true" : "false", (long long)ss->up_since,
        (unsigned long long)ss->reconnects, (long long)ss->keepalive_rtt_ms,
        (unsigned long long)ss->bytes_in, (unsigned long long)ss->bytes_out,
        ss->connections_up, (long long)ss->retry_in_ms);
    put_json_str(o, ss->status);
    put(o, "}");
}

/* Statistics as one JSON object. */
size_t statsfmt_json(sshtun_session *s, char *buf, size_t size)
{
    struct out o = { buf, size, 0 };
    struct sshtun_session_stats ss = { .size = sizeof ss };
    struct fwd_list *l = calloc(1, sizeof *l);

    if (size)
        buf[0] = '\0';
    if (!l)
        return 0;
    sshtun_session_stats(s, &ss);
    forward_each(s, collect, l);
    put(&o, "{\"version\":%d,\"sshtun\":\"%s\",\"session\":",
        SSHTUN_STATS_VERSION, sshtun_version());
    json_session(&o, &ss);
    put(&o, ",\"forwards\":[");
    for (int i = 0; i < l->n; i++) {
        if (o.size - o.len < STATSFMT_ROOM_PER_FORWARD) {
            l->omitted += l->n - i;     /* the object stays whole */
            break;
        }
        put(&o, "%s", i ? "," : "");
        json_forward(&o, &l->st[i]);
        json_stalled(&o, l->stalled[i], l->nstalled[i]);
        put(&o, "}");
    }
    put(&o, "],\"forwards_omitted\":%d}\n", l->omitted);
    free(l);
    return o.len;
}

/* The session's line of the table. */
static void table_session(struct out *o,
                          const struct sshtun_session_stats *ss)
{
    char since[32] = "-", rtt[32] = "-";
    time_t t = (time_t)ss->up_since;
    struct tm tm;

    if (ss->up_since && gmtime_r(&t, &tm))
        strftime(since, sizeof since, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (ss->keepalive_rtt_ms >= 0)
        snprintf(rtt, sizeof rtt, "%lld ms", (long long)ss->keepalive_rtt_ms);
    put(o, "session: %s since %s, %llu reconnects, keepalive rtt %s, "
        "%llu bytes in, %llu bytes out\n", ss->up ? "up" : "down", since,
        (unsigned long long)ss->reconnects, rtt,
        (unsigned long long)ss->bytes_in, (unsigned long long)ss->bytes_out);
    if (ss->status[0])
        put(o, "status: %s\n", ss->status);
}

/* Statistics as a table. */
size_t statsfmt_table(sshtun_session *s, char *buf, size_t size)
{
    struct out o = { buf, size, 0 };
    struct sshtun_session_stats ss = { .size = sizeof ss };
    struct fwd_list *l = calloc(1, sizeof *l);

    if (size)
        buf[0] = '\0';
    if (!l)
        return 0;
    sshtun_session_stats(s, &ss);
    forward_each(s, collect, l);
    table_session(&o, &ss);
    put(&o, "%-14s %-30s %5s %5s %7s %12s %12s %7s %7s %8s\n", "kind", "spec",
        "port", "open", "total", "bytes up", "bytes down", "failed",
        "stalled", "queued");
    for (int i = 0; i < l->n; i++) {
        const struct sshtun_forward_stats *st = &l->st[i];
        unsigned long long failed = 0;
        for (int k = 0; k < SSHTUN_OPEN_FAILURE_KINDS; k++)
            failed += st->open_failed[k];
        put(&o, "%-14.14s %-30.30s %5d %5llu %7llu %12llu %12llu %7llu "
            "%7llu %8llu\n", st->kind, st->spec, st->port,
            (unsigned long long)st->conns_open,
            (unsigned long long)st->conns_total,
            (unsigned long long)st->bytes_up,
            (unsigned long long)st->bytes_down, failed,
            (unsigned long long)st->stalled,
            (unsigned long long)st->queued_bytes);
    }
    free(l);
    return o.len;
}
