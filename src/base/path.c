/*
 * path.c - file name helpers (see path.h).
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/path.h"

/* "~/x" -> "$HOME/x". */
void path_expand_tilde(char *buf, size_t size, const char *path)
{
    const char *home = getenv("HOME");

    if (path[0] == '~' && path[1] == '/') {
        if (!home || !*home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : "/";
        }
        snprintf(buf, size, "%s%s", home, path + 1);
    } else {
        snprintf(buf, size, "%s", path);
    }
}
