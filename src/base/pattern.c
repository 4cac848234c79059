/*
 * pattern.c - host name wildcards (see pattern.h).
 */
#include "config.h"

#include <ctype.h>
#include <stddef.h>

#include "base/pattern.h"

/* Glob match with '*' and '?', case-insensitive.  Iterative: on a
 * mismatch only the last '*' is widened by one character, so the cost is
 * at most len(p) * len(s), however many stars a hostile pattern has. */
int pattern_match(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s) {
        if (*p == '*') {
            star = ++p;
            resume = s;
        } else if (*p && (*p == '?' || tolower((unsigned char)*p)
                                           == tolower((unsigned char)*s))) {
            p++;
            s++;
        } else if (star) {
            p = star;
            s = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return !*p;
}
