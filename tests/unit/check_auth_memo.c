/*
 * check_auth_memo.c - unit tests for the memo a session's connections
 * share about how the first one authenticated (auth_memo.c), and for the
 * algorithm lists of PubkeyAcceptedAlgorithms (algolist.c) and the
 * authentication keywords that feed auth.c.
 *
 * The memo: empty until a success is recorded; the first success stays;
 * identity and secret come back as recorded; keyboard-interactive answers
 * are never kept and, with BatchMode=yes, make the first success
 * unrepeatable; many threads recording at once leave one consistent
 * record.  Lists: ssh's "+", "-", "^" and wildcard forms, duplicates
 * dropped, unknown names refused with the keyword's name.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/algolist.h"
#include "config/options.h"
#include "engine/auth_memo.h"

#include "check_util.h"

START_TEST(memo_empty_then_first_success_stays)
{
    struct auth_memo *m = auth_memo_new();
    struct auth_memo_entry *e = calloc(1, sizeof *e);
    struct auth_memo_entry *got = calloc(1, sizeof *got);

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(auth_memo_get(m, got), 0);
    e->method = AUTH_METHOD_PUBLICKEY;
    e->identity = AUTH_ID_FILE;
    strcpy(e->path, "/home/u/.ssh/id_rsa");
    e->has_secret = 1;
    strcpy(e->secret, "key passphrase");
    auth_memo_record(m, e);
    e->method = AUTH_METHOD_PASSWORD;
    strcpy(e->secret, "later password");
    auth_memo_record(m, e);
    ck_assert_int_eq(auth_memo_get(m, got), 1);
    ck_assert_int_eq(got->method, AUTH_METHOD_PUBLICKEY);
    ck_assert_int_eq(got->identity, AUTH_ID_FILE);
    ck_assert_str_eq(got->path, "/home/u/.ssh/id_rsa");
    ck_assert_int_eq(got->has_secret, 1);
    ck_assert_str_eq(got->secret, "key passphrase");
    auth_memo_free(m);
    free(e);
    free(got);
}
END_TEST

START_TEST(memo_agent_blob_and_password)
{
    struct auth_memo *m = auth_memo_new();
    struct auth_memo_entry *e = calloc(1, sizeof *e);
    struct auth_memo_entry *got = calloc(1, sizeof *got);

    e->method = AUTH_METHOD_PUBLICKEY;
    e->identity = AUTH_ID_AGENT;
    memcpy(e->blob, "\0\0\0\7ssh-rsa", 11);
    e->blob_len = 11;
    auth_memo_record(m, e);
    ck_assert_int_eq(auth_memo_get(m, got), 1);
    ck_assert_uint_eq(got->blob_len, 11);
    ck_assert(!memcmp(got->blob, "\0\0\0\7ssh-rsa", 11));
    ck_assert_int_eq(got->has_secret, 0);
    ck_assert_str_eq(got->secret, "");
    auth_memo_free(m);
    m = auth_memo_new();
    memset(e, 0, sizeof *e);
    e->method = AUTH_METHOD_PASSWORD;
    e->has_secret = 1;
    memset(e->secret, 'p', sizeof e->secret);  /* unterminated: capped */
    auth_memo_record(m, e);
    ck_assert_int_eq(auth_memo_get(m, got), 1);
    ck_assert_uint_eq(strlen(got->secret), AUTH_MEMO_SECRET_MAX - 1);
    auth_memo_free(m);
    auth_memo_free(NULL);
    free(e);
    free(got);
}
END_TEST

START_TEST(memo_kbdint_never_kept)
{
    struct auth_memo *m = auth_memo_new();
    struct auth_memo_entry *e = calloc(1, sizeof *e);
    struct auth_memo_entry *got = calloc(1, sizeof *got);
    sshtun_options *o = sshtun_options_new();
    sshtun_error err;

    ck_assert_int_eq(auth_memo_can_repeat(m, o), 1);
    e->method = AUTH_METHOD_KBDINT;
    e->has_secret = 1;
    strcpy(e->secret, "123456");
    auth_memo_record(m, e);
    ck_assert_int_eq(auth_memo_get(m, got), 1);
    ck_assert_int_eq(got->method, AUTH_METHOD_KBDINT);
    ck_assert_int_eq(got->has_secret, 0);
    ck_assert_str_eq(got->secret, "");
    ck_assert_int_eq(auth_memo_can_repeat(m, o), 1);
    ck_assert_int_eq(sshtun_options_set(o, "BatchMode", "yes", &err), 0);
    ck_assert_int_eq(auth_memo_can_repeat(m, o), 0);
    ck_assert_int_eq(auth_memo_can_repeat(NULL, o), 1);
    auth_memo_free(m);
    /* A password success repeats even in batch mode (no prompt needed). */
    m = auth_memo_new();
    e->method = AUTH_METHOD_PASSWORD;
    auth_memo_record(m, e);
    ck_assert_int_eq(auth_memo_can_repeat(m, o), 1);
    auth_memo_free(m);
    sshtun_options_free(o);
    free(e);
    free(got);
}
END_TEST

static struct auth_memo *shared;

/* Record a success naming this thread's index. */
static void *recorder(void *arg)
{
    struct auth_memo_entry *e = calloc(1, sizeof *e);
    struct auth_memo_entry *got = calloc(1, sizeof *got);

    e->method = AUTH_METHOD_PUBLICKEY;
    e->identity = AUTH_ID_MEMORY;
    e->index = (int)(long)arg;
    e->has_secret = 1;
    snprintf(e->secret, sizeof e->secret, "secret-%d", e->index);
    auth_memo_record(shared, e);
    for (int i = 0; i < 1000; i++) {
        char want[32];
        ck_assert_int_eq(auth_memo_get(shared, got), 1);
        snprintf(want, sizeof want, "secret-%d", got->index);
        ck_assert_str_eq(got->secret, want);
    }
    free(e);
    free(got);
    return NULL;
}

START_TEST(memo_threads)
{
    pthread_t t[8];

    shared = auth_memo_new();
    for (long i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, recorder, (void *)i);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    auth_memo_free(shared);
}
END_TEST

/* Assemble spec against the pubkey defaults. */
static const char *assemble(const char *spec, int *rc)
{
    static char out[1024];
    static sshtun_error err;

    *rc = algolist_assemble("PubkeyAcceptedAlgorithms", spec,
                            algolist_pubkey_default, algolist_pubkey_known,
                            out, sizeof out, &err);
    return *rc ? err.msg : out;
}

START_TEST(algolist_forms)
{
    const char *l;
    int rc;

    l = assemble(NULL, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(l, algolist_pubkey_default);
    ck_assert(!algolist_has(l, "ssh-rsa"));
    ck_assert_int_lt(algolist_index(l, "rsa-sha2-512"),
                     algolist_index(l, "rsa-sha2-256"));
    l = assemble("+ssh-rsa", &rc);
    ck_assert(algolist_has(l, "ssh-rsa") && algolist_has(l, "ssh-ed25519"));
    ck_assert_int_gt(algolist_index(l, "ssh-rsa"),
                     algolist_index(l, "rsa-sha2-256"));
    l = assemble("+rsa-sha2-512", &rc);         /* no duplicate */
    ck_assert_str_eq(l, algolist_pubkey_default);
    l = assemble("-rsa-sha2-*", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert(!algolist_has(l, "rsa-sha2-512"));
    ck_assert(!algolist_has(l, "rsa-sha2-256"));
    ck_assert(algolist_has(l, "ssh-ed25519"));
    l = assemble("^rsa-sha2-256", &rc);
    ck_assert_int_eq(algolist_index(l, "rsa-sha2-256"), 0);
    ck_assert_int_gt(algolist_index(l, "rsa-sha2-512"), 0);
    l = assemble("rsa-sha2-256,ssh-ed25519", &rc);
    ck_assert_str_eq(l, "rsa-sha2-256,ssh-ed25519");
    l = assemble("ecdsa-sha2-nistp???", &rc);
    ck_assert_str_eq(l, "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
                        "ecdsa-sha2-nistp521");
    l = assemble("ssh-foo", &rc);
    ck_assert_int_eq(rc, SSHTUN_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(l, "PubkeyAcceptedAlgorithms"));
    ck_assert_ptr_nonnull(strstr(l, "ssh-foo"));
    assemble("+", &rc);
    ck_assert_int_eq(rc, 0);
    assemble("a,,b", &rc);
    ck_assert_int_eq(rc, SSHTUN_ERR_INVAL);
}
END_TEST

START_TEST(auth_keywords)
{
    sshtun_options *o = sshtun_options_new();
    sshtun_error err;

    ck_assert_int_eq(o->pubkey_authentication, -1);
    ck_assert_int_eq(sshtun_options_parse(o, "PubkeyAcceptedKeyTypes "
                                          "+ssh-rsa", &err), 0);
    ck_assert_str_eq(sshtun_options_get(o, "PubkeyAcceptedAlgorithms", 0),
                     "+ssh-rsa");
    /* First value wins, through either name. */
    ck_assert_int_eq(sshtun_options_set(o, "PubkeyAcceptedAlgorithms",
                                        "-ssh-rsa", &err), 0);
    ck_assert_str_eq(o->pubkey_accepted_algorithms, "+ssh-rsa");
    ck_assert_int_eq(sshtun_options_set(o, "PubkeyAcceptedAlgorithms",
                                        "+nonsense", &err), SSHTUN_ERR_INVAL);
    ck_assert_int_eq(sshtun_options_set(o, "ChallengeResponseAuthentication",
                                        "no", &err), 0);
    ck_assert_int_eq(o->kbdint_authentication, 0);
    ck_assert_int_eq(sshtun_options_set(o, "PasswordAuthentication", "maybe",
                                        &err), SSHTUN_ERR_INVAL);
    ck_assert_int_eq(sshtun_options_set(o, "PubkeyAuthentication",
                                        "host-bound", &err), 0);
    ck_assert_int_eq(o->pubkey_authentication, 1);
    ck_assert_int_eq(sshtun_options_set(o, "PreferredAuthentications",
                                        "password,publickey", &err), 0);
    ck_assert_int_eq(options_keyword_ignored("PasswordAuthentication"), 0);
    ck_assert_int_eq(options_keyword_ignored("PubkeyAcceptedKeyTypes"), 0);
    {
        sshtun_options *c = options_dup(o);
        ck_assert_str_eq(c->pubkey_accepted_algorithms, "+ssh-rsa");
        ck_assert_str_eq(c->preferred_authentications, "password,publickey");
        sshtun_options_free(c);
    }
    sshtun_options_free(o);
}
END_TEST

/* The test suite. */
static Suite *suite(void)
{
    Suite *s = suite_create("auth_memo");
    TCase *t = tcase_create("core");

    tcase_add_test(t, memo_empty_then_first_success_stays);
    tcase_add_test(t, memo_agent_blob_and_password);
    tcase_add_test(t, memo_kbdint_never_kept);
    tcase_add_test(t, memo_threads);
    tcase_add_test(t, algolist_forms);
    tcase_add_test(t, auth_keywords);
    suite_add_tcase(s, t);
    return s;
}

CHECK_MAIN(suite)
