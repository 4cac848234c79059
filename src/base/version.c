/*
 * version.c - the library's version at run time, for programs that want
 * to know which libsshtun they loaded (the header's SSHTUN_VERSION says
 * which one they were built against).
 */
#include "config.h"

#include "sshtun.h"

/* The version string of the library. */
const char *sshtun_version(void)
{
    return SSHTUN_VERSION;
}
