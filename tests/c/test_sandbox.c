/* hm_sandbox: path resolution (absolute, symlinks, .., paths that do not exist yet, dangling
 * links) and the policy's decisions before and after it is engaged. */
#define _GNU_SOURCE 1
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hm_sandbox.h"
#include "hm_test.h"

static char base[PATH_MAX]; /* the canonical temporary directory */

static int resolves_to(const char *path, const char *rel) {
  char out[PATH_MAX], err[PATH_MAX + 128], want[PATH_MAX];
  snprintf(want, sizeof want, "%s%s", base, rel);
  if (hm_sandbox_resolve(path, out, sizeof out, err, sizeof err) != 0) {
    fprintf(stderr, "resolve '%s': %s\n", path, err);
    return 0;
  }
  if (strcmp(out, want) != 0) fprintf(stderr, "resolve '%s': got %s, want %s\n", path, out, want);
  return strcmp(out, want) == 0;
}

static int refused(const char *path, const char *words) {
  char out[PATH_MAX], err[PATH_MAX + 128];
  if (hm_sandbox_resolve(path, out, sizeof out, err, sizeof err) == 0) return 0;
  if (!strstr(err, words)) fprintf(stderr, "resolve '%s': '%s' lacks '%s'\n", path, err, words);
  return strstr(err, words) != NULL;
}

int main(void) {
  char dir[] = "/tmp/hm_test_sandbox_XXXXXX";
  if (!mkdtemp(dir) || !realpath(dir, base)) return 1;
  char p[PATH_MAX + 64], q[PATH_MAX + 64];
  const char *sub[] = {"/out", "/out/deep", "/secret", "/proj"};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", base, sub[i]);
    if (mkdir(p, 0755) != 0) return 1;
  }
  snprintf(p, sizeof p, "%s/secret", base);
  snprintf(q, sizeof q, "%s/out/link", base);
  if (symlink(p, q) != 0) return 1;
  snprintf(p, sizeof p, "%s/secret/planted", base);
  snprintf(q, sizeof q, "%s/out/dangling", base);
  if (symlink(p, q) != 0) return 1;

  /* resolution: existing paths through realpath, new ones through their deepest ancestor */
  snprintf(p, sizeof p, "%s/out/deep/../deep/", base);
  CHECK(resolves_to(p, "/out/deep"));
  snprintf(p, sizeof p, "%s/out/link/x.txt", base);
  CHECK(resolves_to(p, "/secret/x.txt")); /* the link is followed, the new name appended */
  snprintf(p, sizeof p, "%s//out///new/a.txt", base);
  CHECK(resolves_to(p, "/out/new/a.txt")); /* two missing levels, repeated slashes */
  snprintf(p, sizeof p, "%s/out/missing/../../secret/x", base);
  CHECK(refused(p, "goes through '..' below a directory that does not exist"));
  snprintf(p, sizeof p, "%s/out/dangling", base);
  CHECK(refused(p, "is a dangling symbolic link"));
  CHECK(refused("", "empty path"));
  if (chdir(base) != 0) return 1;
  CHECK(resolves_to("out/../proj/s.lua", "/proj/s.lua")); /* relative: from the cwd */
  char out[PATH_MAX];
  CHECK(hm_sandbox_resolve("/", out, sizeof out, NULL, 0) == 0 && strcmp(out, "/") == 0);
  CHECK(hm_sandbox_resolve("/nonexistent-hm/x", out, sizeof out, NULL, 0) == 0 &&
        strcmp(out, "/nonexistent-hm/x") == 0);

  /* off: everything is permitted; roots can be added */
  CHECK(!hm_sandbox_on());
  CHECK(hm_sandbox_permits("/etc/passwd", HM_SANDBOX_WRITE, NULL, 0));
  char err[PATH_MAX + 128];
  snprintf(p, sizeof p, "%s/out", base);
  CHECK(hm_sandbox_allow(p, HM_SANDBOX_WRITE, err, sizeof err) == HM_OK);
  snprintf(p, sizeof p, "%s/proj", base);
  CHECK(hm_sandbox_allow(p, HM_SANDBOX_READ, err, sizeof err) == HM_OK);
  snprintf(p, sizeof p, "%s/made/by/allow", base); /* a writable root is created */
  CHECK(hm_sandbox_allow(p, HM_SANDBOX_WRITE, err, sizeof err) == HM_OK);
  CHECK(hm_sandbox_allow("/nonexistent-hm", HM_SANDBOX_READ, err, sizeof err) == HM_EIO);
  CHECK(strstr(err, "cannot resolve '/nonexistent-hm'") != NULL);
  CHECK(hm_sandbox_nroots() == 3);

  /* on: reads below any root, writes below writable ones only; no widening */
  hm_sandbox_engage();
  CHECK(hm_sandbox_on());
  CHECK(hm_sandbox_permits("out/a.txt", HM_SANDBOX_WRITE, NULL, 0));
  CHECK(hm_sandbox_permits("out", HM_SANDBOX_WRITE, NULL, 0));
  CHECK(hm_sandbox_permits("made/by/allow/x/y", HM_SANDBOX_WRITE, NULL, 0));
  CHECK(hm_sandbox_permits("proj/s.lua", HM_SANDBOX_READ, NULL, 0));
  CHECK(!hm_sandbox_permits("proj/s.lua", HM_SANDBOX_WRITE, err, sizeof err));
  CHECK(strstr(err, "is outside the writable paths") != NULL);
  CHECK(!hm_sandbox_permits("out/link/x.txt", HM_SANDBOX_READ, err, sizeof err));
  CHECK(strstr(err, "/secret/x.txt) is outside the allowed paths") != NULL);
  CHECK(!hm_sandbox_permits("outside.txt", HM_SANDBOX_READ, NULL, 0)); /* the base itself */
  CHECK(!hm_sandbox_permits("out2/x", HM_SANDBOX_WRITE, NULL, 0));      /* a prefix, not below */
  CHECK(!hm_sandbox_permits("/etc/passwd", HM_SANDBOX_READ, err, sizeof err));
  CHECK(strcmp(err, "'/etc/passwd' is outside the allowed paths") == 0);
  CHECK(!hm_sandbox_permits("out/dangling", HM_SANDBOX_WRITE, NULL, 0));
  CHECK(hm_sandbox_allow("/", HM_SANDBOX_WRITE, err, sizeof err) == HM_EARG);
  CHECK(!hm_sandbox_permits("/etc/passwd", HM_SANDBOX_READ, NULL, 0));

  char cmd[PATH_MAX + 32];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", base);
  return hm_test_report("test_sandbox");
}
