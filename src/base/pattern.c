/*
 * pattern.c - host name wildcards (see pattern.h).
 */
#include "config.h"

#include <ctype.h>

#include "base/pattern.h"

/* Glob match with '*' and '?', case-insensitive. */
int pattern_match(const char *p, const char *s)
{
    while (*p) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return 1;
            for (; *s; s++)
                if (pattern_match(p, s))
                    return 1;
            return 0;
        }
        if (!*s || (*p != '?' && tolower((unsigned char)*p)
                                     != tolower((unsigned char)*s)))
            return 0;
        p++;
        s++;
    }
    return !*s;
}
