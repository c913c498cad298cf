/* hardmax.sys — OS helpers for the Lua-side harness: process spawning without fork()
 * (posix_spawn, safe after OpenBLAS started threads), SHA-256, directory listing, hostname,
 * isatty, clocks. Atomic writes and liveness locks live in l_sys_files.c.
 * Errors are raised as "sys.<fn>: ..." with the path and strerror. Under the sandbox
 * (hm_lsandbox.h) every path goes through its check and spawn/kill/setenv are disabled. */
#define _DEFAULT_SOURCE 1 /* realpath, gethostname */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hm_atomic.h"
#include "hm_lsandbox.h"
#include "hm_lsys.h"
#include "hm_lua.h"
#include "hm_sha256.h"

extern char **environ;

/* sys.spawn(argv, {stdout=path, stderr=path, stdin=path, env={K=V}}) -> pid.
 * argv[1] is searched in PATH when it contains no slash. env entries are added to (or
 * replace) the current environment; a value of false removes the variable. */
static int sys_spawn(lua_State *L) {
  static const char *const opts[] = {"stdout", "stderr", "stdin", "env", NULL};
  const char *fn = "sys.spawn";
  hmL_sandbox_refuse(L, fn);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  hmL_checkoptions(L, 2, fn, opts);
  lua_Integer n = luaL_len(L, 1);
  if (n < 1) hmL_argerror(L, fn, 1, "non-empty argv table expected");
  const char **argv = (const char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1)) hmL_argerror(L, fn, 1, "argv[%I] must be a string", i);
    argv[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays alive in argv table */
  }
  argv[n] = NULL;
  /* environment */
  int envidx = 0;
  char **envp = environ;
  if (!lua_isnoneornil(L, 2) && hmL_optfield(L, 2, "env") == LUA_TTABLE) {
    envidx = lua_gettop(L);
    lua_newtable(L); /* name -> "name=value" strings, start from environ */
    int merged = lua_gettop(L);
    for (char **e = environ; *e; e++) {
      const char *eq = strchr(*e, '=');
      if (!eq) continue;
      lua_pushlstring(L, *e, (size_t)(eq - *e));
      lua_pushstring(L, *e);
      lua_settable(L, merged);
    }
    lua_pushnil(L);
    while (lua_next(L, envidx)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        hmL_error(L, fn, "env keys must be strings");
      lua_pushvalue(L, -2);
      if (lua_toboolean(L, -2) == 0 && lua_type(L, -2) == LUA_TBOOLEAN) {
        lua_pushnil(L);
      } else {
        if (!lua_isstring(L, -2)) hmL_error(L, fn, "env value of '%s' must be a string", lua_tostring(L, -3));
        lua_pushfstring(L, "%s=%s", lua_tostring(L, -3), lua_tostring(L, -2));
      }
      lua_settable(L, merged);
      lua_pop(L, 1);
    }
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, merged)) { count++; lua_pop(L, 1); }
    envp = (char **)lua_newuserdatauv(L, sizeof(char *) * (count + 1), 0);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, merged)) {
      envp[k++] = (char *)lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    envp[k] = NULL;
  } else if (!lua_isnoneornil(L, 2)) {
    lua_pop(L, 1);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  static const char *const redir[] = {"stdin", "stdout", "stderr"};
  for (int fd = 0; fd < 3; fd++) {
    if (lua_isnoneornil(L, 2)) break;
    const char *path = hmL_optstring(L, 2, redir[fd], NULL, fn);
    if (!path) continue;
    int flags = fd == 0 ? O_RDONLY : (O_WRONLY | O_CREAT | O_TRUNC);
    posix_spawn_file_actions_addopen(&fa, fd, path, flags, 0644);
  }
  pid_t pid;
  int rc;
  if (strchr(argv[0], '/'))
    rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
  else
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) hmL_error(L, fn, "cannot start '%s': %s", argv[0], strerror(rc));
  lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

/* sys.wait(pid [, nohang]) -> "exited", code | "signaled", signo | nil (still running). */
static int sys_wait(lua_State *L) {
  pid_t pid = (pid_t)hmL_checkint(L, 1, "sys.wait");
  int nohang = lua_toboolean(L, 2);
  int st;
  pid_t r;
  do r = waitpid(pid, &st, nohang ? WNOHANG : 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) hmL_error(L, "sys.wait", "waitpid(%d): %s", (int)pid, strerror(errno));
  if (r == 0) {
    lua_pushnil(L);
    return 1;
  }
  if (WIFEXITED(st)) {
    lua_pushliteral(L, "exited");
    lua_pushinteger(L, WEXITSTATUS(st));
  } else {
    lua_pushliteral(L, "signaled");
    lua_pushinteger(L, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
  return 2;
}

/* sys.kill(pid [, signo = SIGTERM]) -> true, or nil + message. */
static int sys_kill(lua_State *L) {
  hmL_sandbox_refuse(L, "sys.kill");
  pid_t pid = (pid_t)hmL_checkint(L, 1, "sys.kill");
  int sig = lua_isnoneornil(L, 2) ? SIGTERM : (int)hmL_checkint(L, 2, "sys.kill");
  if (pid <= 0) hmL_argerror(L, "sys.kill", 1, "positive pid expected, got %d", (int)pid);
  if (kill(pid, sig) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int sys_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  if (!(s >= 0)) hmL_argerror(L, "sys.sleep", 1, "non-negative seconds expected");
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  return 0;
}

/* sys.sync(): flush every file system buffer to disk (sync(2)). */
static int sys_sync(lua_State *L) {
  (void)L;
  sync();
  return 0;
}

static int sys_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  hm_sha256_hex(s, len, hex);
  lua_pushstring(L, hex);
  return 1;
}

/* sys.sha256_file(path) -> hex digest (raises if unreadable). */
static int sys_sha256_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.sha256_file", path, HM_SANDBOX_READ);
  FILE *f = fopen(path, "rb");
  if (!f) hmL_error(L, "sys.sha256_file", "cannot open '%s': %s", path, strerror(errno));
  hm_sha256 c;
  hm_sha256_init(&c);
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) hm_sha256_update(&c, buf, n);
  int err = ferror(f);
  fclose(f);
  if (err) hmL_error(L, "sys.sha256_file", "cannot read '%s'", path);
  unsigned char d[32];
  char hex[65];
  hm_sha256_final(&c, d);
  hm_sha256_tohex(d, hex);
  lua_pushstring(L, hex);
  return 1;
}

/* sys.mkdir_p(path): create path and its parents (like mkdir -p). */
static int sys_mkdir_p(lua_State *L) {
  const char *fn = "sys.mkdir_p";
  const char *path = luaL_checkstring(L, 1);
  size_t len = strlen(path);
  if (len == 0 || len >= PATH_MAX) hmL_argerror(L, fn, 1, "path of length 1..%d expected", PATH_MAX - 1);
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_WRITE);
  char failed[PATH_MAX];
  if (hm_mkdir_p(path, failed, sizeof failed) != 0)
    hmL_error(L, fn, "cannot create directory '%s': %s", failed, strerror(errno));
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    hmL_error(L, fn, "'%s' exists and is not a directory", path);
  return 0;
}

static int cmpstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* sys.listdir(path) -> sorted array of entry names (without . and ..), or nil + message. */
static int sys_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.listdir", path, HM_SANDBOX_READ);
  DIR *d = opendir(path);
  if (!d) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot open directory '%s': %s", path, strerror(errno));
    return 2;
  }
  lua_newtable(L);
  int t = lua_gettop(L);
  lua_Integer n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, t, ++n);
  }
  closedir(d);
  /* sort by bytes so the order never depends on the file system or locale */
  const char **names = (const char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(n ? n : 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    names[i - 1] = lua_tostring(L, -1);
    lua_pop(L, 1); /* anchored in t */
  }
  qsort(names, (size_t)n, sizeof(char *), cmpstr);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_pushstring(L, names[i - 1]);
    lua_rawseti(L, -2, i);
  }
  return 1;
}

/* sys.stat(path) -> {type="file"|"dir"|"other", size=bytes, mode=octal bits} or nil. */
static int sys_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.stat", path, HM_SANDBOX_READ);
  struct stat st;
  if (stat(path, &st) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  lua_setfield(L, -2, "mode");
  return 1;
}

static int sys_access_w(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.writable", path, HM_SANDBOX_READ);
  lua_pushboolean(L, access(path, W_OK) == 0);
  return 1;
}

static int sys_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.realpath", path, HM_SANDBOX_READ);
  char buf[PATH_MAX];
  if (!realpath(path, buf)) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot resolve '%s': %s", path, strerror(errno));
    return 2;
  }
  lua_pushstring(L, buf);
  return 1;
}

static int sys_getcwd(lua_State *L) {
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf)) hmL_error(L, "sys.getcwd", "%s", strerror(errno));
  lua_pushstring(L, buf);
  return 1;
}

/* sys.exe() -> absolute path of the running executable (/proc/self/exe), or nil. */
static int sys_exe(lua_State *L) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) {
    lua_pushnil(L);
    return 1;
  }
  buf[n] = '\0';
  lua_pushstring(L, buf);
  return 1;
}

static int sys_hostname(lua_State *L) {
  char buf[256];
  if (gethostname(buf, sizeof buf) != 0) hmL_error(L, "sys.hostname", "%s", strerror(errno));
  buf[sizeof buf - 1] = '\0';
  lua_pushstring(L, buf);
  return 1;
}

static int sys_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)hmL_checkint(L, 1, "sys.isatty")));
  return 1;
}

static int sys_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* Monotonic seconds (for rates and ETAs). */
static int sys_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

/* Wall-clock seconds since the epoch with sub-second resolution. */
static int sys_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

/* CPU seconds (user + system) of this process and of its waited-for children: an
 * experiment's cost also when its trials ran in spawned workers (os.clock misses those). */
static int sys_cpu(lua_State *L) {
  /* the process clock is the one os.clock() reads, so cpu() >= an earlier os.clock() */
  struct timespec self;
  struct rusage kids;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  double t = (double)self.tv_sec + 1e-9 * (double)self.tv_nsec;
  t += (double)kids.ru_utime.tv_sec + 1e-6 * (double)kids.ru_utime.tv_usec;
  t += (double)kids.ru_stime.tv_sec + 1e-6 * (double)kids.ru_stime.tv_usec;
  lua_pushnumber(L, t);
  return 1;
}

/* sys.setenv(name, value|nil) — for tests and worker bookkeeping. */
static int sys_setenv(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  hmL_sandbox_refuse(L, "sys.setenv");
  int rc = lua_isnoneornil(L, 2) ? unsetenv(name) : setenv(name, luaL_checkstring(L, 2), 1);
  if (rc != 0) hmL_error(L, "sys.setenv", "%s: %s", name, strerror(errno));
  return 0;
}

/* sys.sandboxed() -> true when the sandbox is on (exp runs no parallel workers then). */
static int sys_sandboxed(lua_State *L) {
  lua_pushboolean(L, hm_sandbox_on());
  return 1;
}

static const luaL_Reg funcs[] = {
  {"spawn", sys_spawn},       {"wait", sys_wait},           {"kill", sys_kill},
  {"sleep", sys_sleep},
  {"sha256", sys_sha256},     {"sha256_file", sys_sha256_file},
  {"mkdir_p", sys_mkdir_p},   {"listdir", sys_listdir},     {"stat", sys_stat},
  {"writable", sys_access_w}, {"realpath", sys_realpath},   {"getcwd", sys_getcwd},
  {"exe", sys_exe},           {"hostname", sys_hostname},   {"isatty", sys_isatty},
  {"getpid", sys_getpid},     {"clock", sys_clock},         {"time", sys_time},
  {"setenv", sys_setenv},     {"sync", sys_sync},           {"cpu", sys_cpu},
  {"sandboxed", sys_sandboxed}, {NULL, NULL}};

int luaopen_hardmax_sys(lua_State *L) {
  luaL_newlib(L, funcs);
  hmL_sys_open_files(L); /* l_sys_files.c: write_atomic, locks, mkdtemp, die_with_parent */
  lua_pushinteger(L, SIGTERM);
  lua_setfield(L, -2, "SIGTERM");
  lua_pushinteger(L, SIGKILL);
  lua_setfield(L, -2, "SIGKILL");
  lua_pushinteger(L, SIGINT);
  lua_setfield(L, -2, "SIGINT");
  return 1;
}
