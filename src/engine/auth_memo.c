/*
 * auth_memo.c - the shared record of a session's first authentication
 * (see auth_memo.h).
 *
 * The secret has a page of its own, mlock()ed (best effort: the limit on
 * locked memory may refuse it) and kept out of core dumps.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/auth_memo.h"

struct auth_memo {
    pthread_mutex_t mu;
    struct auth_memo_entry e;       /* [mu] everything but the secret */
    char *secret;                   /* [mu] locked page, or NULL */
    size_t secret_size;
    int locked;                     /* mlock succeeded */
};

/* A new, empty memo. */
struct auth_memo *auth_memo_new(void)
{
    struct auth_memo *m = calloc(1, sizeof *m);
    long page = sysconf(_SC_PAGESIZE);

    if (!m)
        return NULL;
    m->secret_size = page > AUTH_MEMO_SECRET_MAX ? (size_t)page
                                                 : AUTH_MEMO_SECRET_MAX;
    m->secret = mmap(NULL, m->secret_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m->secret == MAP_FAILED) {
        free(m);
        return NULL;
    }
    m->locked = mlock(m->secret, m->secret_size) == 0;
#ifdef MADV_DONTDUMP
    madvise(m->secret, m->secret_size, MADV_DONTDUMP);
#endif
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

/* Wipe and free. */
void auth_memo_free(struct auth_memo *m)
{
    if (!m)
        return;
    OPENSSL_cleanse(m->secret, m->secret_size);
    if (m->locked)
        munlock(m->secret, m->secret_size);
    munmap(m->secret, m->secret_size);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Record the first success. */
void auth_memo_record(struct auth_memo *m, const struct auth_memo_entry *e)
{
    if (!m || !e || e->method == AUTH_METHOD_NONE)
        return;
    pthread_mutex_lock(&m->mu);
    if (m->e.method == AUTH_METHOD_NONE) {
        m->e.method = e->method;
        m->e.identity = e->identity;
        memcpy(m->e.path, e->path, sizeof m->e.path);
        m->e.path[sizeof m->e.path - 1] = '\0';
        m->e.index = e->index;
        m->e.blob_len = e->blob_len <= sizeof m->e.blob ? e->blob_len : 0;
        memcpy(m->e.blob, e->blob, m->e.blob_len);
        m->e.has_secret = e->has_secret && e->method != AUTH_METHOD_KBDINT;
        if (m->e.has_secret) {
            size_t n = strnlen(e->secret, AUTH_MEMO_SECRET_MAX - 1);
            memcpy(m->secret, e->secret, n);
            m->secret[n] = '\0';
        }
    }
    pthread_mutex_unlock(&m->mu);
}

/* Copy what the memo holds. */
int auth_memo_get(struct auth_memo *m, struct auth_memo_entry *e)
{
    int known;

    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    known = m->e.method != AUTH_METHOD_NONE;
    if (known) {
        memcpy(e, &m->e, offsetof(struct auth_memo_entry, secret));
        if (m->e.has_secret)
            memcpy(e->secret, m->secret, strlen(m->secret) + 1);
        else
            e->secret[0] = '\0';
    }
    pthread_mutex_unlock(&m->mu);
    return known;
}

/* Whether later connections can repeat the first authentication. */
int auth_memo_can_repeat(const struct auth_memo *m, const sshtun_options *o)
{
    struct auth_memo *mm = (struct auth_memo *)m;
    int kbdint;

    if (!m)
        return 1;
    pthread_mutex_lock(&mm->mu);
    kbdint = mm->e.method == AUTH_METHOD_KBDINT;
    pthread_mutex_unlock(&mm->mu);
    return !(kbdint && o && options_flag(o->batch_mode));
}
