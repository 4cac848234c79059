/*
 * pattern.h - the `*` and `?` wildcards of ssh_config Host lines and of
 * SOCKS destination rules, matched case-insensitively (host names).
 */
#ifndef SSHTUN_PATTERN_H
#define SSHTUN_PATTERN_H

/* Whether s matches the pattern p ('*': any run, '?': any one char). */
int pattern_match(const char *p, const char *s);

#endif
