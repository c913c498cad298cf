/* Core .npy: header bytes, parser acceptance/rejection, save/load round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hm_npy.h"
#include "hm_test.h"

static void test_header(void) {
  char buf[256];
  size_t len;
  size_t d[2] = {2, 3};
  CHECK(hm_npy_header_v1(2, d, buf, sizeof buf, &len) == HM_OK);
  CHECK(len == 128);
  CHECK(memcmp(buf, "\x93NUMPY\x01\x00\x76\x00", 10) == 0);
  const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(memcmp(buf + 10, dict, strlen(dict)) == 0);
  CHECK(buf[127] == '\n' && buf[126] == ' ');
  hm_npy_header h;
  char err[128];
  CHECK(hm_npy_parse((unsigned char *)buf, len, &h, err, sizeof err) == HM_OK);
  CHECK(h.rank == 2 && h.dim[0] == 2 && h.dim[1] == 3 && h.size == 6 && h.dtype == HM_NPY_F8 &&
        h.data_offset == 128);
  size_t v[1] = {5};
  CHECK(hm_npy_header_v1(1, v, buf, sizeof buf, &len) == HM_OK && len == 128);
  CHECK(strstr(buf + 10, "(5,)") != NULL);
}

static hm_status parse_dict(const char *dict, hm_npy_header *h, char *err) {
  unsigned char buf[256];
  size_t n = strlen(dict);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(n + 1);
  buf[9] = 0;
  memcpy(buf + 10, dict, n);
  buf[10 + n] = '\n';
  return hm_npy_parse(buf, 11 + n, h, err, 128);
}

static void test_parse(void) {
  hm_npy_header h;
  char err[128];
  CHECK(parse_dict("{\"shape\": (4, 1, 2), \"descr\": \"<i8\", \"fortran_order\": False}", &h,
                   err) == HM_OK);
  CHECK(h.rank == 3 && h.dim[2] == 2 && h.dtype == HM_NPY_I8);
  CHECK(parse_dict("{'descr': '<f8', 'fortran_order': True, 'shape': (2,), }", &h, err) ==
        HM_EIO);
  CHECK(strstr(err, "Fortran") != NULL);
  CHECK(parse_dict("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", &h, err) ==
        HM_EIO);
  CHECK(strstr(err, "big-endian") != NULL);
  CHECK(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,, }", &h, err) ==
        HM_EIO);
  CHECK(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': "
                   "(99999999999999999999999,), }", &h, err) == HM_ENOMEM);
  CHECK(hm_npy_parse((const unsigned char *)"\x93NUMPX\x01\x00\x00\x00", 10, &h, err, 128) ==
        HM_EIO);
}

static void test_roundtrip(void) {
  char path[] = "/tmp/hm_test_npy_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  double data[6] = {1.5, -2, 3e300, 0, -0.0, 1e-310};
  hm_mat m;
  size_t d[3] = {1, 2, 3};
  hm_mat_init(&m, 3, d, data);
  char err[256];
  CHECK(hm_npy_save(path, &m, err, sizeof err) == HM_OK);
  hm_npy_header h;
  CHECK(hm_npy_read_header(path, &h, err, sizeof err) == HM_OK);
  CHECK(h.rank == 3 && h.size == 6);
  double back[6];
  CHECK(hm_npy_read_data(path, &h, back, err, sizeof err) == HM_OK);
  CHECK(memcmp(back, data, sizeof data) == 0);
  /* truncate: the data read must fail with a message */
  CHECK(truncate(path, 128 + 40) == 0);
  CHECK(hm_npy_read_data(path, &h, back, err, sizeof err) == HM_EIO);
  CHECK(strstr(err, "truncated") != NULL);
  unlink(path);
  CHECK(hm_npy_read_header(path, &h, err, sizeof err) == HM_EIO);
  CHECK(strstr(err, "cannot open") != NULL);
}

int main(void) {
  test_header();
  test_parse();
  test_roundtrip();
  return hm_test_report("npy");
}
