/* Core .npz: write/read round trips (stored, deflated, forced zip64), archive layout,
 * independent fixtures written by Python's zipfile (tests/data/npz), and robustness: every
 * truncation and every single-byte corruption of small archives must give an error or a
 * correct result, never a crash (run under the Asan build). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hm_npz.h"
#include "hm_test.h"

static char fixture_dir[1024];

static void set_fixture_dir(void) {
  const char *f = __FILE__; /* .../tests/c/test_npz.c */
  const char *slash = strrchr(f, '/');
  size_t n = slash ? (size_t)(slash - f) : 0;
  snprintf(fixture_dir, sizeof fixture_dir, "%.*s%s../data/npz", (int)n, f, n ? "/" : "");
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
  *len = b ? fread(b, 1, (size_t)n, f) : 0;
  fclose(f);
  return b;
}

static unsigned char *fixture(const char *name, size_t *len) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", fixture_dir, name);
  unsigned char *b = slurp(p, len);
  if (!b) fprintf(stderr, "cannot read fixture %s\n", p);
  CHECK(b != NULL);
  return b;
}

/* Load every .npy member of an archive; returns the status of the first failure. Members
 * are decoded into freshly allocated buffers of exactly h.size doubles. */
static hm_status load_all(hm_npz *z, char *err, size_t errlen) {
  for (size_t i = 0; i < hm_npz_count(z); i++) {
    if (!hm_npz_is_npy(z, i)) continue;
    hm_npy_header h;
    hm_status s = hm_npz_header(z, i, &h, err, errlen);
    if (s != HM_OK) return s;
    double *d = (double *)malloc(h.size ? h.size * sizeof(double) : 1);
    if (!d) return HM_ENOMEM;
    s = hm_npz_read(z, i, &h, d, err, errlen);
    free(d);
    if (s != HM_OK) return s;
  }
  return HM_OK;
}

static hm_status load_mem(const unsigned char *b, size_t len, char *err, size_t errlen) {
  hm_npz *z;
  hm_status s = hm_npz_open_mem(b, len, &z, err, errlen);
  if (s != HM_OK) return s;
  s = load_all(z, err, errlen);
  hm_npz_close(z);
  return s;
}

/* Read member `name` of z into out (cap doubles); checks rank and dims. */
static int read_member(hm_npz *z, const char *name, int rank, const size_t *dim, double *out,
                       size_t cap) {
  size_t i = hm_npz_find(z, name);
  if (i == HM_NPZ_NONE) return 0;
  hm_npy_header h;
  char err[256];
  if (hm_npz_header(z, i, &h, err, sizeof err) != HM_OK) {
    fprintf(stderr, "%s\n", err);
    return 0;
  }
  if (h.rank != rank || h.size > cap) return 0;
  for (int k = 0; k < rank; k++)
    if (h.dim[k] != dim[k]) return 0;
  if (hm_npz_read(z, i, &h, out, err, sizeof err) != HM_OK) {
    fprintf(stderr, "%s\n", err);
    return 0;
  }
  return 1;
}

static char tmpdir[64];

static void tmp_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* The three arrays of the round trips. */
static double A[6] = {1.5, -2, 3e300, 0, -0.0, 1e-310};
static double B[3] = {-1, 0.1, 2e-5};
static double C[24];
static hm_mat mA, mB, mC, mE;

static void setup_arrays(void) {
  size_t da[2] = {2, 3}, db[1] = {3}, dc[3] = {2, 3, 4}, de[2] = {0, 5};
  for (int i = 0; i < 24; i++) C[i] = (i % 5) * 0.25 - i;
  hm_mat_init(&mA, 2, da, A);
  hm_mat_init(&mB, 1, db, B);
  hm_mat_init(&mC, 3, dc, C);
  hm_mat_init(&mE, 2, de, NULL);
}

static void check_roundtrip(unsigned flags, const char *file) {
  char path[256], err[256];
  tmp_path(path, sizeof path, file);
  /* given out of order: the archive lists them sorted */
  hm_npz_item items[4] = {{"zeta", &mC}, {"A", &mA}, {"b", &mB}, {"empty", &mE}};
  CHECK(hm_npz_save(path, items, 4, flags, err, sizeof err) == HM_OK);
  hm_npz *z = NULL;
  CHECK(hm_npz_open(path, &z, err, sizeof err) == HM_OK);
  if (!z) return;
  CHECK(hm_npz_count(z) == 4);
  CHECK(strcmp(hm_npz_name(z, 0), "A.npy") == 0 && strcmp(hm_npz_name(z, 1), "b.npy") == 0 &&
        strcmp(hm_npz_name(z, 2), "empty.npy") == 0 &&
        strcmp(hm_npz_name(z, 3), "zeta.npy") == 0);
  double out[24];
  CHECK(read_member(z, "A.npy", 2, mA.dim, out, 24) && memcmp(out, A, sizeof A) == 0);
  CHECK(read_member(z, "b.npy", 1, mB.dim, out, 24) && memcmp(out, B, sizeof B) == 0);
  CHECK(read_member(z, "zeta.npy", 3, mC.dim, out, 24) && memcmp(out, C, sizeof C) == 0);
  CHECK(read_member(z, "empty.npy", 2, mE.dim, out, 24));
  hm_npz_close(z);

  /* deterministic bytes: a second save is identical */
  char path2[256];
  tmp_path(path2, sizeof path2, "again.npz");
  CHECK(hm_npz_save(path2, items, 4, flags, err, sizeof err) == HM_OK);
  size_t l1, l2;
  unsigned char *b1 = slurp(path, &l1), *b2 = slurp(path2, &l2);
  CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
  /* fixed DOS timestamp 1980-01-01 00:00 in the first local header; method */
  CHECK(b1 && memcmp(b1, "PK\x03\x04", 4) == 0 && b1[10] == 0 && b1[11] == 0 &&
        b1[12] == 0x21 && b1[13] == 0 && b1[8] == ((flags & HM_NPZ_DEFLATE) ? 8 : 0));
  free(b2);
  unlink(path2);

  /* every truncation fails cleanly; every single-byte corruption gives an error or the
   * right values (never a crash, never an over-read: each copy is exactly len bytes) */
  int truncation_ok = 1;
  for (size_t len = 0; b1 && len < l1; len++) {
    unsigned char *t = (unsigned char *)malloc(len ? len : 1);
    memcpy(t, b1, len);
    if (load_mem(t, len, err, sizeof err) == HM_OK) {
      truncation_ok = 0;
      fprintf(stderr, "%s truncated to %zu bytes was accepted\n", file, len);
    }
    free(t);
  }
  CHECK(truncation_ok);
  size_t crc_errors = 0;
  for (size_t pos = 0; b1 && pos < l1; pos++) {
    unsigned char *t = (unsigned char *)malloc(l1);
    memcpy(t, b1, l1);
    t[pos] ^= 0x5a;
    if (load_mem(t, l1, err, sizeof err) != HM_OK && strstr(err, "CRC-32")) crc_errors++;
    free(t);
  }
  /* corrupting the array data of a stored archive is caught by the CRC */
  if (!(flags & HM_NPZ_DEFLATE)) CHECK(crc_errors >= sizeof A + sizeof B + sizeof C);
  free(b1);
  unlink(path);
}

static void test_layout(void) {
  /* stored, no zip64: exact size = locals (30 + name + data) + centrals (46 + name) + 22 */
  char path[256], err[256];
  tmp_path(path, sizeof path, "layout.npz");
  hm_npz_item items[1] = {{"A", &mA}};
  CHECK(hm_npz_save(path, items, 1, 0, err, sizeof err) == HM_OK);
  size_t len;
  unsigned char *b = slurp(path, &len);
  CHECK(b && len == 30 + 5 + 128 + 48 + 46 + 5 + 22);
  if (b && len > 200) {
    CHECK(memcmp(b + 30, "A.npy", 5) == 0 && memcmp(b + 35, "\x93NUMPY\x01\x00", 8) == 0);
    size_t cd = 30 + 5 + 176;
    CHECK(memcmp(b + cd, "PK\x01\x02", 4) == 0);
    CHECK(memcmp(b + len - 22, "PK\x05\x06", 4) == 0);
    /* the stored CRC is zlib's crc32 of the member bytes */
    uint32_t crc = (uint32_t)b[14] | ((uint32_t)b[15] << 8) | ((uint32_t)b[16] << 16) |
                   ((uint32_t)b[17] << 24);
    CHECK(crc != 0 && memcmp(b + 14, b + cd + 16, 4) == 0);
  }
  free(b);
  /* forced zip64: local extra (20 bytes), central extra (28), zip64 EOCD + locator (76) */
  CHECK(hm_npz_save(path, items, 1, HM_NPZ_ZIP64, err, sizeof err) == HM_OK);
  b = slurp(path, &len);
  CHECK(b && len == 30 + 5 + 20 + 176 + 46 + 5 + 28 + 56 + 20 + 22);
  if (b) CHECK(memcmp(b + 18, "\xff\xff\xff\xff\xff\xff\xff\xff", 8) == 0);
  free(b);
  unlink(path);
}

static void test_writer_errors(void) {
  char path[256], err[256];
  tmp_path(path, sizeof path, "bad.npz");
  hm_npz_item dup[2] = {{"x", &mA}, {"x", &mB}};
  CHECK(hm_npz_save(path, dup, 2, 0, err, sizeof err) == HM_EARG && strstr(err, "duplicate"));
  hm_npz_item empty[1] = {{"", &mA}};
  CHECK(hm_npz_save(path, empty, 1, 0, err, sizeof err) == HM_EARG);
  CHECK(access(path, F_OK) != 0); /* nothing written */
  CHECK(hm_npz_save("/nonexistent-dir/x.npz", dup, 1, 0, err, sizeof err) == HM_EIO &&
        strstr(err, "/nonexistent-dir/x.npz"));
  /* an empty archive is valid */
  CHECK(hm_npz_save(path, NULL, 0, 0, err, sizeof err) == HM_OK);
  hm_npz *z;
  CHECK(hm_npz_open(path, &z, err, sizeof err) == HM_OK && hm_npz_count(z) == 0);
  hm_npz_close(z);
  unlink(path);
  CHECK(hm_npz_open(path, &z, err, sizeof err) == HM_EIO && strstr(err, "cannot open"));
}

/* Fixtures written by Python's zipfile (tests/data/npz/make_fixtures.py). */
static void check_fixture_values(const char *file) {
  size_t len;
  unsigned char *b = fixture(file, &len);
  if (!b) return;
  hm_npz *z;
  char err[256];
  CHECK(hm_npz_open_mem(b, len, &z, err, sizeof err) == HM_OK);
  double out[8];
  size_t da[2] = {2, 3}, db[1] = {3}, dc[3] = {2, 1, 2}, dd[1] = {2};
  const double a[6] = {1.5, -2.0, 3e300, 0.0, -0.0, 1e-310};
  const double bb[3] = {1, -2, 9007199254740992.0}, c[4] = {0.5, -0.25, 1024, 3},
               d[2] = {7, -8};
  CHECK(read_member(z, "a.npy", 2, da, out, 8) && memcmp(out, a, sizeof a) == 0);
  if (strcmp(file, "zip64_all.npz") == 0) {
    CHECK(hm_npz_count(z) == 2);
  } else if (strcmp(file, "descriptor.npz") == 0) {
    CHECK(read_member(z, "b.npy", 1, db, out, 8) && memcmp(out, bb, sizeof bb) == 0);
    CHECK(read_member(z, "d.npy", 1, dd, out, 8) && memcmp(out, d, sizeof d) == 0);
  } else {
    CHECK(read_member(z, "b.npy", 1, db, out, 8) && memcmp(out, bb, sizeof bb) == 0);
    CHECK(read_member(z, "c.npy", 3, dc, out, 8) && memcmp(out, c, sizeof c) == 0);
    CHECK(read_member(z, "d.npy", 1, dd, out, 8) && memcmp(out, d, sizeof d) == 0);
  }
  if (strcmp(file, "zip64_all.npz") == 0)
    CHECK(read_member(z, "b.npy", 1, db, out, 8) && memcmp(out, bb, sizeof bb) == 0);
  hm_npz_close(z);
  /* every truncation of an independently written archive fails cleanly too */
  int truncation_ok = 1;
  for (size_t l = 0; l < len; l++) {
    unsigned char *t = (unsigned char *)malloc(l ? l : 1);
    memcpy(t, b, l);
    if (load_mem(t, l, err, sizeof err) == HM_OK) truncation_ok = 0;
    free(t);
  }
  CHECK(truncation_ok);
  free(b);
}

static hm_status fixture_error(const char *file, char *err, size_t errlen) {
  size_t len;
  unsigned char *b = fixture(file, &len);
  if (!b) return HM_OK;
  hm_status s = load_mem(b, len, err, errlen);
  free(b);
  return s;
}

static void test_fixtures(void) {
  const char *good[] = {"stored.npz", "deflated.npz", "plain.npz", "descriptor.npz",
                        "zip64_all.npz"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) check_fixture_values(good[i]);

  char err[256];
  size_t len;
  unsigned char *b = fixture("mixed.npz", &len);
  hm_npz *z;
  if (b && hm_npz_open_mem(b, len, &z, err, sizeof err) == HM_OK) {
    CHECK(hm_npz_count(z) == 3);
    CHECK(!hm_npz_is_npy(z, 0) && !hm_npz_is_npy(z, 1) && hm_npz_is_npy(z, 2));
    CHECK(strcmp(hm_npz_name(z, 0), "notes.txt") == 0 && strcmp(hm_npz_name(z, 1), "sub/") == 0);
    CHECK(load_all(z, err, sizeof err) == HM_OK);
    hm_npz_close(z);
  } else {
    CHECK(0);
  }
  free(b);

  CHECK(fixture_error("bad_crc.npz", err, sizeof err) == HM_EIO &&
        strstr(err, "member 'a.npy': CRC-32 mismatch"));
  CHECK(fixture_error("encrypted.npz", err, sizeof err) == HM_EIO &&
        strstr(err, "member 'a.npy' is encrypted"));
  CHECK(fixture_error("bzip2.npz", err, sizeof err) == HM_EIO &&
        strstr(err, "compression method 12 (bzip2)"));
  CHECK(fixture_error("duplicate.npz", err, sizeof err) == HM_EIO &&
        strstr(err, "duplicate member 'a.npy'"));
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Bogus sizes and counts in the directory: errors, and no allocation beyond the archive. */
static void test_bogus_sizes(void) {
  size_t len;
  unsigned char *b = fixture("plain.npz", &len); /* deflated, no zip64, 4 members */
  if (!b) return;
  char err[256];
  size_t eocd = len - 22, cd = (size_t)b[eocd + 16] | ((size_t)b[eocd + 17] << 8);
  unsigned char *t = (unsigned char *)malloc(len);
  /* entry count beyond what the directory can hold */
  memcpy(t, b, len);
  t[eocd + 8] = t[eocd + 10] = 0xff;
  t[eocd + 9] = t[eocd + 11] = 0xff;
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO && strstr(err, "cannot hold"));
  /* directory offset beyond the file */
  memcpy(t, b, len);
  put32(t + eocd + 16, 0x7fffffff);
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO && strstr(err, "outside the archive"));
  /* uncompressed size of 2 GB from a few hundred deflated bytes */
  memcpy(t, b, len);
  put32(t + cd + 24, 0x7fffffff);
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO && strstr(err, "cannot come from"));
  /* a plausible but wrong uncompressed size: the .npy header disagrees */
  memcpy(t, b, len);
  put32(t + cd + 24, 1000);
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO && strstr(err, "member 'a.npy'"));
  /* compressed size past the directory */
  memcpy(t, b, len);
  put32(t + cd + 20, 0x10000000);
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO && strstr(err, "run past"));
  /* saturated size without a zip64 extra */
  memcpy(t, b, len);
  put32(t + cd + 20, 0xffffffff);
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO && strstr(err, "zip64"));
  /* local header offset inside the directory */
  memcpy(t, b, len);
  put32(t + cd + 42, (uint32_t)cd);
  CHECK(load_mem(t, len, err, sizeof err) == HM_EIO);
  /* not a zip at all */
  CHECK(load_mem((const unsigned char *)"hello, world, this is not a zip archive", 39, err,
                 sizeof err) == HM_EIO && strstr(err, "not a ZIP archive"));
  free(t);
  free(b);
}

int main(void) {
  set_fixture_dir();
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hm_test_npz_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  setup_arrays();
  check_roundtrip(0, "stored.npz");
  check_roundtrip(HM_NPZ_DEFLATE, "deflated.npz");
  check_roundtrip(HM_NPZ_ZIP64, "zip64.npz");
  check_roundtrip(HM_NPZ_ZIP64 | HM_NPZ_DEFLATE, "zip64d.npz");
  test_layout();
  test_writer_errors();
  test_fixtures();
  test_bogus_sizes();
  rmdir(tmpdir);
  return hm_test_report("test_npz");
}
