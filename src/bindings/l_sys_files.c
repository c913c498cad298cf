/* hardmax.sys, the file half: atomic writes (hm_atomic.h), liveness locks (hm_lock.h),
 * private temporary directories and "die with the parent" for worker processes. With these
 * the experiment harness can tell what a killed process left behind from what a live one is
 * still writing, whatever the pids (docs/exp.md, "After a crash"). */
#define _GNU_SOURCE 1 /* mkdtemp, prctl */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "hm_atomic.h"
#include "hm_lock.h"
#include "hm_lsandbox.h"
#include "hm_lsys.h"
#include "hm_lua.h"

#define LOCK_TNAME "hardmax.sys.lock"

/* Test hook (internal, docs/exp.md): HARDMAX_TEST_EXIT_IN_WRITE=N ends the process at once
 * (_exit(137), nothing flushed or unwound, like SIGKILL, and unlike SIGKILL also when the
 * process is PID 1 of a namespace) inside its N-th atomic write, after the data went to the
 * temporary file and before the rename: the leftover a kill mid-write leaves. "wN" counts
 * only in sweep workers (HARDMAX_EXP_WORKER set), so a test can aim at them. */
static void exit_in_write_hook(void) {
  static long count = 0;
  const char *s = getenv("HARDMAX_TEST_EXIT_IN_WRITE");
  if (!s || !*s) return;
  if (*s == 'w') {
    const char *w = getenv("HARDMAX_EXP_WORKER");
    if (!w || !*w) return;
    s++;
  }
  if (strtol(s, NULL, 10) == ++count) _exit(137);
}

/* sys.write_atomic(path, data [, {fsync=true, replace=true}]) -> true, or false when
 * replace=false and path already existed (it is left as it was). */
static int sys_write_atomic(lua_State *L) {
  const char *fn = "sys.write_atomic";
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_WRITE);
  static const char *const keys[] = {"fsync", "replace", NULL};
  hmL_checkoptions(L, 3, fn, keys);
  /* fsync=false keeps the rename's atomicity (readers see the old or the new file, and a
   * crash of the process loses nothing) but leaves flushing to the kernel or to sys.sync():
   * per-file fsync costs ~10 ms on some disks, which dominates sweeps of fast trials. */
  unsigned flags = 0;
  if (!hmL_optboolean(L, 3, "fsync", 1, fn)) flags |= HM_ATOMIC_NOSYNC;
  if (!hmL_optboolean(L, 3, "replace", 1, fn)) flags |= HM_ATOMIC_NOREPLACE;
  char err[512];
  hm_atomic a;
  hm_status s = hm_atomic_begin(&a, path, err, sizeof err);
  if (s != HM_OK) hmL_error(L, fn, "%s", err);
  int ok = hm_write_all(a.fd, data, len) == 0;
  if (ok) exit_in_write_hook();
  int kept = 0;
  s = hm_atomic_finish(&a, ok, flags, &kept, err, sizeof err);
  if (s != HM_OK) hmL_error(L, fn, "%s", err);
  lua_pushboolean(L, !kept);
  return 1;
}

/* ---- locks ------------------------------------------------------------------------------ */

typedef struct lock_box {
  int fd; /* -1 once released */
} lock_box;

static lock_box *push_lock(lua_State *L, const char *path) {
  lock_box *b = (lock_box *)lua_newuserdatauv(L, sizeof *b, 1);
  b->fd = -1;
  luaL_setmetatable(L, LOCK_TNAME);
  lua_pushstring(L, path);
  lua_setiuservalue(L, -2, 1);
  return b;
}

/* sys.lock_create(prefix [, suffix]) -> lock, path: a new file prefix..<16 hex>..suffix,
 * locked by this process until lock:release(), lock:remove() or the process ends. */
static int sys_lock_create(lua_State *L) {
  const char *fn = "sys.lock_create";
  const char *prefix = luaL_checkstring(L, 1);
  const char *suffix = luaL_optstring(L, 2, "");
  hmL_sandbox_check(L, fn, prefix, HM_SANDBOX_WRITE);
  lock_box *b = push_lock(L, "");
  char *path = NULL;
  char err[512];
  if (hm_lock_create(prefix, suffix, &b->fd, &path, err, sizeof err) != HM_OK)
    hmL_error(L, fn, "%s", err);
  lua_pushstring(L, path);
  free(path);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, 1);
  return 2;
}

/* sys.lock_open(path [, wait]) -> lock; false when a live process holds it (wait=false);
 * nil, message when the file cannot be opened or is gone. */
static int sys_lock_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.lock_open", path, HM_SANDBOX_WRITE);
  int wait = lua_toboolean(L, 2);
  int fd = -1;
  int got = hm_lock_open(path, wait, &fd);
  if (got == 0) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (got < 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "sys.lock_open: cannot lock '%s': %s", path, strerror(errno));
    return 2;
  }
  push_lock(L, path)->fd = fd;
  return 1;
}

/* sys.remove_dead(path) -> true when removed (no live process held its lock), false while
 * one does; nil, message when it cannot be probed (gone, no permission). */
static int sys_remove_dead(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.remove_dead", path, HM_SANDBOX_WRITE);
  int got = hm_lock_remove_dead(path);
  if (got < 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "sys.remove_dead: cannot probe '%s': %s", path, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, got);
  return 1;
}

static int lock_release(lua_State *L) {
  lock_box *b = (lock_box *)luaL_checkudata(L, 1, LOCK_TNAME);
  if (b->fd >= 0) close(b->fd);
  b->fd = -1;
  return 0;
}

/* lock:remove(): unlink the file while still holding its lock, then release it */
static int lock_remove(lua_State *L) {
  lock_box *b = (lock_box *)luaL_checkudata(L, 1, LOCK_TNAME);
  if (b->fd < 0) hmL_error(L, "lock:remove", "the lock was already released");
  lua_getiuservalue(L, 1, 1);
  const char *path = lua_tostring(L, -1);
  int rc = unlink(path);
  int e = errno;
  close(b->fd);
  b->fd = -1;
  if (rc != 0 && e != ENOENT) hmL_error(L, "lock:remove", "cannot remove '%s': %s", path, strerror(e));
  return 0;
}

static int lock_path(lua_State *L) {
  luaL_checkudata(L, 1, LOCK_TNAME);
  lua_getiuservalue(L, 1, 1);
  return 1;
}

static int lock_tostring(lua_State *L) {
  lock_box *b = (lock_box *)luaL_checkudata(L, 1, LOCK_TNAME);
  lua_getiuservalue(L, 1, 1);
  lua_pushfstring(L, "sys.lock(%s%s)", lua_tostring(L, -1), b->fd < 0 ? ", released" : "");
  return 1;
}

/* ---- processes and directories ----------------------------------------------------------- */

/* sys.mkdtemp(prefix) -> path: a new private directory prefix..<6 random characters>. */
static int sys_mkdtemp(lua_State *L) {
  const char *prefix = luaL_checkstring(L, 1);
  hmL_sandbox_check(L, "sys.mkdtemp", prefix, HM_SANDBOX_WRITE);
  lua_pushfstring(L, "%sXXXXXX", prefix);
  char *buf = (char *)hmL_newuserdata(L, lua_rawlen(L, -1) + 1, 0, "sys.mkdtemp");
  memcpy(buf, lua_tostring(L, -2), lua_rawlen(L, -2) + 1);
  if (!mkdtemp(buf)) hmL_error(L, "sys.mkdtemp", "cannot create '%sXXXXXX': %s", prefix, strerror(errno));
  lua_pushstring(L, buf);
  return 1;
}

/* sys.die_with_parent(ppid) -> true when armed: this process is SIGKILLed when its parent
 * ends (Linux PR_SET_PDEATHSIG); it ends at once (_exit(137)) when ppid is already gone.
 * false where the OS has no such notice. For sweep workers: a killed sweep must not leave
 * orphans that keep writing into its directory. */
static int sys_die_with_parent(lua_State *L) {
  lua_Integer ppid = luaL_checkinteger(L, 1);
#ifdef __linux__
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) hmL_error(L, "sys.die_with_parent", "prctl: %s", strerror(errno));
  if ((lua_Integer)getppid() != ppid) _exit(137); /* orphaned before the notice was armed */
  lua_pushboolean(L, 1);
#else
  (void)ppid;
  lua_pushboolean(L, 0);
#endif
  return 1;
}

static const luaL_Reg file_funcs[] = {
  {"write_atomic", sys_write_atomic}, {"lock_create", sys_lock_create},
  {"lock_open", sys_lock_open},       {"remove_dead", sys_remove_dead},
  {"mkdtemp", sys_mkdtemp},           {"die_with_parent", sys_die_with_parent},
  {NULL, NULL}};

void hmL_sys_open_files(lua_State *L) {
  static const luaL_Reg meta[] = {{"__gc", lock_release}, {"__close", lock_release},
                                  {"__tostring", lock_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"release", lock_release}, {"remove", lock_remove},
                                     {"path", lock_path}, {NULL, NULL}};
  hmL_newtype(L, LOCK_TNAME, meta, methods);
  luaL_setfuncs(L, file_funcs, 0);
}
