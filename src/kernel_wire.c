/* The Jupyter kernel's transport (messaging protocol v5.3 over ZeroMQ), exposed to
 * lua/hardmax/kernel.lua as the internal module "hardmax.kernel_wire". This file knows
 * sockets, frames, signatures and threads; the protocol (which message means what) is Lua.
 *
 * Threads. The main thread runs Lua and owns shell, iopub and stdin. Two helper threads run no
 * Lua: the heartbeat echo, and the control relay, which passes control messages to and from
 * the main thread over an inproc pair and, for an authenticated interrupt_request, sends
 * SIGINT to the main thread at once — while a cell runs the main thread is not reading, and
 * the host's SIGINT handling (hm_host_docall, hm_interrupt) is what stops Lua and C loops.
 * Both helpers block SIGINT, so a signal from the Jupyter client reaches the main thread too.
 *
 * Output. fds 1 and 2 are redirected to two unlinked temporary files (O_APPEND, so writes
 * never block and C-level printf is caught as well as print/io.write); drain() reads what
 * has accumulated and truncates. The kernel's own log keeps the original stderr. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "hm_sha256.h"
#include "kernel.h"
#include "lauxlib.h"
#include "repl.h"

#define DELIM "<IDS|MSG>"
#define RELAY_STOP "hardmax-relay-stop"

typedef struct wire {
  void *ctx;
  void *shell, *iopub, *stdin_sock, *control; /* control: main side of the inproc pair */
  pthread_t hb_thread, relay_thread, main_thread;
  int threads_started;
  unsigned char *key;
  size_t keylen;
  int capture_fd[2]; /* stdout, stderr files */
  int log_fd;
  char figure_dir[64]; /* private (mkdtemp) folder where figure values are rendered */
} wire;

static wire W = {.capture_fd = {-1, -1}, .log_fd = 2};

/* Raise "kernel: ..." without a source position (these are problems of the connection file
 * or the system, not of Lua code). */
static int wire_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushliteral(L, "kernel: ");
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return lua_error(L);
}

static void wire_log(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(W.log_fd, buf, (size_t)n);
  (void)w;
}

/* ---------------------------------------------------------------------------------------
 * Signatures: hex HMAC-SHA256 of header, parent header, metadata, content (an empty key
 * means signing is off: the signature frame is empty and not checked).
 * --------------------------------------------------------------------------------------- */

static void sign(zmq_msg_t *parts, char hex[65]) {
  if (W.keylen == 0) {
    hex[0] = '\0';
    return;
  }
  hm_hmac h;
  unsigned char d[32];
  hm_hmac_sha256_init(&h, W.key, W.keylen);
  for (int i = 0; i < 4; i++) hm_hmac_sha256_update(&h, zmq_msg_data(&parts[i]), zmq_msg_size(&parts[i]));
  hm_hmac_sha256_final(&h, d);
  hm_sha256_tohex(d, hex);
}

static int signature_ok(zmq_msg_t *sig, zmq_msg_t *parts) {
  char hex[65];
  if (W.keylen == 0) return 1;
  sign(parts, hex);
  if (zmq_msg_size(sig) != 64) return 0;
  const unsigned char *s = (const unsigned char *)zmq_msg_data(sig);
  unsigned diff = 0; /* constant time */
  for (int i = 0; i < 64; i++) diff |= (unsigned)(s[i] ^ (unsigned char)hex[i]);
  return diff == 0;
}

/* ---------------------------------------------------------------------------------------
 * Multipart messages
 * --------------------------------------------------------------------------------------- */

typedef struct frames {
  zmq_msg_t *m;
  int n, cap;
} frames;

static void frames_free(frames *f) {
  for (int i = 0; i < f->n; i++) zmq_msg_close(&f->m[i]);
  free(f->m);
  f->m = NULL;
  f->n = f->cap = 0;
}

/* Receive every part of one message; 0 on success, -1 with errno (ETERM, EINTR) otherwise. */
static int frames_recv(void *sock, frames *f) {
  f->m = NULL;
  f->n = f->cap = 0;
  int more = 1;
  while (more) {
    if (f->n == f->cap) {
      int cap = f->cap ? 2 * f->cap : 8;
      zmq_msg_t *m = (zmq_msg_t *)realloc(f->m, (size_t)cap * sizeof *m);
      if (!m) {
        frames_free(f);
        errno = ENOMEM;
        return -1;
      }
      f->m = m;
      f->cap = cap;
    }
    zmq_msg_init(&f->m[f->n]);
    int rc;
    do rc = zmq_msg_recv(&f->m[f->n], sock, 0);
    while (rc < 0 && errno == EINTR && f->n > 0); /* never leave half a message behind */
    if (rc < 0) {
      int e = errno;
      zmq_msg_close(&f->m[f->n]);
      frames_free(f);
      errno = e;
      return -1;
    }
    f->n++;
    more = zmq_msg_more(&f->m[f->n - 1]);
  }
  return 0;
}

static int frames_send(void *sock, frames *f) {
  for (int i = 0; i < f->n; i++) {
    int rc;
    do rc = zmq_msg_send(&f->m[i], sock, i + 1 < f->n ? ZMQ_SNDMORE : 0);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
  }
  return 0;
}

/* Index of the "<IDS|MSG>" delimiter, or -1 when the message is malformed (the delimiter
 * must be followed by the signature and the four JSON frames). */
static int find_delim(frames *f) {
  for (int i = 0; i < f->n; i++)
    if (zmq_msg_size(&f->m[i]) == sizeof DELIM - 1 &&
        memcmp(zmq_msg_data(&f->m[i]), DELIM, sizeof DELIM - 1) == 0)
      return i + 5 < f->n ? i : -1;
  return -1;
}

/* Does the JSON header frame say "msg_type": "interrupt_request"? (A key scan, enough for
 * the relay: the Lua side decodes the header properly.) */
static int is_interrupt(zmq_msg_t *header) {
  const char *s = (const char *)zmq_msg_data(header);
  size_t n = zmq_msg_size(header);
  static const char key[] = "\"msg_type\"", val[] = "\"interrupt_request\"";
  for (size_t i = 0; i + sizeof key - 1 <= n; i++) {
    if (memcmp(s + i, key, sizeof key - 1) != 0) continue;
    size_t j = i + sizeof key - 1;
    while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
    if (j >= n || s[j] != ':') continue;
    j++;
    while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
    return n - j >= sizeof val - 1 && memcmp(s + j, val, sizeof val - 1) == 0;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------
 * Helper threads
 * --------------------------------------------------------------------------------------- */

/* Echo every heartbeat message (all its parts) until the context terminates. */
static void *heartbeat_main(void *arg) {
  void *hb = arg;
  for (;;) {
    frames f;
    if (frames_recv(hb, &f) < 0) {
      if (errno == EINTR) continue;
      break; /* ETERM: the context is shutting down */
    }
    int rc = frames_send(hb, &f);
    frames_free(&f);
    if (rc < 0) break;
  }
  zmq_close(hb);
  return NULL;
}

typedef struct relay_args {
  void *router, *pair;
} relay_args;

static relay_args RELAY;

static void *relay_main(void *arg) {
  relay_args *r = (relay_args *)arg;
  zmq_pollitem_t items[2] = {{r->router, 0, ZMQ_POLLIN, 0}, {r->pair, 0, ZMQ_POLLIN, 0}};
  int running = 1;
  while (running) {
    if (zmq_poll(items, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    frames f;
    if (items[0].revents & ZMQ_POLLIN) {
      if (frames_recv(r->router, &f) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      int d = find_delim(&f);
      if (d >= 0 && is_interrupt(&f.m[d + 2]) && signature_ok(&f.m[d + 1], &f.m[d + 2]))
        pthread_kill(W.main_thread, SIGINT);
      if (frames_send(r->pair, &f) < 0) running = 0;
      frames_free(&f);
    }
    if (running && (items[1].revents & ZMQ_POLLIN)) {
      if (frames_recv(r->pair, &f) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (f.n == 1 && zmq_msg_size(&f.m[0]) == sizeof RELAY_STOP - 1 &&
          memcmp(zmq_msg_data(&f.m[0]), RELAY_STOP, sizeof RELAY_STOP - 1) == 0)
        running = 0;
      else if (frames_send(r->router, &f) < 0)
        running = 0;
      frames_free(&f);
    }
  }
  zmq_close(r->router);
  zmq_close(r->pair);
  return NULL;
}

/* ---------------------------------------------------------------------------------------
 * Lua functions
 * --------------------------------------------------------------------------------------- */

static const char *field_string(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *s = lua_tostring(L, -1);
  if (!s) wire_error(L, "connection file: '%s' missing", k);
  lua_pop(L, 1); /* the string stays anchored in the table */
  return s;
}

static void *open_socket(lua_State *L, int t, int type, const char *port_key) {
  const char *transport = field_string(L, t, "transport");
  const char *ip = field_string(L, t, "ip");
  lua_getfield(L, t, port_key);
  if (!lua_isinteger(L, -1)) wire_error(L, "connection file: integer '%s' expected", port_key);
  lua_Integer port = lua_tointeger(L, -1);
  lua_pop(L, 1);
  char ep[512];
  if (strcmp(transport, "ipc") == 0)
    snprintf(ep, sizeof ep, "ipc://%s-%lld", ip, (long long)port);
  else
    snprintf(ep, sizeof ep, "%s://%s:%lld", transport, ip, (long long)port);
  void *s = zmq_socket(W.ctx, type);
  int linger = 1000; /* let the last replies out at shutdown, but never hang */
  if (!s || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 || zmq_bind(s, ep) != 0)
    wire_error(L, "cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
  return s;
}

static int capture_file(void) {
  char path[] = "/tmp/hardmax-kernel-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  unlink(path);
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_APPEND);
  return fd;
}

/* Redirect fds 1 and 2 to capture files; the log keeps the original stderr. stdin becomes
 * /dev/null: the client's pipe is never written, and io.read() must not hang a cell. */
static void start_capture(lua_State *L) {
  fflush(stdout);
  fflush(stderr);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    dup2(devnull, 0);
    close(devnull);
  }
  W.log_fd = dup(2);
  for (int i = 0; i < 2; i++) {
    W.capture_fd[i] = capture_file();
    if (W.capture_fd[i] < 0 || dup2(W.capture_fd[i], i + 1) < 0)
      wire_error(L, "cannot capture output: %s", strerror(errno));
  }
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
}

static void noop_handler(int sig) { (void)sig; }

/* wire.open(connection_table): bind the five sockets, start the helper threads, capture
 * output. */
static int w_open(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (W.ctx) return wire_error(L, "already open");
  lua_getfield(L, 1, "signature_scheme");
  const char *scheme = lua_tostring(L, -1);
  if (scheme && strcmp(scheme, "hmac-sha256") != 0)
    wire_error(L, "signature scheme '%s' not supported (hmac-sha256 expected)", scheme);
  lua_pop(L, 1);
  size_t klen = 0;
  lua_getfield(L, 1, "key");
  const char *key = lua_tolstring(L, -1, &klen);
  if (!key) klen = 0;
  W.key = (unsigned char *)malloc(klen ? klen : 1);
  if (!W.key) return wire_error(L, "out of memory");
  if (klen) memcpy(W.key, key, klen);
  W.keylen = klen;
  lua_pop(L, 1);

  W.ctx = zmq_ctx_new();
  if (!W.ctx) return wire_error(L, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
  W.shell = open_socket(L, 1, ZMQ_ROUTER, "shell_port");
  W.iopub = open_socket(L, 1, ZMQ_PUB, "iopub_port");
  W.stdin_sock = open_socket(L, 1, ZMQ_ROUTER, "stdin_port");
  void *control_router = open_socket(L, 1, ZMQ_ROUTER, "control_port");
  void *hb = open_socket(L, 1, ZMQ_REP, "hb_port");
  char inproc[64];
  snprintf(inproc, sizeof inproc, "inproc://hardmax-control-%ld", (long)getpid());
  void *relay_pair = zmq_socket(W.ctx, ZMQ_PAIR);
  W.control = zmq_socket(W.ctx, ZMQ_PAIR);
  if (!relay_pair || !W.control || zmq_bind(relay_pair, inproc) != 0 ||
      zmq_connect(W.control, inproc) != 0)
    return wire_error(L, "inproc relay: %s", zmq_strerror(zmq_errno()));

  /* helpers start with SIGINT blocked (they inherit the mask), the main thread unblocks it */
  W.main_thread = pthread_self();
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  RELAY.router = control_router;
  RELAY.pair = relay_pair;
  int e1 = pthread_create(&W.hb_thread, NULL, heartbeat_main, hb);
  int e2 = e1 ? e1 : pthread_create(&W.relay_thread, NULL, relay_main, &RELAY);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e1 || e2) return wire_error(L, "cannot start threads: %s", strerror(e1 ? e1 : e2));
  W.threads_started = 1;
  /* Between cells a SIGINT does nothing (hm_host_docall installs the interrupting handler
   * for the duration of a cell and puts this one back). */
  struct sigaction sa;
  sa.sa_handler = noop_handler;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  start_capture(L);
  strcpy(W.figure_dir, "/tmp/hardmax-kernel-XXXXXX");
  if (!mkdtemp(W.figure_dir)) return wire_error(L, "cannot create a figure folder: %s", strerror(errno));
  return 0;
}

const char *hm_kernel_figure_dir(void) { return W.figure_dir[0] ? W.figure_dir : NULL; }

/* wire.figure_dir() -> the kernel's private folder for rendering figure values. */
static int w_figure_dir(lua_State *L) {
  if (!W.figure_dir[0]) return wire_error(L, "not open");
  lua_pushstring(L, W.figure_dir);
  return 1;
}

static void *channel_socket(lua_State *L, int arg) {
  static const char *const names[] = {"shell", "control", "iopub", "stdin", NULL};
  int c = luaL_checkoption(L, arg, NULL, names);
  if (!W.ctx) wire_error(L, "not open");
  void *socks[] = {W.shell, W.control, W.iopub, W.stdin_sock};
  return socks[c];
}

/* wire.recv([timeout_ms]) -> channel, ids, header, parent, metadata, content (JSON
 * strings), or nothing when timeout_ms (default: wait forever) passes without a message.
 * Waits on shell and control; messages with a bad signature are logged and dropped. */
static int w_recv(lua_State *L) {
  if (!W.ctx) return wire_error(L, "not open");
  long timeout = (long)luaL_optinteger(L, 1, -1);
  zmq_pollitem_t items[2] = {{W.control, 0, ZMQ_POLLIN, 0}, {W.shell, 0, ZMQ_POLLIN, 0}};
  for (;;) {
    int n = zmq_poll(items, 2, timeout);
    if (n < 0) {
      if (errno == EINTR) continue; /* a SIGINT between cells */
      return wire_error(L, "poll: %s", zmq_strerror(zmq_errno()));
    }
    if (n == 0) return 0;
    int c = (items[0].revents & ZMQ_POLLIN) ? 0 : 1; /* control first */
    frames f;
    if (frames_recv(items[c].socket, &f) < 0) {
      if (errno == EINTR) continue;
      return wire_error(L, "recv: %s", zmq_strerror(zmq_errno()));
    }
    int d = find_delim(&f);
    if (d < 0 || !signature_ok(&f.m[d + 1], &f.m[d + 2])) {
      wire_log("hardmax kernel: dropped a %s message (%s)", c ? "shell" : "control",
               d < 0 ? "malformed" : "bad signature");
      frames_free(&f);
      continue;
    }
    lua_pushstring(L, c ? "shell" : "control");
    lua_createtable(L, d, 0);
    for (int i = 0; i < d; i++) {
      lua_pushlstring(L, (const char *)zmq_msg_data(&f.m[i]), zmq_msg_size(&f.m[i]));
      lua_rawseti(L, -2, i + 1);
    }
    for (int i = d + 2; i < d + 6; i++)
      lua_pushlstring(L, (const char *)zmq_msg_data(&f.m[i]), zmq_msg_size(&f.m[i]));
    frames_free(&f);
    return 6;
  }
}

/* wire.send(channel, ids, header, parent, metadata, content): sign and send. For iopub, ids
 * holds the topic. */
static int w_send(lua_State *L) {
  void *sock = channel_socket(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int nid = (int)lua_rawlen(L, 2);
  for (int a = 3; a <= 6; a++) luaL_checktype(L, a, LUA_TSTRING); /* before allocating */
  for (int i = 1; i <= nid; i++)
    if (lua_rawgeti(L, 2, i) != LUA_TSTRING) return luaL_argerror(L, 2, "array of strings expected");
  lua_pop(L, nid);
  frames f;
  f.n = 0;
  f.cap = nid + 6;
  f.m = (zmq_msg_t *)calloc((size_t)f.cap, sizeof *f.m);
  if (!f.m) return wire_error(L, "out of memory");
  for (int i = 0; i < nid; i++) {
    lua_rawgeti(L, 2, i + 1);
    size_t n;
    const char *s = luaL_checklstring(L, -1, &n);
    zmq_msg_init_size(&f.m[f.n], n);
    memcpy(zmq_msg_data(&f.m[f.n++]), s, n);
    lua_pop(L, 1);
  }
  zmq_msg_init_size(&f.m[f.n], sizeof DELIM - 1);
  memcpy(zmq_msg_data(&f.m[f.n++]), DELIM, sizeof DELIM - 1);
  int sig = f.n++;
  for (int a = 3; a <= 6; a++) {
    size_t n;
    const char *s = luaL_checklstring(L, a, &n);
    zmq_msg_init_size(&f.m[f.n], n);
    memcpy(zmq_msg_data(&f.m[f.n++]), s, n);
  }
  char hex[65];
  sign(&f.m[sig + 1], hex);
  zmq_msg_init_size(&f.m[sig], strlen(hex));
  memcpy(zmq_msg_data(&f.m[sig]), hex, strlen(hex));
  int rc = frames_send(sock, &f);
  int e = zmq_errno();
  frames_free(&f);
  if (rc < 0) wire_log("hardmax kernel: send failed: %s", zmq_strerror(e));
  return 0;
}

/* wire.drain() -> stdout text, stderr text written since the last drain ("" when none). */
static int w_drain(lua_State *L) {
  fflush(stdout);
  fflush(stderr);
  for (int i = 0; i < 2; i++) {
    int fd = W.capture_fd[i];
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
      lua_pushliteral(L, "");
      continue;
    }
    luaL_Buffer b;
    size_t n = (size_t)st.st_size;
    char *p = luaL_buffinitsize(L, &b, n);
    ssize_t got = pread(fd, p, n, 0);
    luaL_pushresultsize(&b, got > 0 ? (size_t)got : 0);
    if (ftruncate(fd, 0) != 0) wire_log("hardmax kernel: ftruncate: %s", strerror(errno));
  }
  return 2;
}

/* wire.docall(f) -> true, results... | false, message with traceback (the host's protected
 * call: SIGINT and interrupt_request stop Lua code and polling C loops). */
static int w_docall(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int status = hm_host_docall(L, lua_gettop(L) - 1, LUA_MULTRET);
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

static int w_base64(lua_State *L) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  char *o = luaL_buffinitsize(L, &b, (n + 2) / 3 * 4);
  size_t k = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? s[i + 2] : 0);
    o[k++] = tab[v >> 18 & 63];
    o[k++] = tab[v >> 12 & 63];
    o[k++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
    o[k++] = i + 2 < n ? tab[v & 63] : '=';
  }
  luaL_pushresultsize(&b, k);
  return 1;
}

/* wire.uuid() -> 32 random hex digits (message and session ids). */
static int w_uuid(lua_State *L) {
  unsigned char r[16];
  int fd = open("/dev/urandom", O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, r, sizeof r) : -1;
  if (fd >= 0) close(fd);
  if (got != (ssize_t)sizeof r) return wire_error(L, "/dev/urandom unreadable");
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", r[i]);
  lua_pushstring(L, hex);
  return 1;
}

/* wire.now() -> ISO 8601 UTC time with microseconds (header "date"). */
static int w_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
  lua_pushstring(L, buf);
  return 1;
}

static int w_log(lua_State *L) {
  wire_log("hardmax kernel: %s", luaL_checkstring(L, 1));
  return 0;
}

/* wire.close(): stop the relay after it forwarded everything queued, stop the heartbeat,
 * close the sockets (each lingers at most 1 s for unsent replies). */
static int w_close(lua_State *L) {
  (void)L;
  if (!W.ctx) return 0;
  if (W.threads_started) {
    zmq_send(W.control, RELAY_STOP, sizeof RELAY_STOP - 1, 0);
    pthread_join(W.relay_thread, NULL);
  }
  zmq_close(W.control);
  zmq_close(W.shell);
  zmq_close(W.iopub);
  zmq_close(W.stdin_sock);
  zmq_ctx_shutdown(W.ctx); /* wakes the heartbeat with ETERM */
  if (W.threads_started) pthread_join(W.hb_thread, NULL);
  zmq_ctx_term(W.ctx);
  W.ctx = NULL;
  W.threads_started = 0;
  free(W.key);
  W.key = NULL;
  if (W.figure_dir[0]) rmdir(W.figure_dir); /* empty: each figure's files go once shown */
  return 0;
}

static const luaL_Reg wire_funcs[] = {
  {"open", w_open},     {"recv", w_recv}, {"send", w_send}, {"drain", w_drain},
  {"docall", w_docall}, {"base64", w_base64}, {"uuid", w_uuid}, {"now", w_now},
  {"log", w_log},       {"close", w_close}, {"figure_dir", w_figure_dir}, {NULL, NULL}};

int hm_kernel_open_wire(lua_State *L) {
  luaL_newlib(L, wire_funcs);
  lua_pushstring(L, HM_SOURCE_DIR);
  lua_setfield(L, -2, "source_dir");
  return 1;
}
