#include "hm_npz.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include "hm_atomic.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define U32MAX 0xffffffffu
#define DEFLATE_MAX_RATIO 1032u /* zlib FAQ: deflate's compression ratio is at most 1032:1 */
#define CHUNK 65536

static unsigned rd16(const unsigned char *p) { return (unsigned)p[0] | ((unsigned)p[1] << 8); }
static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const unsigned char *p) {
  return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* ==== reading ============================================================================ */

typedef struct entry {
  char *name;
  size_t nlen;
  unsigned flags, method;
  uint32_t crc;
  uint64_t csize, usize, offset;
  uint64_t data; /* start of the member data, 0 until hm_npz_header checked the member */
} entry;

struct hm_npz {
  FILE *f;                    /* the file, or NULL for a memory archive */
  const unsigned char *mem;
  uint64_t size;              /* archive bytes */
  uint64_t cd_off;            /* start of the central directory: members lie before it */
  size_t n;
  entry *e;
};

/* Read n bytes at off. Everything read lies inside [0, size) (checked here). */
static hm_status read_at(hm_npz *z, uint64_t off, void *buf, size_t n, char *err,
                         size_t errlen) {
  if (off > z->size || n > z->size - off)
    return hm_fail(err, errlen, HM_EIO, "archive is truncated (needs bytes %llu..%llu of %llu)",
                (unsigned long long)off, (unsigned long long)(off + n),
                (unsigned long long)z->size);
  if (!z->f) {
    memcpy(buf, z->mem + off, n);
    return HM_OK;
  }
  if (fseeko(z->f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, n, z->f) != n)
    return hm_fail(err, errlen, HM_EIO, "read error: %s",
                ferror(z->f) ? strerror(errno) : "unexpected end of file");
  return HM_OK;
}

size_t hm_npz_count(const hm_npz *z) { return z->n; }
const char *hm_npz_name(const hm_npz *z, size_t i) { return z->e[i].name; }

int hm_npz_is_npy(const hm_npz *z, size_t i) {
  const entry *e = &z->e[i];
  return e->nlen >= 4 && memcmp(e->name + e->nlen - 4, ".npy", 4) == 0;
}

size_t hm_npz_find(const hm_npz *z, const char *name) {
  for (size_t i = 0; i < z->n; i++)
    if (strcmp(z->e[i].name, name) == 0) return i;
  return HM_NPZ_NONE;
}

void hm_npz_close(hm_npz *z) {
  if (!z) return;
  for (size_t i = 0; i < z->n; i++) free(z->e[i].name);
  free(z->e);
  if (z->f) fclose(z->f);
  free(z);
}

static int cmp_entry_name(const void *a, const void *b) {
  const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
  return strcmp(x->name, y->name);
}

/* The zip64 extended information extra field (id 1) of a central directory entry: the
 * 8-byte values of the fields saturated at 0xFFFFFFFF, in the order uncompressed size,
 * compressed size, local header offset. */
static hm_status central_zip64(entry *e, const unsigned char *x, size_t xlen, char *err,
                               size_t errlen) {
  int need_u = e->usize == U32MAX, need_c = e->csize == U32MAX, need_o = e->offset == U32MAX;
  size_t p = 0;
  while (p + 4 <= xlen) {
    unsigned id = rd16(x + p), len = rd16(x + p + 2);
    if (len > xlen - p - 4) break;
    if (id == 1) {
      const unsigned char *f = x + p + 4;
      size_t k = 0;
      if (need_u) { if (k + 8 > len) goto bad; e->usize = rd64(f + k); k += 8; need_u = 0; }
      if (need_c) { if (k + 8 > len) goto bad; e->csize = rd64(f + k); k += 8; need_c = 0; }
      if (need_o) { if (k + 8 > len) goto bad; e->offset = rd64(f + k); k += 8; need_o = 0; }
      break;
    }
    p += 4 + (size_t)len;
  }
  if (need_u || need_c || need_o) goto bad;
  return HM_OK;
bad:
  return hm_fail(err, errlen, HM_EIO, "member '%s': missing or short zip64 extra field",
              e->name);
}

static hm_status parse_central(hm_npz *z, const unsigned char *cd, uint64_t cd_size,
                               uint64_t count, char *err, size_t errlen) {
  if (count > cd_size / 46)
    return hm_fail(err, errlen, HM_EIO,
                "corrupt ZIP archive: central directory of %llu bytes cannot hold %llu entries",
                (unsigned long long)cd_size, (unsigned long long)count);
  z->e = (entry *)calloc(count ? (size_t)count : 1, sizeof(entry));
  if (!z->e) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  size_t p = 0;
  for (uint64_t k = 0; k < count; k++) {
    const unsigned char *c = cd + p;
    if (cd_size - p < 46 || rd32(c) != SIG_CENTRAL)
      return hm_fail(err, errlen, HM_EIO, "corrupt ZIP archive: bad central directory entry %llu",
                  (unsigned long long)k + 1);
    size_t nl = rd16(c + 28), xl = rd16(c + 30), cl = rd16(c + 32);
    if (cd_size - p - 46 < nl + xl + cl)
      return hm_fail(err, errlen, HM_EIO,
                  "corrupt ZIP archive: central directory entry %llu overruns the directory",
                  (unsigned long long)k + 1);
    entry *e = &z->e[z->n];
    e->name = (char *)malloc(nl + 1);
    if (!e->name) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
    memcpy(e->name, c + 46, nl);
    e->name[nl] = '\0';
    e->nlen = nl;
    z->n++;
    if (memchr(c + 46, '\0', nl))
      return hm_fail(err, errlen, HM_EIO, "corrupt ZIP archive: member name %llu contains a NUL byte",
                  (unsigned long long)k + 1);
    e->flags = rd16(c + 8);
    e->method = rd16(c + 10);
    e->crc = rd32(c + 16);
    e->csize = rd32(c + 20);
    e->usize = rd32(c + 24);
    e->offset = rd32(c + 42);
    unsigned disk = rd16(c + 34);
    hm_status s = central_zip64(e, c + 46 + nl, xl, err, errlen);
    if (s != HM_OK) return s;
    if (disk != 0 && disk != 0xffff)
      return hm_fail(err, errlen, HM_EIO, "multi-disk (split) ZIP archives are not supported");
    p += 46 + nl + xl + cl;
  }
  if (z->n > 1) {
    entry **byname = (entry **)malloc(z->n * sizeof *byname);
    if (!byname) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
    for (size_t i = 0; i < z->n; i++) byname[i] = &z->e[i];
    qsort(byname, z->n, sizeof *byname, cmp_entry_name);
    const char *dup = NULL;
    for (size_t i = 1; i < z->n && !dup; i++)
      if (strcmp(byname[i - 1]->name, byname[i]->name) == 0) dup = byname[i]->name;
    free(byname);
    if (dup) return hm_fail(err, errlen, HM_EIO, "duplicate member '%s' in the archive", dup);
  }
  return HM_OK;
}

/* Find the end-of-central-directory record (and the zip64 one) and read the directory. */
static hm_status read_directory(hm_npz *z, char *err, size_t errlen) {
  if (z->size < 22)
    return hm_fail(err, errlen, HM_EIO, "not a ZIP archive (%llu bytes, too short)",
                (unsigned long long)z->size);
  size_t tl = z->size < 22 + 65535 ? (size_t)z->size : 22 + 65535;
  uint64_t tail_off = z->size - tl;
  unsigned char *tail = (unsigned char *)malloc(tl);
  if (!tail) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  hm_status s = read_at(z, tail_off, tail, tl, err, errlen);
  size_t pos = (size_t)-1;
  for (size_t q = tl - 22 + 1; s == HM_OK && q-- > 0;) {
    if (rd32(tail + q) == SIG_EOCD && q + 22 + rd16(tail + q + 20) <= tl) {
      pos = q;
      break;
    }
  }
  if (s != HM_OK) {
    free(tail);
    return s;
  }
  if (pos == (size_t)-1) {
    free(tail);
    return hm_fail(err, errlen, HM_EIO,
                "not a ZIP archive (no end-of-central-directory record)");
  }
  const unsigned char *r = tail + pos;
  unsigned disk = rd16(r + 4), cd_disk = rd16(r + 6);
  uint64_t n_disk = rd16(r + 8), count = rd16(r + 10), cd_size = rd32(r + 12),
           cd_off = rd32(r + 16);
  uint64_t eocd = tail_off + pos, limit = eocd;
  int have_loc = pos >= 20 && rd32(r - 20) == SIG_LOC64;
  unsigned char loc[20];
  if (have_loc) memcpy(loc, r - 20, 20);
  free(tail);
  if (have_loc) {
    uint64_t off64 = rd64(loc + 8);
    unsigned char x[56];
    if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1)
      return hm_fail(err, errlen, HM_EIO, "multi-disk (split) ZIP archives are not supported");
    if (off64 > eocd - 20 || eocd - 20 - off64 < 56)
      return hm_fail(err, errlen, HM_EIO, "corrupt ZIP archive: bad zip64 end-of-directory locator");
    s = read_at(z, off64, x, 56, err, errlen);
    if (s != HM_OK) return s;
    if (rd32(x) != SIG_EOCD64)
      return hm_fail(err, errlen, HM_EIO, "corrupt ZIP archive: bad zip64 end-of-directory record");
    disk = rd32(x + 16) ? 1 : 0;
    cd_disk = rd32(x + 20) ? 1 : 0;
    n_disk = rd64(x + 24);
    count = rd64(x + 32);
    cd_size = rd64(x + 40);
    cd_off = rd64(x + 48);
    limit = off64;
  }
  if (disk != 0 || cd_disk != 0 || n_disk != count)
    return hm_fail(err, errlen, HM_EIO, "multi-disk (split) ZIP archives are not supported");
  if (cd_off > limit || cd_size > limit - cd_off)
    return hm_fail(err, errlen, HM_EIO,
                "corrupt or truncated ZIP archive: central directory (%llu bytes at %llu) "
                "lies outside the archive",
                (unsigned long long)cd_size, (unsigned long long)cd_off);
  z->cd_off = cd_off;
  unsigned char *cd = (unsigned char *)malloc(cd_size ? (size_t)cd_size : 1);
  if (!cd) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  s = read_at(z, cd_off, cd, (size_t)cd_size, err, errlen);
  if (s == HM_OK) s = parse_central(z, cd, cd_size, count, err, errlen);
  free(cd);
  return s;
}

static hm_status open_common(hm_npz *z, hm_npz **out, char *err, size_t errlen) {
  hm_status s = read_directory(z, err, errlen);
  if (s != HM_OK) {
    hm_npz_close(z);
    return s;
  }
  *out = z;
  return HM_OK;
}

hm_status hm_npz_open(const char *path, hm_npz **out, char *err, size_t errlen) {
  *out = NULL;
  hm_npz *z = (hm_npz *)calloc(1, sizeof *z);
  if (!z) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  z->f = fopen(path, "rb");
  off_t end;
  if (!z->f || fseeko(z->f, 0, SEEK_END) != 0 || (end = ftello(z->f)) < 0) {
    hm_status s = hm_fail(err, errlen, HM_EIO, "cannot open '%s': %s", path, strerror(errno));
    hm_npz_close(z);
    return s;
  }
  z->size = (uint64_t)end;
  return open_common(z, out, err, errlen);
}

hm_status hm_npz_open_mem(const void *buf, size_t len, hm_npz **out, char *err,
                          size_t errlen) {
  *out = NULL;
  hm_npz *z = (hm_npz *)calloc(1, sizeof *z);
  if (!z) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  z->mem = (const unsigned char *)buf;
  z->size = len;
  return open_common(z, out, err, errlen);
}

static const char *method_name(unsigned m) {
  switch (m) {
    case 1: return "shrink";
    case 6: return "implode";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "LZMA";
    case 93: return "zstd";
    case 95: return "xz";
    case 99: return "AES encryption";
    default: return "unknown";
  }
}

/* Check member i and locate its data (e->data). */
static hm_status locate(hm_npz *z, entry *e, char *err, size_t errlen) {
  if (e->data) return HM_OK;
  if (e->flags & 0x41)
    return hm_fail(err, errlen, HM_EIO, "member '%s' is encrypted (not supported)", e->name);
  if (e->method != 0 && e->method != 8)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s' uses compression method %u (%s); only 0 (stored) and 8 "
                "(deflate) are supported",
                e->name, e->method, method_name(e->method));
  unsigned char lh[30];
  if (e->offset > z->cd_off || z->cd_off - e->offset < 30)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': local header offset %llu lies outside the archive data",
                e->name, (unsigned long long)e->offset);
  hm_status s = read_at(z, e->offset, lh, 30, err, errlen);
  if (s != HM_OK) return s;
  if (rd32(lh) != SIG_LOCAL)
    return hm_fail(err, errlen, HM_EIO, "member '%s': bad local header signature", e->name);
  size_t nl = rd16(lh + 26), xl = rd16(lh + 28);
  if (rd16(lh + 8) != e->method)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': compression method differs between local header and "
                "central directory", e->name);
  uint64_t data = e->offset + 30 + nl + xl;
  if (data > z->cd_off || e->csize > z->cd_off - data)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': %llu compressed bytes at offset %llu run past the archive data "
                "(truncated or corrupt archive)",
                e->name, (unsigned long long)e->csize, (unsigned long long)data);
  if (nl != e->nlen)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': name differs between local header and central directory",
                e->name);
  if (nl) {
    char *ln = (char *)malloc(nl);
    if (!ln) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
    s = read_at(z, e->offset + 30, ln, nl, err, errlen);
    int same = s == HM_OK && memcmp(ln, e->name, nl) == 0;
    free(ln);
    if (s != HM_OK) return s;
    if (!same)
      return hm_fail(err, errlen, HM_EIO,
                  "member '%s': name differs between local header and central directory",
                  e->name);
  }
  if (e->method == 0 && e->usize != e->csize)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': stored member with compressed size %llu but size %llu",
                e->name, (unsigned long long)e->csize, (unsigned long long)e->usize);
  if (e->method == 8 && e->usize / DEFLATE_MAX_RATIO > e->csize + 1)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': declared size %llu cannot come from %llu deflated bytes",
                e->name, (unsigned long long)e->usize, (unsigned long long)e->csize);
  e->data = data;
  return HM_OK;
}

/* A member's uncompressed byte stream with its running CRC-32. */
typedef struct mstream {
  hm_npz *z;
  const entry *e;
  uint64_t cpos, cleft; /* next compressed byte, compressed bytes not yet fetched */
  uint64_t produced;    /* uncompressed bytes delivered */
  uint32_t crc;
  int inflating, ended;
  z_stream zs;
  unsigned char in[CHUNK];
} mstream;

static hm_status ms_init(mstream *m, hm_npz *z, const entry *e, char *err, size_t errlen) {
  memset(&m->zs, 0, sizeof m->zs);
  m->z = z;
  m->e = e;
  m->cpos = e->data;
  m->cleft = e->csize;
  m->produced = 0;
  m->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  m->inflating = 0;
  m->ended = 0;
  if (e->method == 8) {
    if (inflateInit2(&m->zs, -MAX_WBITS) != Z_OK)
      return hm_fail(err, errlen, HM_ENOMEM, "cannot initialize zlib inflate");
    m->inflating = 1;
  }
  return HM_OK;
}

static void ms_free(mstream *m) {
  if (m->inflating) inflateEnd(&m->zs);
  m->inflating = 0;
}

static hm_status ms_fill(mstream *m, char *err, size_t errlen) {
  size_t k = m->cleft < CHUNK ? (size_t)m->cleft : CHUNK;
  hm_status s = read_at(m->z, m->cpos, m->in, k, err, errlen);
  if (s != HM_OK) return s;
  m->cpos += k;
  m->cleft -= k;
  m->zs.next_in = m->in;
  m->zs.avail_in = (uInt)k;
  return HM_OK;
}

/* Deliver exactly n (<= CHUNK) bytes; the caller never asks beyond e->usize. */
static hm_status ms_read(mstream *m, unsigned char *buf, size_t n, char *err, size_t errlen) {
  const char *name = m->e->name;
  if (!m->inflating) {
    hm_status s = read_at(m->z, m->cpos, buf, n, err, errlen);
    if (s != HM_OK) return s;
    m->cpos += n;
    m->cleft -= n;
  } else {
    m->zs.next_out = buf;
    m->zs.avail_out = (uInt)n;
    while (m->zs.avail_out > 0) {
      if (m->ended)
        return hm_fail(err, errlen, HM_EIO,
                    "member '%s': deflate stream ends after %llu bytes, %llu declared", name,
                    (unsigned long long)(m->produced + n - m->zs.avail_out),
                    (unsigned long long)m->e->usize);
      if (m->zs.avail_in == 0 && m->cleft > 0) {
        hm_status s = ms_fill(m, err, errlen);
        if (s != HM_OK) return s;
      }
      int r = inflate(&m->zs, Z_NO_FLUSH);
      if (r == Z_STREAM_END) {
        m->ended = 1;
      } else if (r == Z_BUF_ERROR && m->zs.avail_in == 0 && m->cleft == 0) {
        return hm_fail(err, errlen, HM_EIO, "member '%s': deflate data is truncated", name);
      } else if (r == Z_MEM_ERROR) {
        return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        return hm_fail(err, errlen, HM_EIO, "member '%s': corrupt deflate data (%s)", name,
                    m->zs.msg ? m->zs.msg : "zlib error");
      }
    }
  }
  m->crc = (uint32_t)crc32(m->crc, buf, (uInt)n);
  m->produced += n;
  return HM_OK;
}

/* After e->usize bytes: the compressed data must end exactly there, and the CRC match. */
static hm_status ms_finish(mstream *m, char *err, size_t errlen) {
  const char *name = m->e->name;
  if (m->inflating) {
    unsigned char extra;
    while (!m->ended) {
      if (m->zs.avail_in == 0 && m->cleft > 0) {
        hm_status s = ms_fill(m, err, errlen);
        if (s != HM_OK) return s;
      }
      m->zs.next_out = &extra;
      m->zs.avail_out = 1;
      int r = inflate(&m->zs, Z_NO_FLUSH);
      if (m->zs.avail_out == 0)
        return hm_fail(err, errlen, HM_EIO,
                    "member '%s': deflate data holds more than the declared %llu bytes",
                    name, (unsigned long long)m->e->usize);
      if (r == Z_STREAM_END) {
        m->ended = 1;
      } else if (r == Z_BUF_ERROR && m->zs.avail_in == 0 && m->cleft == 0) {
        return hm_fail(err, errlen, HM_EIO, "member '%s': deflate data is truncated", name);
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        return hm_fail(err, errlen, HM_EIO, "member '%s': corrupt deflate data (%s)", name,
                    m->zs.msg ? m->zs.msg : "zlib error");
      }
    }
    if (m->zs.avail_in != 0 || m->cleft != 0)
      return hm_fail(err, errlen, HM_EIO,
                  "member '%s': %llu bytes after the end of the deflate stream", name,
                  (unsigned long long)(m->zs.avail_in + m->cleft));
  }
  if (m->crc != m->e->crc)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': CRC-32 mismatch (archive says %08x, data has %08x): corrupt "
                "archive", name, (unsigned)m->e->crc, (unsigned)m->crc);
  return HM_OK;
}

hm_status hm_npz_header(hm_npz *z, size_t i, hm_npy_header *h, char *err, size_t errlen) {
  entry *e = &z->e[i];
  hm_status s = locate(z, e, err, errlen);
  if (s != HM_OK) return s;
  size_t want = 12 + HM_NPY_MAX_HEADER;
  if (e->usize < want) want = (size_t)e->usize;
  unsigned char *buf = (unsigned char *)malloc(want ? want : 1);
  if (!buf) return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  mstream *m = (mstream *)malloc(sizeof *m);
  if (!m) {
    free(buf);
    return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  }
  s = ms_init(m, z, e, err, errlen);
  for (size_t got = 0; s == HM_OK && got < want; got += CHUNK)
    s = ms_read(m, buf + got, want - got < CHUNK ? want - got : CHUNK, err, errlen);
  ms_free(m);
  free(m);
  if (s == HM_OK) {
    char perr[256];
    s = hm_npy_parse(buf, want, h, perr, sizeof perr);
    if (s != HM_OK) hm_fail(err, errlen, s, "member '%s': %s", e->name, perr);
  }
  free(buf);
  if (s != HM_OK) return s;
  size_t isz = hm_npy_itemsize(h->dtype);
  uint64_t avail = e->usize - h->data_offset; /* data_offset <= want <= usize */
  if (h->size > avail / isz)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': the .npy header describes %zu elements of %zu bytes, more than "
                "the %llu data bytes the member holds",
                e->name, h->size, isz, (unsigned long long)avail);
  if (h->size * isz != avail)
    return hm_fail(err, errlen, HM_EIO,
                "member '%s': the .npy header describes %llu data bytes but the member "
                "holds %llu",
                e->name, (unsigned long long)(h->size * isz), (unsigned long long)avail);
  return HM_OK;
}

hm_status hm_npz_read(hm_npz *z, size_t i, const hm_npy_header *h, double *out, char *err,
                      size_t errlen) {
  entry *e = &z->e[i];
  hm_status s = locate(z, e, err, errlen);
  if (s != HM_OK) return s;
  size_t isz = hm_npy_itemsize(h->dtype);
  if (h->data_offset > e->usize || h->size > (e->usize - h->data_offset) / isz ||
      h->data_offset + h->size * isz != e->usize)
    return hm_fail(err, errlen, HM_EARG, "member '%s': header does not match the member",
                e->name);
  mstream *m = (mstream *)malloc(sizeof *m);
  unsigned char *buf = (unsigned char *)malloc(CHUNK);
  if (!m || !buf) {
    free(m);
    free(buf);
    return hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  }
  s = ms_init(m, z, e, err, errlen);
  for (size_t left = h->data_offset; s == HM_OK && left > 0;) {
    size_t k = left < CHUNK ? left : CHUNK;
    s = ms_read(m, buf, k, err, errlen);
    left -= k;
  }
  size_t per = CHUNK / isz;
  for (size_t done = 0; s == HM_OK && done < h->size;) {
    size_t k = h->size - done < per ? h->size - done : per;
    s = ms_read(m, buf, k * isz, err, errlen);
    if (s == HM_OK) hm_npy_decode(h->dtype, buf, k, out + done);
    done += k;
  }
  if (s == HM_OK) s = ms_finish(m, err, errlen);
  ms_free(m);
  free(m);
  free(buf);
  return s;
}

/* ==== writing ============================================================================ */

typedef struct wout {
  int fd, ok;
  uint64_t pos; /* bytes written so far (flushed or buffered) */
  size_t n;
  unsigned char buf[CHUNK];
} wout;

static void w_flush(wout *w) {
  if (w->ok && w->n && hm_write_all(w->fd, w->buf, w->n) != 0) w->ok = 0;
  w->n = 0;
}

static void w_bytes(wout *w, const void *p, size_t n) {
  const unsigned char *s = (const unsigned char *)p;
  while (n > 0 && w->ok) {
    size_t k = CHUNK - w->n < n ? CHUNK - w->n : n;
    memcpy(w->buf + w->n, s, k);
    w->n += k;
    w->pos += k;
    s += k;
    n -= k;
    if (w->n == CHUNK) w_flush(w);
  }
}

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)((v >> 8) & 0xff);
}
static void put32(unsigned char *p, uint32_t v) {
  put16(p, v & 0xffff);
  put16(p + 2, (unsigned)(v >> 16));
}
static void put64(unsigned char *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}
static void w16(wout *w, unsigned v) { unsigned char b[2]; put16(b, v); w_bytes(w, b, 2); }
static void w32(wout *w, uint32_t v) { unsigned char b[4]; put32(b, v); w_bytes(w, b, 4); }
static void w64(wout *w, uint64_t v) { unsigned char b[8]; put64(b, v); w_bytes(w, b, 8); }

#define DOS_TIME 0u      /* 00:00:00 */
#define DOS_DATE 0x21u   /* 1980-01-01 */
#define MADE_BY_UNIX 3u
#define EXT_ATTR 0x81a40000u /* regular file, mode 0644, in the high 16 bits */

typedef struct wentry {
  const hm_npz_item *it;
  size_t nlen; /* with ".npy" */
  uint32_t crc;
  uint64_t csize, usize, offset;
  int zip64_local;
  unsigned flags;
} wentry;

static int cmp_item(const void *a, const void *b) {
  return strcmp(((const wentry *)a)->it->name, ((const wentry *)b)->it->name);
}

static int needs_utf8(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80) return 1;
  return 0;
}

/* Write one member (local header, data); patch CRC and sizes into the header afterwards. */
static hm_status write_member(wout *w, wentry *we, unsigned flags, z_stream *zs,
                              unsigned char *chunk, unsigned char *zbuf, char *err,
                              size_t errlen) {
  const hm_mat *m = we->it->m;
  char hdr[512];
  size_t hl;
  if (hm_npy_header_v1(m->rank, m->dim, hdr, sizeof hdr, &hl) != HM_OK)
    return hm_fail(err, errlen, HM_EARG, "array '%s': cannot build the .npy header",
                we->it->name);
  int deflating = (flags & HM_NPZ_DEFLATE) != 0;
  we->usize = (uint64_t)hl + (uint64_t)m->size * 8;
  /* as Python's zipfile: zip64 in the local header when the member may reach 4 GiB */
  we->zip64_local = (flags & HM_NPZ_ZIP64) || we->usize > (uint64_t)U32MAX / 105 * 100;
  we->offset = w->pos;
  we->flags = needs_utf8(we->it->name) ? 0x800u : 0u;
  unsigned method = deflating ? 8u : 0u;
  w32(w, SIG_LOCAL);
  w16(w, we->zip64_local ? 45 : 20);
  w16(w, we->flags);
  w16(w, method);
  w16(w, DOS_TIME);
  w16(w, DOS_DATE);
  w32(w, 0); /* crc, patched */
  w32(w, we->zip64_local ? U32MAX : 0);
  w32(w, we->zip64_local ? U32MAX : 0);
  w16(w, (unsigned)we->nlen);
  w16(w, we->zip64_local ? 20 : 0);
  w_bytes(w, we->it->name, we->nlen - 4);
  w_bytes(w, ".npy", 4);
  if (we->zip64_local) {
    w16(w, 1);
    w16(w, 16);
    w64(w, 0); /* sizes, patched */
    w64(w, 0);
  }
  uint64_t data_start = w->pos;
  uLong crc = crc32(0L, Z_NULL, 0);
  if (deflating && deflateReset(zs) != Z_OK)
    return hm_fail(err, errlen, HM_EIO, "zlib deflateReset failed");
  /* the source: the .npy header, then the data as little-endian doubles */
  size_t per = CHUNK / 8;
  size_t done = 0;
  int first = 1;
  for (;;) {
    const unsigned char *src;
    size_t len;
    if (first) {
      src = (const unsigned char *)hdr;
      len = hl;
      first = 0;
    } else {
      size_t k = m->size - done < per ? m->size - done : per;
      hm_npy_encode(m->data + done, k, chunk);
      done += k;
      src = chunk;
      len = k * 8;
    }
    int last = done == m->size;
    crc = crc32(crc, src, (uInt)len);
    if (!deflating) {
      w_bytes(w, src, len);
    } else {
      zs->next_in = (Bytef *)(uintptr_t)src;
      zs->avail_in = (uInt)len;
      int r;
      do {
        zs->next_out = zbuf;
        zs->avail_out = CHUNK;
        r = deflate(zs, last ? Z_FINISH : Z_NO_FLUSH);
        if (r == Z_STREAM_ERROR) return hm_fail(err, errlen, HM_EIO, "zlib deflate failed");
        w_bytes(w, zbuf, CHUNK - zs->avail_out);
      } while (zs->avail_out == 0 || (last && r != Z_STREAM_END));
    }
    if (!w->ok) break;
    if (last) break;
  }
  we->crc = (uint32_t)crc;
  we->csize = w->pos - data_start;
  if (!we->zip64_local && (we->csize >= U32MAX || we->usize >= U32MAX))
    return hm_fail(err, errlen, HM_EIO, "array '%s': member too large", we->it->name);
  w_flush(w);
  if (!w->ok) return HM_OK; /* the caller reports the write error */
  unsigned char patch[16];
  put32(patch, we->crc);
  put32(patch + 4, we->zip64_local ? U32MAX : (uint32_t)we->csize);
  put32(patch + 8, we->zip64_local ? U32MAX : (uint32_t)we->usize);
  if (pwrite(w->fd, patch, 12, (off_t)(we->offset + 14)) != 12) w->ok = 0;
  if (we->zip64_local) {
    put64(patch, we->usize);
    put64(patch + 8, we->csize);
    if (pwrite(w->fd, patch, 16, (off_t)(we->offset + 30 + we->nlen + 4)) != 16) w->ok = 0;
  }
  return HM_OK;
}

static void write_central(wout *w, const wentry *we, unsigned flags) {
  int force = (flags & HM_NPZ_ZIP64) != 0;
  int zu = force || we->usize >= U32MAX, zc = force || we->csize >= U32MAX,
      zo = force || we->offset >= U32MAX;
  int zip64 = zu || zc || zo;
  unsigned version = zip64 || we->zip64_local ? 45 : 20;
  w32(w, SIG_CENTRAL);
  w16(w, (MADE_BY_UNIX << 8) | version);
  w16(w, version);
  w16(w, we->flags);
  w16(w, (flags & HM_NPZ_DEFLATE) ? 8 : 0);
  w16(w, DOS_TIME);
  w16(w, DOS_DATE);
  w32(w, we->crc);
  w32(w, zc ? U32MAX : (uint32_t)we->csize);
  w32(w, zu ? U32MAX : (uint32_t)we->usize);
  w16(w, (unsigned)we->nlen);
  w16(w, zip64 ? (unsigned)(4 + 8 * (zu + zc + zo)) : 0);
  w16(w, 0);        /* comment */
  w16(w, 0);        /* disk */
  w16(w, 0);        /* internal attributes */
  w32(w, EXT_ATTR);
  w32(w, zo ? U32MAX : (uint32_t)we->offset);
  w_bytes(w, we->it->name, we->nlen - 4);
  w_bytes(w, ".npy", 4);
  if (zip64) {
    w16(w, 1);
    w16(w, (unsigned)(8 * (zu + zc + zo)));
    if (zu) w64(w, we->usize);
    if (zc) w64(w, we->csize);
    if (zo) w64(w, we->offset);
  }
}

/* The central directory and the end records (zip64 ones when needed or forced). */
static void write_directory(wout *w, const wentry *we, size_t n, unsigned flags) {
  uint64_t cd_off = w->pos;
  for (size_t i = 0; i < n; i++) write_central(w, &we[i], flags);
  uint64_t cd_size = w->pos - cd_off;
  if ((flags & HM_NPZ_ZIP64) || n >= 0xffff || cd_off >= U32MAX || cd_size >= U32MAX) {
    uint64_t rec = w->pos;
    w32(w, SIG_EOCD64);
    w64(w, 44); /* size of the rest of the record */
    w16(w, (MADE_BY_UNIX << 8) | 45);
    w16(w, 45);
    w32(w, 0); /* this disk */
    w32(w, 0); /* disk of the directory */
    w64(w, n);
    w64(w, n);
    w64(w, cd_size);
    w64(w, cd_off);
    w32(w, SIG_LOC64);
    w32(w, 0);
    w64(w, rec);
    w32(w, 1); /* disks */
  }
  w32(w, SIG_EOCD);
  w16(w, 0);
  w16(w, 0);
  w16(w, n >= 0xffff ? 0xffff : (unsigned)n);
  w16(w, n >= 0xffff ? 0xffff : (unsigned)n);
  w32(w, cd_size >= U32MAX ? U32MAX : (uint32_t)cd_size);
  w32(w, cd_off >= U32MAX ? U32MAX : (uint32_t)cd_off);
  w16(w, 0); /* comment */
  w_flush(w);
}

static hm_status check_items(const hm_npz_item *items, size_t n, wentry *we, char *err,
                             size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    const char *name = items[i].name;
    size_t len = name ? strlen(name) : 0;
    if (len == 0) return hm_fail(err, errlen, HM_EARG, "array names must be non-empty");
    if (len > 65000)
      return hm_fail(err, errlen, HM_EARG, "array name of %zu bytes is too long (at most 65000)",
                  len);
    if (!items[i].m)
      return hm_fail(err, errlen, HM_EARG, "array '%s' has no matrix", name);
    we[i].it = &items[i];
    we[i].nlen = len + 4;
  }
  qsort(we, n, sizeof *we, cmp_item);
  for (size_t i = 1; i < n; i++)
    if (strcmp(we[i - 1].it->name, we[i].it->name) == 0)
      return hm_fail(err, errlen, HM_EARG, "duplicate array name '%s'", we[i].it->name);
  return HM_OK;
}

hm_status hm_npz_save(const char *path, const hm_npz_item *items, size_t n, unsigned flags,
                      char *err, size_t errlen) {
  wentry *we = (wentry *)calloc(n ? n : 1, sizeof *we);
  wout *w = (wout *)malloc(sizeof *w);
  unsigned char *chunk = (unsigned char *)malloc(CHUNK), *zbuf = (unsigned char *)malloc(CHUNK);
  z_stream zs;
  int zinit = 0;
  hm_status s = HM_OK;
  if (!we || !w || !chunk || !zbuf) s = hm_fail(err, errlen, HM_ENOMEM, "not enough memory");
  if (s == HM_OK) s = check_items(items, n, we, err, errlen);
  if (s == HM_OK && (flags & HM_NPZ_DEFLATE)) {
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      s = hm_fail(err, errlen, HM_ENOMEM, "cannot initialize zlib deflate");
    else
      zinit = 1;
  }
  hm_atomic a;
  if (s == HM_OK && (s = hm_atomic_begin(&a, path, err, errlen)) == HM_OK) {
    w->fd = a.fd;
    w->ok = 1;
    w->pos = 0;
    w->n = 0;
    for (size_t i = 0; i < n && s == HM_OK && w->ok; i++)
      s = write_member(w, &we[i], flags, &zs, chunk, zbuf, err, errlen);
    if (s == HM_OK && w->ok) write_directory(w, we, n, flags);
    /* s != HM_OK: err holds the reason; w->ok == 0: a write failed, hm_atomic_end says why */
    hm_status e = hm_atomic_end(&a, s == HM_OK && w->ok, s == HM_OK ? err : NULL, errlen);
    if (s == HM_OK) s = e;
  }
  if (zinit) deflateEnd(&zs);
  free(we);
  free(w);
  free(chunk);
  free(zbuf);
  return s;
}
