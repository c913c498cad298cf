/* hm_lock (liveness by lock) and hm_atomic's temporary names and no-replace publishing. */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hm_atomic.h"
#include "hm_lock.h"
#include "hm_test.h"

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

int main(void) {
  char dir[] = "/tmp/hm_test_lock_XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char prefix[64], path[96];
  char err[256];

  /* random hex: right length and alphabet, and two draws differ */
  char a[17], b[17];
  hm_random_hex(a, 16);
  hm_random_hex(b, 16);
  CHECK(strlen(a) == 16 && strspn(a, "0123456789abcdef") == 16);
  CHECK(strcmp(a, b) != 0);
  char odd[6];
  hm_random_hex(odd, 5);
  CHECK(strlen(odd) == 5);

  /* a created file is locked: another open file (even of this process) cannot take it */
  snprintf(prefix, sizeof prefix, "%s/w-", dir);
  int fd = -1;
  char *name = NULL;
  CHECK(hm_lock_create(prefix, ".lock", &fd, &name, err, sizeof err) == HM_OK);
  CHECK(name && strlen(name) == strlen(prefix) + 16 + 5);
  int fd2 = -1;
  CHECK(hm_lock_open(name, 0, &fd2) == 0);
  CHECK(hm_lock_remove_dead(name) == 0);
  CHECK(access(name, F_OK) == 0);
  close(fd); /* the owner ends */
  CHECK(hm_lock_open(name, 0, &fd2) == 1);
  CHECK(hm_lock_remove_dead(name) == 0); /* now we hold it */
  close(fd2);
  CHECK(hm_lock_remove_dead(name) == 1);
  CHECK(access(name, F_OK) != 0);
  CHECK(hm_lock_remove_dead(name) == -1);
  free(name);
  CHECK(hm_lock_create("/nonexistent/dir/w-", "", &fd, &name, err, sizeof err) == HM_EIO);
  CHECK(strstr(err, "cannot create") != NULL);

  /* atomic writes: replace by default, keep with NOREPLACE, never leave the temporary */
  snprintf(path, sizeof path, "%s/t.json", dir);
  hm_atomic w;
  int kept = -1;
  CHECK(hm_atomic_begin(&w, path, err, sizeof err) == HM_OK);
  CHECK(strncmp(w.tmp, path, strlen(path)) == 0 && strlen(w.tmp) == strlen(path) + 5 + 16);
  CHECK(hm_lock_remove_dead(w.tmp) == 0); /* a live writer's temporary survives a cleaner */
  CHECK(hm_write_all(w.fd, "one", 3) == 0);
  CHECK(hm_atomic_finish(&w, 1, HM_ATOMIC_NOREPLACE | HM_ATOMIC_NOSYNC, &kept, err, sizeof err) == HM_OK);
  CHECK(kept == 0);
  CHECK(hm_atomic_begin(&w, path, err, sizeof err) == HM_OK);
  CHECK(hm_write_all(w.fd, "two", 3) == 0);
  CHECK(hm_atomic_finish(&w, 1, HM_ATOMIC_NOREPLACE, &kept, err, sizeof err) == HM_OK);
  CHECK(kept == 1);
  char buf[8] = {0};
  int r = open(path, O_RDONLY);
  CHECK(r >= 0 && read(r, buf, sizeof buf) == 3 && memcmp(buf, "one", 3) == 0);
  if (r >= 0) close(r);
  CHECK(hm_atomic_begin(&w, path, err, sizeof err) == HM_OK);
  CHECK(hm_write_all(w.fd, "three", 5) == 0);
  CHECK(hm_atomic_end(&w, 1, err, sizeof err) == HM_OK);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size == 5 && (st.st_mode & 0777) == 0644);
  CHECK(hm_atomic_begin(&w, path, err, sizeof err) == HM_OK);
  CHECK(hm_atomic_end(&w, 0, err, sizeof err) == HM_EIO); /* abandoned: target untouched */
  CHECK(stat(path, &st) == 0 && st.st_size == 5);
  CHECK(count_entries(dir) == 1);

  unlink(path);
  rmdir(dir);
  return hm_test_report("test_lock");
}
