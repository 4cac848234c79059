/*
 * ctlpath.c - expanding ControlPath (see ctlpath.h).
 *
 * The tokens are ssh's for ControlPath: %% %C %d %h %i %L %l %n %p %r %u.
 * %C hashes %l%h%p%r (OpenSSH 9.2; later versions add %j), so a path
 * shared with ssh's own habits names the same socket.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "base/path.h"
#include "control/ctlpath.h"

/* %C. */
void ctlpath_hash(const struct ctlpath_info *in, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char text[2048];
    int n = snprintf(text, sizeof text, "%s%s%d%s", in->local_host,
                     in->host, in->port, in->ruser);

    if (n < 0 || (size_t)n >= sizeof text
        || !EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha1(), NULL)
        || mdlen != 20) {
        snprintf(out, 41, "%040d", 0);
        return;
    }
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The text one token stands for, in buf; NULL if unknown. */
static const char *token(char t, const struct ctlpath_info *in, char *buf,
                         size_t size)
{
    switch (t) {
    case '%': return "%";
    case 'h': return in->host;
    case 'n': return in->orig_host;
    case 'r': return in->ruser;
    case 'l': return in->local_host;
    case 'u': return in->local_user;
    case 'd': return in->home;
    case 'p': snprintf(buf, size, "%d", in->port); return buf;
    case 'i': snprintf(buf, size, "%u", in->uid); return buf;
    case 'L':
        snprintf(buf, size, "%.*s", (int)strcspn(in->local_host, "."),
                 in->local_host);
        return buf;
    case 'C':
        if (size < 41)
            return NULL;
        ctlpath_hash(in, buf);
        return buf;
    default:
        return NULL;
    }
}

/* Expand ~ and the tokens. */
int ctlpath_expand(const char *tmpl, const struct ctlpath_info *in,
                   char *out, size_t size, char *err, size_t errsize)
{
    char tilde[4096], piece[256];
    size_t len = 0;

    path_expand_tilde(tilde, sizeof tilde, tmpl);
    for (const char *p = tilde; *p; p++) {
        const char *add = piece;
        size_t n;

        if (*p != '%') {
            piece[0] = *p;
            piece[1] = '\0';
        } else if (!p[1] || !(add = token(p[1], in, piece, sizeof piece))) {
            snprintf(err, errsize, "ControlPath '%s': unknown token '%%%c'",
                     tmpl, p[1] ? p[1] : ' ');
            return -1;
        } else {
            p++;
        }
        n = strlen(add);
        if (len + n > CTLPATH_MAX || len + n >= size) {
            snprintf(err, errsize, "ControlPath '%.200s' too long: a Unix "
                     "socket path holds at most %d bytes", tmpl, CTLPATH_MAX);
            return -1;
        }
        memcpy(out + len, add, n);
        len += n;
    }
    out[len] = '\0';
    return 0;
}
