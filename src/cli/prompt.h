/*
 * prompt.h - asking the user for a key passphrase, as ssh does: on the
 * terminal, or through the SSH_ASKPASS program.
 */
#ifndef SSHTUN_PROMPT_H
#define SSHTUN_PROMPT_H

#include <stddef.h>

/* An sshtun_passphrase_fn.  Returns 0 with buf filled, or -1 (also when
 * cancelled). */
int prompt_passphrase(const char *prompt, char *buf, size_t size,
                      void *user);

/* End any prompt in progress within a fraction of a second (it returns
 * -1), and every later one at once.  Safe from any thread. */
void prompt_cancel(void);

/* Put the terminal back as it was if a prompt turned echo off (for a
 * signal that ends the program during a prompt).  Any thread. */
void prompt_restore_tty(void);

#endif
