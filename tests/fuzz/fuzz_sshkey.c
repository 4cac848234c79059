/*
 * fuzz_sshkey.c - libFuzzer target for the private key reader
 * (src/engine/sshkey.c, with keyfile.c, sshbuf.c and bcrypt_pbkdf.c).
 *
 * The first input byte picks the passphrase: bit 0 clear, none; set,
 * "secret" (the seed keys' passphrase).  The rest is the key's text.
 * bcrypt rounds are capped at 2 so that encrypted keys are decrypted
 * quickly.  Checks: a key is returned exactly when the status is OK, and
 * then it is an RSA key of an accepted size; NEED_PASS only without a
 * passphrase; the reason text is NUL-terminated.  Any violation traps.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/sshkey.h"

/* Stop the fuzzer when cond is false. */
#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *pass;
    EVP_PKEY *k = (EVP_PKEY *)&pass;    /* must be overwritten */
    char why[160];
    int rc;

    if (size < 1)
        return 0;
    pass = (data[0] & 1) ? "secret" : NULL;
    memset(why, 'x', sizeof why);
    rc = sshkey_parse_rsa((const char *)data + 1, size - 1, pass, 2, &k, why,
                          sizeof why);
    CHECK(memchr(why, '\0', sizeof why) != NULL);
    CHECK((rc == SSHKEY_OK) == (k != NULL));
    if (rc == SSHKEY_NEED_PASS)
        CHECK(pass == NULL);
    if (k) {
        CHECK(EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA);
        CHECK(EVP_PKEY_get_bits(k) >= SSHKEY_RSA_MIN_BITS
              && EVP_PKEY_get_bits(k) <= SSHKEY_RSA_MAX_BITS);
        EVP_PKEY_free(k);
    }
    return 0;
}
