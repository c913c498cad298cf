/* The gnuplot runner of hardmax.plot: gnuplot is started with a fixed argv and no shell
 * ({gnuplot, "-d", "/dev/stdin"} in the figure's directory), reads the script plot.lua
 * generated from an anonymous in-memory file (so nothing can swap the .gp on disk between
 * writing and rendering), ignores ~/.gnuplot and the system gnuplotrc (-d), and its stderr
 * comes back through a second in-memory file. The runner is not a public function: the
 * module loader hands it to plot.lua only (l_hardmax.c), so a script cannot feed gnuplot
 * text of its own (issue 16; under the sandbox this is the only process hardmax starts). */
#define _GNU_SOURCE 1 /* memfd_create, posix_spawn_file_actions_addchdir_np */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hm_atomic.h"
#include "hm_lsandbox.h"
#include "hm_lsys.h"
#include "hm_lua.h"

extern char **environ;

static int is_program(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* $HARDMAX_GNUPLOT when set (it must be a program), else the first gnuplot on $PATH. */
static const char *find_gnuplot(char *buf, size_t n) {
  const char *env = getenv("HARDMAX_GNUPLOT");
  if (env && *env) return is_program(env) ? env : NULL;
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/bin:/bin";
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    if (len > 0 && snprintf(buf, n, "%.*s/gnuplot", (int)len, path) < (int)n && buf[0] == '/' &&
        is_program(buf))
      return buf;
    path += len + (colon ? 1 : 0);
  }
  return NULL;
}

/* An anonymous file at fd >= 3 (dup2 onto 0..2 in the child must clear close-on-exec). */
static int memfile(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd >= 0 && fd < 3) {
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    fd = hi;
  }
  return fd;
}

/* run(dir, script, gpname) -> "exited"|"signaled", code, stderr; or nil when no gnuplot. */
int hmL_run_gnuplot(lua_State *L) {
  const char *fn = "plot";
  const char *dir = luaL_checkstring(L, 1);
  size_t len;
  const char *script = luaL_checklstring(L, 2, &len);
  const char *gpname = luaL_optstring(L, 3, "script.gp");
  hmL_sandbox_check(L, fn, dir, HM_SANDBOX_WRITE); /* gnuplot writes the figure there */
  char buf[PATH_MAX];
  const char *gp = find_gnuplot(buf, sizeof buf);
  if (!gp) {
    lua_pushnil(L);
    return 1;
  }
  int in = memfile("hardmax-gnuplot-script");
  int err = in >= 0 ? memfile("hardmax-gnuplot-stderr") : -1;
  if (in < 0 || err < 0) {
    int e = errno;
    if (in >= 0) close(in);
    hmL_error(L, fn, "cannot create an in-memory file for gnuplot: %s", strerror(e));
  }
  if (hm_write_all(in, script, len) != 0 || lseek(in, 0, SEEK_SET) != 0) {
    int e = errno;
    close(in);
    close(err);
    hmL_error(L, fn, "cannot write the gnuplot script: %s", strerror(e));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err, 2);
  posix_spawn_file_actions_addchdir_np(&fa, dir);
  char *const argv[] = {(char *)gp, (char *)"-d", (char *)"/dev/stdin", NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, gp, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in);
  if (rc != 0) {
    close(err);
    hmL_error(L, fn, "cannot start '%s' in '%s': %s", gp, dir, strerror(rc));
  }
  int st;
  pid_t r;
  do r = waitpid(pid, &st, 0);
  while (r < 0 && errno == EINTR);
  /* gnuplot's messages name the script "/dev/stdin": show the .gp's name instead */
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  char chunk[4096];
  ssize_t n;
  size_t total = 0;
  if (lseek(err, 0, SEEK_SET) == 0) {
    while ((n = read(err, chunk, sizeof chunk)) > 0 && total < (1u << 20)) {
      luaL_addlstring(&b, chunk, (size_t)n);
      total += (size_t)n;
    }
  }
  close(err);
  luaL_pushresult(&b);
  lua_pushfstring(L, "\"%s\"", gpname);
  luaL_gsub(L, lua_tostring(L, -2), "\"/dev/stdin\"", lua_tostring(L, -1)); /* the message */
  if (r < 0) hmL_error(L, fn, "waitpid(%d): %s", (int)pid, strerror(errno));
  if (WIFEXITED(st)) {
    lua_pushliteral(L, "exited");
    lua_pushinteger(L, WEXITSTATUS(st));
  } else {
    lua_pushliteral(L, "signaled");
    lua_pushinteger(L, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
  lua_pushvalue(L, -3);
  return 3;
}
