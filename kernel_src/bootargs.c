// Boot arguments: "key=value ... command words ...".
//
// Leading key=value words are kernel options; everything from the first
// word without '=' on is the command the first process runs (through /init).
// Options understood:
//   cow=0   fork copies every page at once (default cow=1: copy-on-write)
// Unknown options are ignored with a warning.

#include "types.h"
#include "param.h"
#include "defs.h"

#define BOOTARGS_MAX 256

int boot_cow = 1;
int boot_argc = 0;
char *boot_argv[MAXARG];

// Our own copy: the device tree's memory becomes free pages later.
static char line_copy[BOOTARGS_MAX];

static int has_equals(const char *w)
{
  for (; *w; w++)
    if (*w == '=')
      return 1;
  return 0;
}

static void apply_option(char *word)
{
  if (strncmp(word, "cow=", 4) == 0)
    boot_cow = word[4] != '0';
  else
    printf("bootargs: ignoring unknown option %s\n", word);
}

// Split `line` (may be 0) into options and the command.
void bootargs_init(const char *line)
{
  if (line == 0)
    return;
  safestrcpy(line_copy, line, sizeof(line_copy));

  int options_done = 0;
  char *s = line_copy;
  for (;;) {
    while (*s == ' ' || *s == '\t')
      *s++ = 0;
    if (*s == 0)
      break;
    char *word = s;
    while (*s && *s != ' ' && *s != '\t')
      s++;
    if (*s)
      *s++ = 0;
    if (!options_done && has_equals(word)) {
      apply_option(word);
      continue;
    }
    options_done = 1;
    if (boot_argc < MAXARG - 2)   // leave room for "init" and the final 0
      boot_argv[boot_argc++] = word;
  }
  boot_argv[boot_argc] = 0;
}
