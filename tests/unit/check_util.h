/*
 * check_util.h - what every Check suite here shares: its main(), and the
 * assertion that a call failed with a given code and a message that says
 * why.
 *
 * Helpers are static inline so a suite that does not use one pays nothing.
 */
#ifndef SSHTUN_CHECK_UTIL_H
#define SSHTUN_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sshtun.h"

/* main() for a test program of one suite: runs it, exits 1 if any test
 * failed. */
#define CHECK_MAIN(suite_fn)                                            \
    int main(void)                                                      \
    {                                                                   \
        SRunner *sr = srunner_create(suite_fn());                       \
        int failed;                                                     \
                                                                        \
        srunner_run_all(sr, CK_NORMAL);                                 \
        failed = srunner_ntests_failed(sr);                             \
        srunner_free(sr);                                               \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                    \
    }

/* Assert that a call on input what returned code and left a message msg
 * containing want. */
static inline void check_error_text(const char *what, int rc, int code,
                                    const char *msg, const char *want)
{
    ck_assert_msg(rc == code, "'%s': returned %d, wanted %d (%s)",
                  what ? what : "(null)", rc, code, msg);
    ck_assert_msg(strstr(msg, want), "'%s': message '%s' lacks '%s'",
                  what ? what : "(null)", msg, want);
}

/* Assert that a call on input what returned code, set err to code, and
 * left a message containing want. */
static inline void check_error(const char *what, int rc,
                               const sshtun_error *err, int code,
                               const char *want)
{
    check_error_text(what, rc, code, err->msg, want);
    ck_assert_msg(err->code == code, "'%s': err->code %d, wanted %d",
                  what ? what : "(null)", err->code, code);
}

#endif
