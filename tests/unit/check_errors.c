/*
 * check_errors.c - unit tests for src/error.c.
 *
 * libssh2 reports why the server refused a channel only as text, so the
 * mapping of its exact "Channel open failure (...)" strings to our codes
 * is checked here, together with sshtun_strerror (a distinct, non-empty
 * text for every code in sshtun.h), error_open_reason, and error_set/error_clear
 * (formatting, return value, NULL err allowed).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#include "check_util.h"

/* Every code sshtun.h defines, success included. */
static const int all_codes[] = {
    SSHTUN_OK, SSHTUN_ERR_INVAL, SSHTUN_ERR_NOMEM, SSHTUN_ERR_RESOLVE,
    SSHTUN_ERR_CONNECT, SSHTUN_ERR_TIMEOUT, SSHTUN_ERR_HANDSHAKE,
    SSHTUN_ERR_HOSTKEY_UNKNOWN, SSHTUN_ERR_HOSTKEY_CHANGED, SSHTUN_ERR_AUTH,
    SSHTUN_ERR_PROHIBITED, SSHTUN_ERR_CONNECT_FAILED,
    SSHTUN_ERR_UNKNOWN_TYPE, SSHTUN_ERR_RESOURCE, SSHTUN_ERR_OPEN_FAILED,
    SSHTUN_ERR_CLOSED, SSHTUN_ERR_SESSION, SSHTUN_ERR_BIND, SSHTUN_ERR_IO,
    SSHTUN_ERR_UNSUPPORTED, SSHTUN_ERR_KEY,
};

#define NCODES (sizeof all_codes / sizeof all_codes[0])

START_TEST(open_failure_texts)
{
    /* The exact strings of libssh2's channel.c. */
    ck_assert_int_eq(error_from_open_failure(
        "Channel open failure (administratively prohibited)"),
        SSHTUN_ERR_PROHIBITED);
    ck_assert_int_eq(error_from_open_failure(
        "Channel open failure (connect failed)"),
        SSHTUN_ERR_CONNECT_FAILED);
    ck_assert_int_eq(error_from_open_failure(
        "Channel open failure (unknown channel type)"),
        SSHTUN_ERR_UNKNOWN_TYPE);
    ck_assert_int_eq(error_from_open_failure(
        "Channel open failure (resource shortage)"),
        SSHTUN_ERR_RESOURCE);
    ck_assert_int_eq(error_from_open_failure("Channel open failure"),
                     SSHTUN_ERR_OPEN_FAILED);
    ck_assert_int_eq(error_from_open_failure(NULL), SSHTUN_ERR_OPEN_FAILED);
    ck_assert_int_eq(error_from_open_failure(""), SSHTUN_ERR_OPEN_FAILED);
    ck_assert_int_eq(error_from_open_failure("Would block"),
                     SSHTUN_ERR_OPEN_FAILED);
    ck_assert_int_eq(error_from_open_failure("Timed out waiting for channel"),
                     SSHTUN_ERR_TIMEOUT);
}
END_TEST

START_TEST(open_reason_names)
{
    ck_assert_str_eq(error_open_reason(SSHTUN_ERR_PROHIBITED),
                     "administratively prohibited");
    ck_assert_str_eq(error_open_reason(SSHTUN_ERR_CONNECT_FAILED),
                     "connect failed");
    ck_assert_str_eq(error_open_reason(SSHTUN_ERR_UNKNOWN_TYPE),
                     "unknown channel type");
    ck_assert_str_eq(error_open_reason(SSHTUN_ERR_RESOURCE),
                     "resource shortage");
    ck_assert_str_eq(error_open_reason(SSHTUN_ERR_OPEN_FAILED),
                     sshtun_strerror(SSHTUN_ERR_OPEN_FAILED));
}
END_TEST

START_TEST(strerror_every_code)
{
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = sshtun_strerror(all_codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(*s, "code %d has an empty text", all_codes[i]);
        ck_assert_msg(strcmp(s, "unknown error"),
                      "code %d is described as unknown", all_codes[i]);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, sshtun_strerror(all_codes[j])),
                          "codes %d and %d share the text '%s'",
                          all_codes[i], all_codes[j], s);
    }
}
END_TEST

START_TEST(strerror_unknown)
{
    ck_assert_str_eq(sshtun_strerror(1), "unknown error");
    ck_assert_str_eq(sshtun_strerror(SSHTUN_ERR_KEY - 1), "unknown error");
    ck_assert_str_eq(sshtun_strerror(-1000), "unknown error");
}
END_TEST

START_TEST(err_set_formats)
{
    sshtun_error err;

    memset(&err, 'x', sizeof err);
    ck_assert_int_eq(error_set(&err, SSHTUN_ERR_BIND, "bind %s:%d: %s",
                               "127.0.0.1", 8080, "Address in use"),
                     SSHTUN_ERR_BIND);
    ck_assert_int_eq(err.code, SSHTUN_ERR_BIND);
    ck_assert_str_eq(err.msg, "bind 127.0.0.1:8080: Address in use");
}
END_TEST

START_TEST(err_set_truncates)
{
    sshtun_error err;
    char big[2 * sizeof err.msg];

    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(error_set(&err, SSHTUN_ERR_IO, "%s", big),
                     SSHTUN_ERR_IO);
    ck_assert_uint_eq(strlen(err.msg), sizeof err.msg - 1);
}
END_TEST

START_TEST(err_null_allowed)
{
    ck_assert_int_eq(error_set(NULL, SSHTUN_ERR_AUTH, "no %s", "keys"),
                     SSHTUN_ERR_AUTH);
    error_clear(NULL);
}
END_TEST

START_TEST(err_clear_resets)
{
    sshtun_error err;

    error_set(&err, SSHTUN_ERR_CLOSED, "gone");
    error_clear(&err);
    ck_assert_int_eq(err.code, SSHTUN_OK);
    ck_assert_str_eq(err.msg, "");
}
END_TEST

/* The suite: open-failure mapping, strerror, error_set. */
static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *map = tcase_create("mapping");
    TCase *text = tcase_create("strerror");
    TCase *set = tcase_create("error_set");

    tcase_add_test(map, open_failure_texts);
    tcase_add_test(map, open_reason_names);
    suite_add_tcase(s, map);
    tcase_add_test(text, strerror_every_code);
    tcase_add_test(text, strerror_unknown);
    suite_add_tcase(s, text);
    tcase_add_test(set, err_set_formats);
    tcase_add_test(set, err_set_truncates);
    tcase_add_test(set, err_null_allowed);
    tcase_add_test(set, err_clear_resets);
    suite_add_tcase(s, set);
    return s;
}

CHECK_MAIN(errors_suite)
