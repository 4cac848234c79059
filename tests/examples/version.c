/*
 * version.c - example: what `make installcheck` builds against the
 * installed header and library (with pkg-config) and runs.
 *
 * Checks that the library loaded is the one the header describes, that
 * options can be made and set, and that the statistics calls refuse a
 * struct whose size is not filled in.  Needs no SSH server.
 *
 *   version [EXPECTED_VERSION]
 */
#include <stdio.h>
#include <string.h>

#include <sshtun.h>

#if !defined(SSHTUN_VERSION_NUM) || SSHTUN_VERSION_NUM < 0x000200
#error "sshtun.h is older than 0.2.0"
#endif

int main(int argc, char **argv)
{
    struct sshtun_session_stats st;
    sshtun_options *o;
    sshtun_error err;

    if (strcmp(sshtun_version(), SSHTUN_VERSION)
        || (argc > 1 && strcmp(argv[1], sshtun_version()))) {
        fprintf(stderr, "version: header %s, library %s, expected %s\n",
                SSHTUN_VERSION, sshtun_version(), argc > 1 ? argv[1] : "-");
        return 1;
    }
    if (sshtun_global_init() || !(o = sshtun_options_new()))
        return 1;
    if (sshtun_options_set(o, "Port", "2222", &err)) {
        fprintf(stderr, "version: %s\n", err.msg);
        return 1;
    }
    st.size = 0;
    if (sshtun_session_stats(NULL, &st) != SSHTUN_ERR_INVAL)
        return 1;
    sshtun_options_free(o);
    sshtun_global_cleanup();
    printf("libsshtun %s (0x%06x)\n", sshtun_version(), SSHTUN_VERSION_NUM);
    return 0;
}
