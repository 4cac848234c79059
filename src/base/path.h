/*
 * path.h - file name helpers shared by every floor.
 */
#ifndef SSHTUN_PATH_H
#define SSHTUN_PATH_H

#include <stddef.h>

/* "~/x" -> "$HOME/x" (the passwd entry's home when HOME is unset);
 * anything else is copied.  Truncated to size. */
void path_expand_tilde(char *buf, size_t size, const char *path);

#endif
