#include "hm_npy.h"

#include "hm_atomic.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define MAX_HEADER HM_NPY_MAX_HEADER

static int host_little(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

hm_status hm_npy_header_v1(int rank, const size_t *dim, char *out, size_t cap, size_t *len) {
  char dict[256];
  int n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
  for (int k = 0; k < rank; k++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, k ? ", %zu" : "%zu", dim[k]);
  n += snprintf(dict + n, sizeof dict - (size_t)n, rank == 1 ? ",), }" : "), }");
  /* as numpy: hlen = dict + newline, padded with spaces so that the total is a multiple of
   * 64 (a full 64 spaces when it already is) */
  size_t hlen = (size_t)n + 1, pad = 64 - ((MAGIC_LEN + 4 + hlen) % 64);
  size_t total = MAGIC_LEN + 4 + hlen + pad;
  if (total > cap || hlen + pad > 65535) return HM_EARG;
  memcpy(out, MAGIC, MAGIC_LEN);
  out[6] = 1;
  out[7] = 0;
  out[8] = (char)((hlen + pad) & 0xff);
  out[9] = (char)((hlen + pad) >> 8);
  memcpy(out + 10, dict, (size_t)n);
  memset(out + 10 + n, ' ', pad);
  out[total - 1] = '\n';
  *len = total;
  return HM_OK;
}

/* --- header dictionary parser ------------------------------------------------------- */

typedef struct cur {
  const char *p, *end;
} cur;

static void ws(cur *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
}

static int eat(cur *c, char ch) {
  ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* Python string literal ('...' or "...") without escapes into out. */
static int pystr(cur *c, char *out, size_t cap) {
  ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (*c->p == '\\' || n + 1 >= cap) return 0;
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return 0;
  c->p++;
  out[n] = '\0';
  return 1;
}

static hm_status parse_dict(const char *s, size_t len, hm_npy_header *h, char *err,
                            size_t errlen) {
  cur c = {s, s + len};
  int have_descr = 0, have_fo = 0, have_shape = 0;
  char key[32], descr[32];
  if (!eat(&c, '{')) return hm_fail(err, errlen, HM_EIO, "malformed .npy header (no dictionary)");
  for (;;) {
    if (eat(&c, '}')) break;
    if (!pystr(&c, key, sizeof key) || !eat(&c, ':'))
      return hm_fail(err, errlen, HM_EIO, "malformed .npy header dictionary");
    if (strcmp(key, "descr") == 0) {
      if (!pystr(&c, descr, sizeof descr))
        return hm_fail(err, errlen, HM_EIO, "malformed .npy header: 'descr' is not a string");
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      ws(&c);
      if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "True", 4) == 0) {
        return hm_fail(err, errlen, HM_EIO,
                    "Fortran-order (column-major) .npy files are not supported");
      } else if ((size_t)(c.end - c.p) >= 5 && memcmp(c.p, "False", 5) == 0) {
        c.p += 5;
      } else {
        return hm_fail(err, errlen, HM_EIO, "malformed .npy header: bad 'fortran_order'");
      }
      have_fo = 1;
    } else if (strcmp(key, "shape") == 0) {
      if (!eat(&c, '('))
        return hm_fail(err, errlen, HM_EIO, "malformed .npy header: 'shape' is not a tuple");
      h->rank = 0;
      for (;;) {
        if (eat(&c, ')')) break;
        ws(&c);
        if (c.p >= c.end || *c.p < '0' || *c.p > '9')
          return hm_fail(err, errlen, HM_EIO, "malformed .npy header: bad 'shape'");
        size_t v = 0;
        while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
          size_t d = (size_t)(*c.p++ - '0');
          if (v > (SIZE_MAX - d) / 10)
            return hm_fail(err, errlen, HM_ENOMEM, "array in .npy file is too large");
          v = v * 10 + d;
        }
        if (c.p < c.end && *c.p == 'L') c.p++; /* Python 2 long */
        if (h->rank == HM_MAXRANK)
          return hm_fail(err, errlen, HM_EIO, "arrays of rank > 3 are not supported");
        h->dim[h->rank++] = v;
        if (!eat(&c, ',')) {
          if (!eat(&c, ')'))
            return hm_fail(err, errlen, HM_EIO, "malformed .npy header: bad 'shape'");
          break;
        }
      }
      have_shape = 1;
    } else {
      return hm_fail(err, errlen, HM_EIO, "unexpected key '%s' in .npy header", key);
    }
    if (!eat(&c, ',')) {
      if (!eat(&c, '}')) return hm_fail(err, errlen, HM_EIO, "malformed .npy header dictionary");
      break;
    }
  }
  ws(&c);
  while (c.p < c.end && (*c.p == ' ' || *c.p == '\n' || *c.p == '\r' || *c.p == '\0')) c.p++;
  if (c.p != c.end) return hm_fail(err, errlen, HM_EIO, "malformed .npy header (trailing text)");
  if (!have_descr || !have_fo || !have_shape)
    return hm_fail(err, errlen, HM_EIO, "malformed .npy header: missing '%s'",
                !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
  if (h->rank == 0)
    return hm_fail(err, errlen, HM_EIO, "0-d (scalar) arrays are not supported");
  const char *t = descr;
  int little = descr[0] == '<' || (descr[0] == '=' && host_little()) || descr[0] == '|';
  if (descr[0] == '>' || (descr[0] == '=' && !host_little())) {
    if (strcmp(descr + 1, "f8") == 0 || strcmp(descr + 1, "i8") == 0 ||
        strcmp(descr + 1, "f4") == 0 || strcmp(descr + 1, "i4") == 0)
      return hm_fail(err, errlen, HM_EIO, "big-endian data ('%s') is not supported", descr);
  }
  if (little) t = descr + 1;
  if (little && strcmp(t, "f8") == 0) h->dtype = HM_NPY_F8;
  else if (little && strcmp(t, "i8") == 0) h->dtype = HM_NPY_I8;
  else if (little && strcmp(t, "f4") == 0) h->dtype = HM_NPY_F4;
  else if (little && strcmp(t, "i4") == 0) h->dtype = HM_NPY_I4;
  else
    return hm_fail(err, errlen, HM_EIO,
                "unsupported dtype '%s' (expected '<f8', '<i8', '<f4' or '<i4')", descr);
  if (hm_shape_size(h->rank, h->dim, &h->size) != HM_OK)
    return hm_fail(err, errlen, HM_ENOMEM, "array in .npy file is too large");
  return HM_OK;
}

hm_status hm_npy_parse(const unsigned char *buf, size_t len, hm_npy_header *h, char *err,
                       size_t errlen) {
  if (len < 10 || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
    return hm_fail(err, errlen, HM_EIO, "not a .npy file (bad magic string)");
  unsigned major = buf[6];
  size_t hlen, pre;
  if (major == 1) {
    hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
    pre = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) return hm_fail(err, errlen, HM_EIO, "truncated .npy header");
    hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) |
           ((size_t)buf[11] << 24);
    pre = 12;
  } else {
    char v[16];
    snprintf(v, sizeof v, "%u.%u", major, (unsigned)buf[7]);
    return hm_fail(err, errlen, HM_EIO, "unsupported .npy format version %s", v);
  }
  if (hlen > MAX_HEADER) return hm_fail(err, errlen, HM_EIO, "unreasonably large .npy header");
  if (len < pre + hlen) return hm_fail(err, errlen, HM_EIO, "truncated .npy header");
  const char *d = (const char *)buf + pre;
  if (hlen == 0 || d[hlen - 1] != '\n')
    return hm_fail(err, errlen, HM_EIO, "malformed .npy header (no terminating newline)");
  hm_status s = parse_dict(d, hlen, h, err, errlen);
  if (s != HM_OK) return s;
  h->data_offset = pre + hlen;
  return HM_OK;
}

/* --- files ---------------------------------------------------------------------------- */

static hm_status ioerr(char *err, size_t errlen, const char *what, const char *path) {
  if (err && errlen) snprintf(err, errlen, "cannot %s '%s': %s", what, path, strerror(errno));
  return HM_EIO;
}

size_t hm_npy_itemsize(hm_npy_dtype t) { return t == HM_NPY_F8 || t == HM_NPY_I8 ? 8 : 4; }

void hm_npy_encode(const double *src, size_t count, unsigned char *out) {
  memcpy(out, src, count * 8);
  if (!host_little())
    for (size_t j = 0; j < count; j++) {
      unsigned char *b = out + 8 * j;
      for (int i = 0; i < 4; i++) {
        unsigned char t = b[i];
        b[i] = b[7 - i];
        b[7 - i] = t;
      }
    }
}

void hm_npy_decode(hm_npy_dtype t, const unsigned char *src, size_t count, double *out) {
  size_t isz = hm_npy_itemsize(t);
  int le = host_little();
  for (size_t i = 0; i < count; i++) {
    unsigned char b[8];
    memcpy(b, src + i * isz, isz);
    if (!le) {
      for (size_t a = 0; a < isz / 2; a++) {
        unsigned char c = b[a];
        b[a] = b[isz - 1 - a];
        b[isz - 1 - a] = c;
      }
    }
    double v;
    switch (t) {
      case HM_NPY_F8: memcpy(&v, b, 8); break;
      case HM_NPY_I8: { int64_t x; memcpy(&x, b, 8); v = (double)x; break; }
      case HM_NPY_F4: { float x; memcpy(&x, b, 4); v = (double)x; break; }
      default: { int32_t x; memcpy(&x, b, 4); v = (double)x; break; }
    }
    out[i] = v;
  }
}

hm_status hm_npy_save(const char *path, const hm_mat *m, char *err, size_t errlen) {
  char hdr[512];
  size_t hl;
  if (hm_npy_header_v1(m->rank, m->dim, hdr, sizeof hdr, &hl) != HM_OK)
    return hm_fail(err, errlen, HM_EARG, "cannot build the .npy header");
  hm_atomic a;
  hm_status s = hm_atomic_begin(&a, path, err, errlen);
  if (s != HM_OK) return s;
  int ok = hm_write_all(a.fd, hdr, hl) == 0;
  unsigned char buf[8 * 512];
  for (size_t i = 0; ok && i < m->size; i += 512) {
    size_t c = m->size - i < 512 ? m->size - i : 512;
    hm_npy_encode(m->data + i, c, buf);
    ok = hm_write_all(a.fd, buf, c * 8) == 0;
  }
  return hm_atomic_end(&a, ok, err, errlen);
}

hm_status hm_npy_read_header(const char *path, hm_npy_header *h, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return ioerr(err, errlen, "open", path);
  unsigned char pre[12];
  size_t n = fread(pre, 1, sizeof pre, f);
  hm_status s;
  if (n < 10 || memcmp(pre, MAGIC, MAGIC_LEN) != 0) {
    s = hm_fail(err, errlen, HM_EIO, "not a .npy file (bad magic string)");
  } else {
    size_t hlen = pre[6] == 1 ? ((size_t)pre[8] | ((size_t)pre[9] << 8))
                              : n < 12 ? 0
                                       : ((size_t)pre[8] | ((size_t)pre[9] << 8) |
                                          ((size_t)pre[10] << 16) | ((size_t)pre[11] << 24));
    size_t want = (pre[6] == 1 ? 10 : 12) + (hlen > MAX_HEADER ? 0 : hlen);
    unsigned char *buf = (unsigned char *)malloc(want > n ? want : n);
    if (!buf) {
      s = hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
    } else {
      memcpy(buf, pre, n);
      size_t got = n;
      if (want > n) got += fread(buf + n, 1, want - n, f);
      s = hm_npy_parse(buf, got, h, err, errlen);
      free(buf);
    }
  }
  fclose(f);
  return s;
}

hm_status hm_npy_read_data(const char *path, const hm_npy_header *h, double *out, char *err,
                           size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) return ioerr(err, errlen, "open", path);
  hm_status s = HM_OK;
  size_t isz = hm_npy_itemsize(h->dtype);
  if (fseek(f, (long)h->data_offset, SEEK_SET) != 0) {
    s = ioerr(err, errlen, "read", path);
  } else {
    unsigned char buf[8 * 1024];
    size_t per = sizeof buf / isz, done = 0;
    while (done < h->size) {
      size_t want = h->size - done < per ? h->size - done : per;
      size_t got = fread(buf, isz, want, f);
      hm_npy_decode(h->dtype, buf, got, out + done);
      done += got;
      if (got < want) {
        if (ferror(f)) {
          s = ioerr(err, errlen, "read", path);
        } else if (err && errlen) {
          snprintf(err, errlen, "file is truncated: expected %zu data bytes, found %zu",
                   h->size * isz, done * isz);
          s = HM_EIO;
        }
        if (s == HM_OK) s = HM_EIO;
        break;
      }
    }
  }
  fclose(f);
  return s;
}
