/*
 * check_keyfile.c - unit tests for src/keyfile.c.
 *
 * keyfile_classify is fed real private key texts, made once with
 * ssh-keygen/openssl and pasted below (throwaway keys, used nowhere):
 * OpenSSH-format ED25519, ECDSA, RSA and DSA keys, plain and encrypted,
 * and PEM/PKCS#8 keys; it must name the type and whether a passphrase is
 * needed.  Garbage, truncated bodies, a wrong magic, absurd lengths and
 * keys bigger than the decode buffer are built in the test from blobs
 * encoded here.  Every text is passed in an exact-size buffer without a
 * NUL, so reads past len show up under valgrind.  Also the base64
 * decoder's edge cases and the type names.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/keyfile.h"

#include "check_util.h"

/* ssh-keygen -t ed25519 -N '' */
static const char txt_ed25519_plain[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACA1Q1KT1ffSQzsWhYoa4fSIyy119bOhOgrhE+9hrItFmwAAAIh1lQ3OdZUN\n"
    "zgAAAAtzc2gtZWQyNTUxOQAAACA1Q1KT1ffSQzsWhYoa4fSIyy119bOhOgrhE+9hrItFmw\n"
    "AAAEACtxl7feeYLq/TrEMsI0yap4rkctoadQxrK+m5AIIYIzVDUpPV99JDOxaFihrh9IjL\n"
    "LXX1s6E6CuET72Gsi0WbAAAAAAECAwQF\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t ecdsa -N '' */
static const char txt_ecdsa_plain[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS\n"
    "1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQSPthVfRyYMT/I76ZTEGKm6yYYSZJtd\n"
    "YomIemOXMr2hhRw0RCZW/L3YyaoNMQ7kZxcwIxe4lWXtB6pTCZ2fywB2AAAAmNqcWkjanF\n"
    "pIAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBI+2FV9HJgxP8jvp\n"
    "lMQYqbrJhhJkm11iiYh6Y5cyvaGFHDREJlb8vdjJqg0xDuRnFzAjF7iVZe0HqlMJnZ/LAH\n"
    "YAAAAgB4sXSZkkFmZfHzODogbv7yqnbA9OtQ4aYI8gpzgs3pAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t rsa -b 1024 -N '' */
static const char txt_rsa_plain[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAlwAAAAdzc2gtcn\n"
    "NhAAAAAwEAAQAAAIEAxfsOebh/QWkqVk1vzbzXCwp0zgvKgUc6bgsU6k3kefNN+M5xPjgB\n"
    "BzT2XYw/QHCxEImLsV8IXLapVRAVdcdmg+/vLYvRGLYvGKJGWEz2cbNuDWwjJSfe9Fr9wS\n"
    "4Aej2eGTkQzid0zQRRToMQUZo7T5I3wBFkFSz8RB3Z3HGBwZUAAAH4hhgAv4YYAL8AAAAH\n"
    "c3NoLXJzYQAAAIEAxfsOebh/QWkqVk1vzbzXCwp0zgvKgUc6bgsU6k3kefNN+M5xPjgBBz\n"
    "T2XYw/QHCxEImLsV8IXLapVRAVdcdmg+/vLYvRGLYvGKJGWEz2cbNuDWwjJSfe9Fr9wS4A\n"
    "ej2eGTkQzid0zQRRToMQUZo7T5I3wBFkFSz8RB3Z3HGBwZUAAAADAQABAAAAgA4KiDRJyX\n"
    "yyILaON2e4BOhbjX0viOUyUAqN7qXPcGzVvKnwukdXYXtJXk+0Kqg/Vc9+cdHak5U/vzKx\n"
    "OVRpF/QTmQz1jpF1ReS5uQo2LD+q+clqs4ORi5WAIFjWZqmA5RVXcNhpRcG+Vi6Wa7Q8Ls\n"
    "DEWHWZJzi/+vuY+l6dxFgBAAAAQQCOIx3/rVrAEypngverdEzzj+5Ee6vlmPLiI58Q1hZB\n"
    "T4KIu3DNsPQuXhuwvlHrZl6l90bWZy/Z1NehNZpsMZjlAAAAQQDipL0ZSm2XQcMagsNKAz\n"
    "2ZauZW+pG18BE2zjgolyu8bTToPj7+UsYO+qShKvUf/KmFQUeSorksFmwmHGPIUqTBAAAA\n"
    "QQDfn+OGmatZkLGkFjOtjfrdIG6oDcsgBkrsWHWz7J3XMIxiG0UFGl7bWJhx2jMQxaVwea\n"
    "sT3CHiuugNcUQ4OO3VAAAAAAEC\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t dsa -N '' */
static const char txt_dsa_plain[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABsQAAAAdzc2gtZH\n"
    "NzAAAAgQCKYrsrxi1t+dO0EMBIr9VojOTRYoJ/164IEVDEfoRvOBvcWa1wRYCcpQCjqBeo\n"
    "cUxfhf8ZkpoYSA4bmjUNwVab/14ke/XbF2+EZydzPKn63dOMUGilC1c9WXMcCDUtgRtI7K\n"
    "CCBEVgracewP1Iv3boIVTK5y63giqCyw3czb/J+QAAABUAjaJ1b/BhzBQFms6nx0TkW40r\n"
    "jLcAAACAKhgeio2Ivp3BoNhHoxb1rW3kTqOAQKK/yQqtQ0cWx2xUv//+KM5NnIVmjx4if/\n"
    "fDvnUeG5RHPb8EbvH89Lu4xaF8GcbjxXIv1EFVKNwtBZjmFj3HMHBaCdrJgNwkVtA8Bhye\n"
    "WsQGkfoO380jgdPMen+1hjeNTPX+C4TgxBGjcsIAAACAEDhas0/Y3H0+k27gttNvnwYz2I\n"
    "V6NMPnsi3dbFMODi3X7WTAsB53Fm/mGBl7JB7mwH1nBUEUuPtZn9+ULhp3vyCRn+p0ZGNN\n"
    "voGcRyxX6QlCnZrL0K4FBAM4Fj9PPRm9es4EdJcItCQ4knb3FHeDpKv8XxP2XrixohuB3g\n"
    "54XH8AAAHYHp2UxR6dlMUAAAAHc3NoLWRzcwAAAIEAimK7K8YtbfnTtBDASK/VaIzk0WKC\n"
    "f9euCBFQxH6Ebzgb3FmtcEWAnKUAo6gXqHFMX4X/GZKaGEgOG5o1DcFWm/9eJHv12xdvhG\n"
    "cnczyp+t3TjFBopQtXPVlzHAg1LYEbSOygggRFYK2nHsD9SL926CFUyucut4IqgssN3M2/\n"
    "yfkAAAAVAI2idW/wYcwUBZrOp8dE5FuNK4y3AAAAgCoYHoqNiL6dwaDYR6MW9a1t5E6jgE\n"
    "Civ8kKrUNHFsdsVL///ijOTZyFZo8eIn/3w751HhuURz2/BG7x/PS7uMWhfBnG48VyL9RB\n"
    "VSjcLQWY5hY9xzBwWgnayYDcJFbQPAYcnlrEBpH6Dt/NI4HTzHp/tYY3jUz1/guE4MQRo3\n"
    "LCAAAAgBA4WrNP2Nx9PpNu4LbTb58GM9iFejTD57It3WxTDg4t1+1kwLAedxZv5hgZeyQe\n"
    "5sB9ZwVBFLj7WZ/flC4ad78gkZ/qdGRjTb6BnEcsV+kJQp2ay9CuBQQDOBY/Tz0ZvXrOBH\n"
    "SXCLQkOJJ29xR3g6Sr/F8T9l64saIbgd4OeFx/AAAAFB0XT8389qXBPLYUBY0HqZRPNVyM\n"
    "AAAAAAECAw==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -t ed25519 -N secret */
static const char txt_ed25519_enc[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABCAOSyGzw\n"
    "cNsliFikjQjgs+AAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAID486pZ4+LcxJpc9\n"
    "m2k0+w8MbhSwtXINJagx9063NC/ZAAAAkGEsfwXafTA5c9V8XwMa3EWMhNm13GTlCPeapb\n"
    "E8nOy3jMloMbOAOzco4aBv4qT95w/WcCARL0qBDy3IZ6hqx+nYFEExEPyBSQqyxebrXr1E\n"
    "JjL2g12g4FVXm/5wWr0HI139g8gz1cSXeiCBkcWIyCtK3TTIildfo7r28HSyEM+7fgvXqZ\n"
    "bXhJklrtq4ywZLMQ==\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

/* ssh-keygen -m PEM -t rsa -b 1024 -N '' */
static const char txt_pem_rsa[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXAIBAAKBgQDrRFiuTLltvwHPvRSkLMzudeYbFRstQX153MuDgNve74Lhvs9u\n"
    "TNwG3iwOlwXgBXE/dm18KmoqTAQLgAJ3LSJrC9w3O2YyWN5w3IbnCndv2wMAml8s\n"
    "hh6vuBLwEfgakC7LiKL0UTSRBkVDGELuHMOYJ6JBOcded15p6xIJhVTVjQIDAQAB\n"
    "AoGADsLrDYSi3c/uPSqP8P0enpenKGvamKxTQyInYsjjAsnkXGWsfi80Xvnxqbiw\n"
    "Fa5BvMmhdPj0UFMUreQKQ5ABaLc4tvI6LjhK9Yv0MFU9f7J3pl8d4/wh3mkF4oDg\n"
    "8LaN4k8zXQkvWtnz2oezjVgEMo3bY0xmyDb6s+0vlfOLuAECQQD5mnB9/HuM3Mbw\n"
    "ubj0pozoUO9Ms/PYer930zw+kLg58g3gnoKgbze6ox8vxjfLlvRswiJvvlXzcIQH\n"
    "L+KhP76hAkEA8UvZ+xn/W97vN+VRW623HxAlzOfKe3hzDywPC/e4iCFLSQipr//e\n"
    "MdCtpd4EShsMMYpiCiegEDLyWTSiNqfLbQJAB/uYfW8FxIuLEUffUnPBLezoultH\n"
    "ATVryjlHQ/j8612CdBydsOPdtGpjJPQB9NDvIEtVLp23wgFnN5Oge+e+AQJBALZY\n"
    "sfQWY2mUAYdmHqN/laE93LMKf3PrRFg03XIX1DXboz8f8sv0On++yVtNekReSEqv\n"
    "3wL5ivZy6b4MDoHrL8kCQEUlluf2QxThTDNtyga6pGhGaOwrjOCfxzzMZVm3u6rm\n"
    "ruvBEFakx6chKtU/qzCpiTceuWI6BBr2VLSRZNUzev8=\n"
    "-----END RSA PRIVATE KEY-----\n";

/* ssh-keygen -m PEM -t rsa -b 1024 -N secret */
static const char txt_pem_rsa_enc[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,17FF34A4B8DEA1CB91A9DF8880491B5B\n"
    "\n"
    "kjGKejv3XIF/ZLPb/uQOUJGKJnUEVC1aWeXkIyFlT/fzPhf2dxTuRLQtJCF4+HMg\n"
    "XXKJDmpr5FjFiMeRxW25Sk4ykemF+56JMyxQzeT/f/vo7NNG5b/XhX83StYAHfo4\n"
    "RoegD2F/k//sJOEvME51LHuABPXMD4+G8l10SoABL/l+BRQCUHv2RhSxTaWkBcDZ\n"
    "+5hwffZpkH8eo772vWcA79kzoao4S1bqSvFOpSkkN4/84YfmBi+RmhL9GXZ0QC7L\n"
    "8QiA2QwTKAPp/BDDRsQIRJRW6dMtWWTccBtjFN4BvWKmoaHbSACx3srkyVNin1aR\n"
    "e/NgflDTbWCOCFpg20dKIH0tPNsVlIcoqMqyPEcyR97u8+mw+4NPf4SMCTmj+m2p\n"
    "FBVhECLZ2GUK2s13t+Nw7bqfqGwEumnVdj2GLdwS0junhH4brJ2hPn+Q2vfq8xub\n"
    "5SG2zLmV9milg/k3mXg0qCJqCNr0Na0C+2D//fhO+Cmvt2E6tL2RbzX9tdoelger\n"
    "QNjJme0LgZb1ctEWHj8j1W/zLHN7+6SuOMM4AP3FlIdLXJ6xG271j14toDiHNSm1\n"
    "D8ebG3pseJVBtSfp4MGy1Qo9a01/Kbp2Org2OTnhBfQiT794lZ2Okd858iw0+JlT\n"
    "Ar8OO/rM7L9N2PqW8eyPx40aUAAzEOyIpFdVYzSB+sOR3PhaIpv5TM9/Ia5SOovK\n"
    "B+tZe+xnrEuSi8FvZykbECvBz0UCDaNhxsh1yPV6YeGzLJ98ZjAp3sxiRfCzlFhE\n"
    "HizVp8pRWVNB0Sul4Ta1inu31dHYRcD7p7VFkNtVVbiPWWXZuXVOKWRbfD780rJd\n"
    "-----END RSA PRIVATE KEY-----\n";

/* openssl ecparam -genkey -name prime256v1 -noout */
static const char txt_pem_ec[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIH6qdsVxhbqSoiOyDldBQ0ecoxVsz8IE5T+q6y98Yc7QoAoGCCqGSM49\n"
    "AwEHoUQDQgAEaNVKZIPgUAxZXd/aSZ+PWM6thrOxPl6iShwEwJTnU4IDQSeJBjkr\n"
    "Jm9bzf93JF9EmVsu8AZIiHGdTT4tsNWLpQ==\n"
    "-----END EC PRIVATE KEY-----\n";

/* openssl genpkey -algorithm ed25519 */
static const char txt_pkcs8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIIzJfXkCXo1sgCmfld7h2VpqNthEHH49sx8DmzUjKqME\n"
    "-----END PRIVATE KEY-----\n";

/* openssl pkcs8 -topk8 -v2 aes256 -passout pass:secret */
static const char txt_pkcs8_enc[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjzjCv8ck6lkAICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEO4PtYUMGbJUrpG0msXtljQEQALK\n"
    "C0YCOLcAo5Id2tgD3P9D4cKqM3t/TPIQiuxORxA1pTWIoZuURPeZWnt23GbPbjLm\n"
    "06kKPJAATiajf0jLad8=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

#define BEGIN_OPENSSH "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define END_OPENSSH "-----END OPENSSH PRIVATE KEY-----\n"

/* Classify the first len bytes of text from an exact-size heap copy. */
static int classify_n(const char *text, size_t len, struct key_info *ki)
{
    char *copy = malloc(len ? len : 1);
    int rc;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, len);
    ki->type = (enum key_type)-1;
    ki->encrypted = -1;
    rc = keyfile_classify(copy, len, ki);
    free(copy);
    return rc;
}

/* Classify a NUL-terminated text (without its NUL). */
static int classify(const char *text, struct key_info *ki)
{
    return classify_n(text, strlen(text), ki);
}

/* Assert text classifies as type, encrypted or not. */
static void expect_key(const char *name, const char *text,
                       enum key_type type, int encrypted)
{
    struct key_info ki;
    int rc = classify(text, &ki);

    ck_assert_msg(rc == 0, "%s: not recognised", name);
    ck_assert_msg(ki.type == type, "%s: type %s, want %s", name,
                  keyfile_type_name(ki.type), keyfile_type_name(type));
    ck_assert_msg(ki.encrypted == encrypted, "%s: encrypted %d, want %d",
                  name, ki.encrypted, encrypted);
}

/* Assert text is refused as not a private key. */
static void expect_refused(const char *name, const char *text, size_t len)
{
    struct key_info ki;

    ck_assert_msg(classify_n(text, len, &ki) == -1, "%s: accepted", name);
}

/* A growable byte buffer for building openssh-key-v1 blobs. */
struct blob {
    unsigned char b[8192];
    size_t n;
};

/* Append raw bytes. */
static void put_raw(struct blob *bl, const void *p, size_t n)
{
    ck_assert_uint_le(bl->n + n, sizeof bl->b);
    memcpy(bl->b + bl->n, p, n);
    bl->n += n;
}

/* Append a big-endian uint32. */
static void put_u32(struct blob *bl, uint32_t v)
{
    unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

    put_raw(bl, b, 4);
}

/* Append an SSH string (length, then bytes). */
static void put_str(struct blob *bl, const void *p, size_t n)
{
    put_u32(bl, (uint32_t)n);
    put_raw(bl, p, n);
}

/* The header of an openssh-key-v1 blob with one key of type ktype. */
static void put_header(struct blob *bl, const char *cipher,
                       const char *ktype)
{
    struct blob pub = { .n = 0 };

    put_raw(bl, "openssh-key-v1", 15);      /* with its NUL */
    put_str(bl, cipher, strlen(cipher));
    put_str(bl, strcmp(cipher, "none") ? "bcrypt" : "none",
            strcmp(cipher, "none") ? 6 : 4);
    put_str(bl, "", 0);
    put_u32(bl, 1);
    put_str(&pub, ktype, strlen(ktype));
    put_str(&pub, "0123456789abcdef0123456789abcdef", 32);
    put_str(bl, pub.b, pub.n);
}

/* Base64-encode bl into a PEM-style OpenSSH key text, 70 chars a line
 * (caller frees). */
static char *armor(const struct blob *bl)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = strlen(BEGIN_OPENSSH) + strlen(END_OPENSSH)
                 + bl->n * 2 + 16;
    char *out = malloc(cap), *o = out;
    size_t col = 0;

    ck_assert_ptr_nonnull(out);
    o += sprintf(o, "%s", BEGIN_OPENSSH);
    for (size_t i = 0; i < bl->n; i += 3) {
        uint32_t v = (uint32_t)bl->b[i] << 16;
        size_t left = bl->n - i;
        char q[4];

        if (left > 1)
            v |= (uint32_t)bl->b[i + 1] << 8;
        if (left > 2)
            v |= bl->b[i + 2];
        q[0] = tab[v >> 18 & 63];
        q[1] = tab[v >> 12 & 63];
        q[2] = left > 1 ? tab[v >> 6 & 63] : '=';
        q[3] = left > 2 ? tab[v & 63] : '=';
        for (int k = 0; k < 4; k++) {
            *o++ = q[k];
            if (++col == 70) {
                *o++ = '\n';
                col = 0;
            }
        }
    }
    if (col)
        *o++ = '\n';
    sprintf(o, "%s", END_OPENSSH);
    return out;
}

/* Classify a blob as an OpenSSH key text; returns the rc. */
static int classify_blob(const struct blob *bl, struct key_info *ki)
{
    char *text = armor(bl);
    int rc = classify(text, ki);

    free(text);
    return rc;
}

START_TEST(openssh_plain)
{
    expect_key("ed25519", txt_ed25519_plain, KEY_ED25519, 0);
    expect_key("ecdsa", txt_ecdsa_plain, KEY_ECDSA, 0);
    expect_key("rsa", txt_rsa_plain, KEY_RSA, 0);
    expect_key("dsa", txt_dsa_plain, KEY_DSA, 0);
}
END_TEST

START_TEST(openssh_encrypted)
{
    expect_key("ed25519 -N secret", txt_ed25519_enc, KEY_ED25519, 1);
}
END_TEST

START_TEST(pem_keys)
{
    expect_key("PEM rsa", txt_pem_rsa, KEY_RSA, 0);
    expect_key("PEM rsa -N secret", txt_pem_rsa_enc, KEY_RSA, 1);
    expect_key("PEM ec", txt_pem_ec, KEY_ECDSA, 0);
    expect_key("PKCS#8", txt_pkcs8, KEY_UNKNOWN, 0);
    expect_key("PKCS#8 encrypted", txt_pkcs8_enc, KEY_UNKNOWN, 1);
}
END_TEST

START_TEST(surroundings)
{
    char buf[4096];
    size_t n = 0;

    /* Text before the key, CRLF line ends. */
    n += (size_t)sprintf(buf, "a comment line\r\n");
    for (const char *p = txt_ed25519_enc; *p; p++) {
        if (*p == '\n')
            buf[n++] = '\r';
        buf[n++] = *p;
    }
    buf[n] = '\0';
    expect_key("CRLF ed25519", buf, KEY_ED25519, 1);
}
END_TEST

START_TEST(length_is_respected)
{
    struct key_info ki;
    size_t len = strlen(txt_ed25519_plain);

    ck_assert_int_eq(classify_n(txt_ed25519_plain, len, &ki), 0);
    /* Without its END line the key is refused. */
    ck_assert_int_eq(classify_n(txt_ed25519_plain, len - 10, &ki), -1);
    ck_assert_int_eq(classify_n(txt_ed25519_plain, 20, &ki), -1);
    ck_assert_int_eq(classify_n(txt_ed25519_plain, 0, &ki), -1);
    ck_assert_int_eq(ki.type, KEY_UNKNOWN);
    ck_assert_int_eq(ki.encrypted, 0);
}
END_TEST

START_TEST(garbage)
{
    static const char bin[] = { 0, 1, 2, (char)0xff, '-', '-', 0 };
    static const char pub[] =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDU1Q1KT1ffSQzsWhYoa4fSIyy119b"
        "OhOgrhE+9hrItFmw test\n";
    static const char notbase64[] =
        BEGIN_OPENSSH "b3BlbnNzaC1rZXktdjEA*&^%\n" END_OPENSSH;
    static const char empty[] = BEGIN_OPENSSH END_OPENSSH;
    static const char endfirst[] = END_OPENSSH BEGIN_OPENSSH;

    expect_refused("text", "hello, world\n", 13);
    expect_refused("binary", bin, sizeof bin);
    expect_refused("public key", pub, strlen(pub));
    expect_refused("bad base64", notbase64, strlen(notbase64));
    expect_refused("empty body", empty, strlen(empty));
    expect_refused("END before BEGIN", endfirst, strlen(endfirst));
    expect_refused("half a header", "-----BEGIN RSA PRIV", 19);
}
END_TEST

START_TEST(truncated_body)
{
    const char *body = txt_ed25519_plain + strlen(BEGIN_OPENSSH);
    char b64[1024], text[2048];
    size_t n = 0, cut;
    struct key_info ki;

    for (const char *p = body; *p && *p != '-'; p++)
        if (*p != '\n')
            b64[n++] = *p;
    /* The public key ends at byte 15+8+8+4+4+4+51 = 94: 126 characters.
     * Any shorter body is refused. */
    for (cut = 0; cut < 126; cut++) {
        snprintf(text, sizeof text, "%s%.*s\n%s", BEGIN_OPENSSH, (int)cut,
                 b64, END_OPENSSH);
        ck_assert_msg(classify(text, &ki) == -1, "cut at %zu accepted",
                      cut);
    }
    snprintf(text, sizeof text, "%s%.*s\n%s", BEGIN_OPENSSH, 128, b64,
             END_OPENSSH);
    ck_assert_int_eq(classify(text, &ki), 0);
    ck_assert_int_eq(ki.type, KEY_ED25519);
    snprintf(text, sizeof text, "%s%.*s\n%s", BEGIN_OPENSSH, (int)n, b64,
             END_OPENSSH);
    ck_assert_int_eq(classify(text, &ki), 0);
}
END_TEST

START_TEST(wrong_magic)
{
    char text[1024];
    struct key_info ki;
    char *body;

    snprintf(text, sizeof text, "%s", txt_ed25519_plain);
    body = text + strlen(BEGIN_OPENSSH);
    /* "openssh-key-v1\0" -> "openssh-key-v2\0" */
    ck_assert(!strncmp(body, "b3BlbnNzaC1rZXktdjEA", 20));
    memcpy(body, "b3BlbnNzaC1rZXktdjIA", 20);
    ck_assert_int_eq(classify(text, &ki), -1);
    /* Magic without its NUL. */
    memcpy(body, "b3BlbnNzaC1rZXktdjFB", 20);
    ck_assert_int_eq(classify(text, &ki), -1);
}
END_TEST

START_TEST(built_blobs)
{
    static const struct { const char *t; enum key_type want; } types[] = {
        { "ssh-ed25519", KEY_ED25519 },
        { "ecdsa-sha2-nistp384", KEY_ECDSA },
        { "ecdsa-sha2-nistp521", KEY_ECDSA },
        { "ssh-rsa", KEY_RSA },
        { "ssh-dss", KEY_DSA },
        { "ssh-rsa2", KEY_UNKNOWN },
        { "ecdsa-sha2-", KEY_UNKNOWN },
        { "sk-ssh-ed25519@openssh.com", KEY_SK },
        { "sk-", KEY_UNKNOWN },
        { "", KEY_UNKNOWN },
    };
    struct key_info ki;

    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct blob bl = { .n = 0 };
        put_header(&bl, "none", types[i].t);
        ck_assert_int_eq(classify_blob(&bl, &ki), 0);
        ck_assert_msg(ki.type == types[i].want, "'%s' gave %s", types[i].t,
                      keyfile_type_name(ki.type));
        ck_assert_int_eq(ki.encrypted, 0);
    }
    {
        struct blob bl = { .n = 0 };
        put_header(&bl, "aes256-gcm@openssh.com", "ssh-ed25519");
        ck_assert_int_eq(classify_blob(&bl, &ki), 0);
        ck_assert_int_eq(ki.type, KEY_ED25519);
        ck_assert_int_eq(ki.encrypted, 1);
    }
}
END_TEST

START_TEST(bad_blobs)
{
    struct key_info ki;
    struct blob bl;

    /* No keys. */
    bl.n = 0;
    put_raw(&bl, "openssh-key-v1", 15);
    put_str(&bl, "none", 4);
    put_str(&bl, "none", 4);
    put_str(&bl, "", 0);
    put_u32(&bl, 0);
    put_str(&bl, "\0\0\0\7ssh-rsa", 11);
    ck_assert_int_eq(classify_blob(&bl, &ki), -1);

    /* A cipher string longer than the blob. */
    bl.n = 0;
    put_raw(&bl, "openssh-key-v1", 15);
    put_u32(&bl, 0xffffffffu);
    put_raw(&bl, "none", 4);
    ck_assert_int_eq(classify_blob(&bl, &ki), -1);

    /* A public key string running past the end. */
    bl.n = 0;
    put_raw(&bl, "openssh-key-v1", 15);
    put_str(&bl, "none", 4);
    put_str(&bl, "none", 4);
    put_str(&bl, "", 0);
    put_u32(&bl, 1);
    put_u32(&bl, 100);
    put_raw(&bl, "\0\0\0\7ssh-rsa", 11);
    ck_assert_int_eq(classify_blob(&bl, &ki), -1);

    /* The count cut short. */
    bl.n = 0;
    put_raw(&bl, "openssh-key-v1", 15);
    put_str(&bl, "none", 4);
    put_str(&bl, "none", 4);
    put_str(&bl, "", 0);
    put_raw(&bl, "\0\0", 2);
    ck_assert_int_eq(classify_blob(&bl, &ki), -1);

    /* A key type string longer than the public key: type unknown. */
    bl.n = 0;
    put_raw(&bl, "openssh-key-v1", 15);
    put_str(&bl, "none", 4);
    put_str(&bl, "none", 4);
    put_str(&bl, "", 0);
    put_u32(&bl, 1);
    put_str(&bl, "\0\0\1\0ssh-rsa", 11);
    ck_assert_int_eq(classify_blob(&bl, &ki), 0);
    ck_assert_int_eq(ki.type, KEY_UNKNOWN);
}
END_TEST

START_TEST(big_key)
{
    /* Bigger than the 4 KiB decode buffer, as an RSA 8192 key is. */
    struct blob bl = { .n = 0 };
    struct key_info ki;
    unsigned char pad[1000];

    put_header(&bl, "none", "ssh-rsa");
    memset(pad, 0x5a, sizeof pad);
    for (int i = 0; i < 6; i++)
        put_raw(&bl, pad, sizeof pad);
    ck_assert_uint_gt(bl.n, 4096);
    ck_assert_int_eq(classify_blob(&bl, &ki), 0);
    ck_assert_int_eq(ki.type, KEY_RSA);
    ck_assert_int_eq(ki.encrypted, 0);
}
END_TEST

START_TEST(type_names)
{
    ck_assert_str_eq(keyfile_type_name(KEY_ED25519), "ED25519");
    ck_assert_str_eq(keyfile_type_name(KEY_ECDSA), "ECDSA");
    ck_assert_str_eq(keyfile_type_name(KEY_RSA), "RSA");
    ck_assert_str_eq(keyfile_type_name(KEY_DSA), "DSA");
    ck_assert_str_eq(keyfile_type_name(KEY_UNKNOWN), "unknown");
    ck_assert_str_eq(keyfile_type_name((enum key_type)99), "unknown");
}
END_TEST

/* Decode s (whole string) into out; returns the decoder's result. */
static long dec(const char *s, unsigned char *out, size_t outsize)
{
    return keyfile_base64_decode(s, strlen(s), out, outsize);
}

START_TEST(base64_basics)
{
    unsigned char out[64];

    ck_assert_int_eq(dec("", out, sizeof out), 0);
    ck_assert_int_eq(dec("TWFu", out, sizeof out), 3);
    ck_assert(!memcmp(out, "Man", 3));
    ck_assert_int_eq(dec("TWE=", out, sizeof out), 2);
    ck_assert(!memcmp(out, "Ma", 2));
    ck_assert_int_eq(dec("TQ==", out, sizeof out), 1);
    ck_assert(!memcmp(out, "M", 1));
    ck_assert_int_eq(dec("TWF", out, sizeof out), 2);      /* no padding */
    ck_assert(!memcmp(out, "Ma", 2));
    ck_assert_int_eq(dec("T", out, sizeof out), 0);
    ck_assert_int_eq(dec("aGVsbG8sIHdvcmxk", out, sizeof out), 12);
    ck_assert(!memcmp(out, "hello, world", 12));
}
END_TEST

START_TEST(base64_alphabet)
{
    static const unsigned char want[48] = {
        0, 16, 131, 16, 81, 135, 32, 146, 139, 48, 211, 143, 65, 20, 147,
        81, 85, 151, 97, 150, 155, 113, 215, 159, 130, 24, 163, 146, 89,
        167, 162, 154, 171, 178, 219, 175, 195, 28, 179, 211, 93, 183, 227,
        158, 187, 243, 223, 191,
    };
    unsigned char out[64];

    ck_assert_int_eq(dec("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                         "yz0123456789+/", out, sizeof out), 48);
    ck_assert(!memcmp(out, want, sizeof want));
    ck_assert_int_eq(dec("////", out, sizeof out), 3);
    ck_assert_int_eq(out[0], 0xff);
    ck_assert_int_eq(out[1], 0xff);
    ck_assert_int_eq(out[2], 0xff);
}
END_TEST

START_TEST(base64_whitespace_and_stop)
{
    unsigned char out[64];

    ck_assert_int_eq(dec(" T W\nF\tu\r\n", out, sizeof out), 3);
    ck_assert(!memcmp(out, "Man", 3));
    ck_assert_int_eq(dec("TQ==TWFu", out, sizeof out), 1);  /* '=' ends */
    ck_assert_int_eq(dec("TQ==!!", out, sizeof out), 1);
    /* Only len bytes are read. */
    ck_assert_int_eq(keyfile_base64_decode("TWFuTWFu", 4, out, sizeof out),
                     3);
}
END_TEST

START_TEST(base64_bad)
{
    unsigned char out[64];

    ck_assert_int_eq(dec("TW*u", out, sizeof out), -1);
    ck_assert_int_eq(dec("TW-u", out, sizeof out), -1);     /* url-safe */
    ck_assert_int_eq(dec("TW_u", out, sizeof out), -1);
    ck_assert_int_eq(dec("TWFu\x01", out, sizeof out), -1);
    ck_assert_int_eq(dec("TWFu\xc3\xa9", out, sizeof out), -1);
}
END_TEST

START_TEST(base64_outsize)
{
    unsigned char out[8];

    ck_assert_int_eq(dec("TWFu", out, 3), 3);
    memset(out, 0xee, sizeof out);
    ck_assert_int_eq(dec("TWFu", out, 2), -1);
    ck_assert_int_eq(out[2], 0xee);         /* nothing written past 2 */
    ck_assert_int_eq(dec("TWFuTWFu", out, 5), -1);
    ck_assert_int_eq(out[5], 0xee);
    ck_assert_int_eq(dec("", out, 0), 0);
    ck_assert_int_eq(dec("TQ==", out, 0), -1);
}
END_TEST

/* The suite: classification and base64. */
static Suite *keyfile_suite(void)
{
    Suite *s = suite_create("keyfile");
    TCase *real = tcase_create("real keys");
    TCase *bad = tcase_create("bad texts");
    TCase *b64 = tcase_create("base64");

    tcase_add_test(real, openssh_plain);
    tcase_add_test(real, openssh_encrypted);
    tcase_add_test(real, pem_keys);
    tcase_add_test(real, surroundings);
    tcase_add_test(real, built_blobs);
    tcase_add_test(real, big_key);
    tcase_add_test(real, type_names);
    suite_add_tcase(s, real);

    tcase_add_test(bad, length_is_respected);
    tcase_add_test(bad, garbage);
    tcase_add_test(bad, truncated_body);
    tcase_add_test(bad, wrong_magic);
    tcase_add_test(bad, bad_blobs);
    suite_add_tcase(s, bad);

    tcase_add_test(b64, base64_basics);
    tcase_add_test(b64, base64_alphabet);
    tcase_add_test(b64, base64_whitespace_and_stop);
    tcase_add_test(b64, base64_bad);
    tcase_add_test(b64, base64_outsize);
    suite_add_tcase(s, b64);
    return s;
}

CHECK_MAIN(keyfile_suite)
