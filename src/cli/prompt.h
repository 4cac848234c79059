/*
 * prompt.h - asking the user for a key passphrase, as ssh does: on the
 * terminal, or through the SSH_ASKPASS program.
 */
#ifndef SSHTUN_PROMPT_H
#define SSHTUN_PROMPT_H

#include <stddef.h>

/* An sshtun_passphrase_fn.  Returns 0 with buf filled, or -1. */
int prompt_passphrase(const char *prompt, char *buf, size_t size,
                      void *user);

#endif
