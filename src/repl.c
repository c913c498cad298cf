/* The hardmax REPL: the read-eval-print loop of Lua 5.4's lua.c (try "return <line>" first,
 * "=expr" for compatibility with 5.2, continuation lines while the chunk is incomplete,
 * _PROMPT/_PROMPT2, results printed with the global print), with libedit line editing,
 * persistent history and tab completion when stdin is a terminal. When stdin is not a
 * terminal (a pipe or a file: `hardmax -i < script`), prompts go to stdout and lines are
 * read with getline, so the REPL can be driven and tested without a terminal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "hm_lcomplete.h"
#include "lauxlib.h"
#include "repl.h"

#define LUA_PROMPT "> "
#define LUA_PROMPT2 ">> "
#define HM_HISTORY_MAX 1000
#define EOFMARK "<eof>"
#define marklen (sizeof(EOFMARK) / sizeof(char) - 1)
#define REPL_CANCELLED (-2) /* loadline: statement dropped by Ctrl-C */

static lua_State *replL = NULL;
static int use_editline = 0;
static char *history_path = NULL;

/* ---------------------------------------------------------------------------------------
 * History (editline only): ~/.hardmax_history or $HARDMAX_HISTORY ("" disables it),
 * capped at HM_HISTORY_MAX entries, rewritten atomically (temporary file + rename).
 * --------------------------------------------------------------------------------------- */

static void history_init(void) {
  const char *env = getenv("HARDMAX_HISTORY");
  const char *home = getenv("HOME");
  free(history_path);
  history_path = NULL;
  if (env != NULL) {
    if (env[0] != '\0') history_path = strdup(env);
  } else if (home != NULL && home[0] != '\0') {
    size_t n = strlen(home) + sizeof("/.hardmax_history");
    history_path = (char *)malloc(n);
    if (history_path) snprintf(history_path, n, "%s/.hardmax_history", home);
  }
  using_history();
  stifle_history(HM_HISTORY_MAX);
  if (history_path) read_history(history_path); /* a missing file is fine */
}

static void history_save(void) {
  if (!history_path) return;
  size_t n = strlen(history_path) + 32;
  char *tmp = (char *)malloc(n);
  if (!tmp) return;
  snprintf(tmp, n, "%s.tmp.%ld", history_path, (long)getpid());
  mode_t old = umask(077);
  int rc = write_history(tmp);
  umask(old);
  if (rc == 0 && rename(tmp, history_path) == 0) {
    /* saved */
  } else {
    unlink(tmp);
  }
  free(tmp);
}

static void saveline(const char *line) {
  if (!use_editline || line == NULL || line[0] == '\0') return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last && last->line && strcmp(last->line, line) == 0) return;
  add_history(line);
  history_save();
}

/* ---------------------------------------------------------------------------------------
 * Completion: hardmax.complete's algorithm (src/bindings/l_complete.c) on the text before
 * the cursor.
 * --------------------------------------------------------------------------------------- */

static char **completion_list = NULL;
static size_t completion_count = 0, completion_next = 0;

static void completion_free(void) {
  for (size_t i = 0; i < completion_count; i++) free(completion_list[i]);
  free(completion_list);
  completion_list = NULL;
  completion_count = completion_next = 0;
}

static int complete_protected(lua_State *L) {
  lua_pushcfunction(L, hmL_complete);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

static void completion_compute(const char *prefix, size_t len) {
  lua_State *L = replL;
  completion_free();
  int top = lua_gettop(L);
  lua_pushcfunction(L, complete_protected);
  lua_pushlstring(L, prefix, len);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    size_t n = (size_t)lua_rawlen(L, -1);
    completion_list = (char **)calloc(n ? n : 1, sizeof(char *));
    if (completion_list) {
      for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        const char *s = lua_tostring(L, -1);
        if (s && (completion_list[completion_count] = strdup(s)) != NULL) completion_count++;
        lua_pop(L, 1);
      }
    }
  }
  lua_settop(L, top);
}

static char *completion_generator(const char *text, int state) {
  (void)text;
  if (state == 0) completion_next = 0;
  if (completion_next < completion_count) return strdup(completion_list[completion_next++]);
  return NULL;
}

static char **attempted_completion(const char *text, int start, int end) {
  (void)start;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  completion_compute(rl_line_buffer, (size_t)end);
  if (completion_count == 0) return NULL;
  return rl_completion_matches(text, completion_generator);
}

/* ---------------------------------------------------------------------------------------
 * Reading lines
 * --------------------------------------------------------------------------------------- */

/* Ctrl-C at the prompt (editline only): discard the line being typed and prompt again. */
static volatile sig_atomic_t prompt_interrupted = 0;

static void prompt_sigint(int sig) {
  (void)sig;
  prompt_interrupted = 1;
}

static int line_cancelled = 0; /* the last read_line was cancelled by Ctrl-C */
static struct sigaction saved_sigint;

static void initreadline(void) {
  use_editline = isatty(0) && isatty(1);
  if (!use_editline) return;
  rl_readline_name = "hardmax";
  rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[]+-*/%^~#,";
  rl_attempted_completion_function = attempted_completion;
  rl_completion_append_character = '\0';
  rl_catch_signals = 0; /* SIGINT at the prompt is ours (editline_read) */
  history_init();
  /* For the whole interactive session, Ctrl-C outside a running call cancels the input line
   * instead of killing the process (hm_host_docall swaps in lua.c's handler during calls).
   * No SA_RESTART, so a read blocked in readline() is interrupted. */
  struct sigaction sa;
  sa.sa_handler = prompt_sigint;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &saved_sigint);
}

static char *editline_read(const char *prompt) {
  prompt_interrupted = 0;
  char *line = readline(prompt);
  if (prompt_interrupted) {
    free(line);
    fputs("^C\n", stdout);
    fflush(stdout);
    line_cancelled = 1;
    return NULL;
  }
  return line;
}

/* Read one line (without its newline) into a malloc'ed string, or NULL at end of input. */
static char *read_line(const char *prompt) {
  line_cancelled = 0;
  if (use_editline) return editline_read(prompt);
  fputs(prompt, stdout);
  fflush(stdout);
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getline(&buf, &cap, stdin);
  if (n < 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* The prompt: tostring(_PROMPT or _PROMPT2), or the default when nil. Leaves one value on
 * the stack (anchoring the string). */
static const char *get_prompt(lua_State *L, int firstline) {
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
    return firstline ? LUA_PROMPT : LUA_PROMPT2;
  const char *p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
  return p;
}

/* Prompt, read a line and push it; returns 0 at end of input (prompt left on the stack),
 * -1 when Ctrl-C cancelled the line (prompt left on the stack). */
static int pushline(lua_State *L, int firstline) {
  const char *prmt = get_prompt(L, firstline);
  char *b = read_line(prmt);
  if (b == NULL) return line_cancelled ? -1 : 0;
  lua_pop(L, 1); /* remove prompt */
  size_t l = strlen(b);
  if (l > 0 && b[l - 1] == '\n') b[--l] = '\0';
  if (firstline && b[0] == '=') /* for compatibility with 5.2, '=expr' is 'return expr' */
    lua_pushfstring(L, "return %s", b + 1);
  else
    lua_pushlstring(L, b, l);
  free(b);
  return 1;
}

/* Did the chunk fail only because it is incomplete (error message ends with <eof>)? */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= marklen && strcmp(msg + lmsg - marklen, EOFMARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* Try to compile "return <line>;" (an expression whose values get printed). */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2); /* remove modified line */
    if (line[0] != '\0') saveline(line);
  } else
    lua_pop(L, 2); /* remove error and modified line */
  return status;
}

/* Read continuation lines until the chunk is complete (or is a real syntax error). */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    if (!incomplete(L, status)) {
      saveline(line);
      return status;
    }
    int r = pushline(L, 0);
    if (r < 0) return REPL_CANCELLED; /* Ctrl-C: drop the whole statement */
    if (r == 0) {
      /* End of input inside an incomplete chunk. (Stock lua.c reports the leftover prompt
       * here, printing "(null)"; report the real syntax error instead.) */
      lua_settop(L, 1);
      saveline(line);
      return luaL_loadbuffer(L, line, len, "=stdin");
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Read a complete statement and compile it; -1 at end of input. */
static int loadline(lua_State *L) {
  int r;
  do {
    lua_settop(L, 0);
    r = pushline(L, 1);
  } while (r < 0); /* Ctrl-C on the first line: prompt again */
  if (r == 0) return -1;
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  if (status == REPL_CANCELLED) {
    lua_settop(L, 0);
    return status;
  }
  lua_remove(L, 1); /* remove line */
  return status;
}

/* Print the values on the stack with the global print (tostring of each, tab separated). */
static void l_print(lua_State *L) {
  int n = lua_gettop(L);
  if (n > 0) {
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) {
      fprintf(stderr, "%s\n",
              lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
      fflush(stderr);
    }
  }
}

void hm_repl(lua_State *L) {
  int status;
  replL = L;
  initreadline();
  while ((status = loadline(L)) != -1) {
    if (status == REPL_CANCELLED) continue;
    if (status == LUA_OK) status = hm_host_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      l_print(L);
    else
      hm_host_report(L, status);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  if (use_editline) sigaction(SIGINT, &saved_sigint, NULL);
  completion_free();
  free(history_path);
  history_path = NULL;
  replL = NULL;
}
