// sh: a small shell.
//
//   cmd [args...] [< in] [> out]      run a program, with its input or output redirected
//   a | b | c                         connect a's output to b's input, and so on
//   x ; y                             run x, then y
//   x &                               run x without waiting for it
//   cd DIR, exit [N]                  built in: they change the shell itself
//
// A program name without a '/' is looked up in the current directory, then
// in "/" (where every program lives).
//
// A line is first cut into tokens: words and the operators | < > ; &. Then
// each ';'- or '&'-terminated part of it is run as a pipeline. Every program
// is started the way the forkexec lecture shows: fork, exec in the child,
// wait in the parent.

#include "user.h"

#define MAXLINE 256
#define MAXTOKENS 64
#define MAXARGS 16
#define MAXCMDS 8

// One program of a pipeline.
struct command {
  char *argv[MAXARGS + 1];
  char *input;                // "< file", or 0
  char *output;               // "> file", or 0
};

static int is_operator(char c)
{
  return c == '|' || c == '<' || c == '>' || c == ';' || c == '&';
}

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Split line into tokens, in place: each token becomes a NUL-terminated
// string. Operators are one-character tokens even without spaces ("a|b").
// Returns the number of tokens, or -1 when there are too many.
static int tokenize(char *line, char *tokens[], char *storage)
{
  int n = 0;
  char *out = storage;
  for (char *p = line; *p;) {
    if (is_space(*p)) {
      p++;
      continue;
    }
    if (n == MAXTOKENS)
      return -1;
    tokens[n++] = out;
    if (is_operator(*p)) {
      *out++ = *p++;
    } else {
      while (*p && !is_space(*p) && !is_operator(*p))
        *out++ = *p++;
    }
    *out++ = 0;
  }
  return n;
}

static int is_op(char *token, char op)
{
  return token[0] == op && token[1] == 0;
}

static int fork_or_die(void)
{
  int pid = fork();
  if (pid < 0) {
    fprintf(2, "sh: fork failed\n");
    exit(1);
  }
  return pid;
}

// Replace fd (0 or 1) with the file at path. Called in the child, before exec.
static void redirect(int fd, char *path, int flags)
{
  close(fd);
  if (open(path, flags) != fd) {   // open returns the lowest free fd: the one just closed
    fprintf(2, "sh: cannot open %s\n", path);
    exit(1);
  }
}

// Become the program of cmd. Never returns.
static void run_command(struct command *cmd)
{
  if (cmd->input)
    redirect(0, cmd->input, O_RDONLY);
  if (cmd->output)
    redirect(1, cmd->output, O_WRONLY | O_CREATE | O_TRUNC);
  if (cmd->argv[0] == 0)
    exit(0);
  exec(cmd->argv[0], cmd->argv);
  // Programs live in "/": find them from any directory, like a one-entry PATH.
  if (strchr(cmd->argv[0], '/') == 0 && strlen(cmd->argv[0]) < 62) {
    char path[64] = "/";
    strcpy(path + 1, cmd->argv[0]);
    exec(path, cmd->argv);
  }
  fprintf(2, "sh: %s: no such program\n", cmd->argv[0]);
  exit(127);
}

// Run cmds[0] | cmds[1] | ... | cmds[n-1]. Never returns: its exit status is the last command's.
static void run_pipeline(struct command *cmds, int n)
{
  if (n == 1)
    run_command(&cmds[0]);

  int fds[2];
  if (pipe(fds) < 0) {
    fprintf(2, "sh: pipe failed\n");
    exit(1);
  }
  if (fork_or_die() == 0) {         // the left end writes into the pipe
    close(1);
    dup(fds[1]);
    close(fds[0]);
    close(fds[1]);
    run_command(&cmds[0]);
  }
  int right = fork_or_die();
  if (right == 0) {                 // the rest reads from it
    close(0);
    dup(fds[0]);
    close(fds[0]);
    close(fds[1]);
    run_pipeline(cmds + 1, n - 1);
  }
  // Both ends must be closed here, or the reader never sees end-of-file.
  close(fds[0]);
  close(fds[1]);
  int status = 0, right_status = 0;
  for (int reaped = 0; reaped < 2; reaped++) {
    int pid = wait(&status);
    if (pid < 0)
      break;
    if (pid == right)
      right_status = status;
  }
  exit(right_status);
}

// Parse tokens[0..n) (no ';' or '&' among them) into commands; returns how many, or -1.
static int parse_pipeline(char *tokens[], int n, struct command *cmds)
{
  int ncmds = 1, argc = 0;
  memset(cmds, 0, sizeof(struct command) * MAXCMDS);
  for (int i = 0; i < n; i++) {
    struct command *cmd = &cmds[ncmds - 1];
    char *t = tokens[i];
    if (is_op(t, '|')) {
      if (argc == 0 || ncmds == MAXCMDS)
        return -1;
      ncmds++;
      argc = 0;
    } else if (is_op(t, '<') || is_op(t, '>')) {
      if (i + 1 == n || is_operator(tokens[i + 1][0]))
        return -1;
      if (t[0] == '<')
        cmd->input = tokens[++i];
      else
        cmd->output = tokens[++i];
    } else {
      if (argc == MAXARGS)
        return -1;
      cmd->argv[argc++] = t;
    }
  }
  if (argc == 0 && (ncmds > 1 || cmds[0].input || cmds[0].output))
    return -1;                      // "a |" or "< file" alone
  return argc == 0 ? 0 : ncmds;
}

// Built-in commands run in the shell itself; returns 1 if argv was one.
static int builtin(char **argv)
{
  if (strcmp(argv[0], "cd") == 0) {
    char *dir = argv[1] ? argv[1] : "/";
    if (chdir(dir) < 0)
      fprintf(2, "sh: cd: cannot go to %s\n", dir);
    return 1;
  }
  if (strcmp(argv[0], "exit") == 0)
    exit(argv[1] ? atoi(argv[1]) : 0);
  return 0;
}

// Run one ';'/'&'-separated part of a line.
static void run_part(char *tokens[], int n, int background)
{
  static struct command cmds[MAXCMDS];
  int ncmds = parse_pipeline(tokens, n, cmds);
  if (ncmds < 0) {
    fprintf(2, "sh: syntax error\n");
    return;
  }
  if (ncmds == 0)
    return;
  if (ncmds == 1 && !background && builtin(cmds[0].argv))
    return;
  int pid = fork_or_die();
  if (pid == 0)
    run_pipeline(cmds, ncmds);
  if (background) {
    printf("[%d]\n", pid);
    return;
  }
  // Wait for this command; background commands that finish meanwhile are reaped too.
  while (1) {
    int done = wait(0);
    if (done == pid || done < 0)
      break;
  }
}

static void run_line(char *line)
{
  static char *tokens[MAXTOKENS];
  static char storage[2 * MAXLINE];   // every char plus a NUL per token fits
  int n = tokenize(line, tokens, storage);
  if (n < 0) {
    fprintf(2, "sh: line too long\n");
    return;
  }
  int start = 0;
  for (int i = 0; i <= n; i++) {
    if (i == n || is_op(tokens[i], ';') || is_op(tokens[i], '&')) {
      int background = i < n && tokens[i][0] == '&';
      run_part(tokens + start, i - start, background);
      start = i + 1;
    }
  }
}

int main(int argc, char *argv[])
{
  // `sh FILE` runs the commands in FILE.
  if (argc > 1) {
    close(0);
    if (open(argv[1], O_RDONLY) != 0) {
      fprintf(2, "sh: cannot open %s\n", argv[1]);
      exit(1);
    }
  }
  // Prompt only when a person is typing: standard input is the console device.
  struct stat st;
  int interactive = fstat(0, &st) == 0 && st.type == T_DEVICE;

  static char line[MAXLINE];
  for (;;) {
    if (interactive)
      fprintf(2, "$ ");
    gets(line, sizeof line);
    if (line[0] == 0)
      break;                        // end of input
    run_line(line);
  }
  exit(0);
}
