#include "hm_format.h"

#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void hm_printopts_default(hm_printopts *o) {
  o->precision = 4;
  o->edgeitems = 3;
  o->threshold = 1000;
  o->linewidth = 80;
}

typedef struct out {
  char *buf;
  size_t cap, len;
} out;

static void put(out *w, const char *s, size_t n) {
  if (w->len < w->cap) {
    size_t room = w->cap - w->len - 1; /* keep one byte for the NUL */
    size_t c = n < room ? n : room;
    if (c) memcpy(w->buf + w->len, s, c);
    w->buf[w->len + c] = '\0';
  }
  w->len += n;
}

static void puts_(out *w, const char *s) { put(w, s, strlen(s)); }

static void pad(out *w, size_t n) {
  static const char sp[] = "                                                                ";
  while (n > 0) {
    size_t c = n < sizeof sp - 1 ? n : sizeof sp - 1;
    put(w, sp, c);
    n -= c;
  }
}

/* Number format chosen once per array. */
typedef struct fmt {
  int mode; /* 0 integer, 1 fixed, 2 scientific */
  int digits;
} fmt;

static int fmtnum(char *b, size_t cap, const fmt *f, double x) {
  if (isnan(x)) return snprintf(b, cap, "nan");
  if (isinf(x)) return snprintf(b, cap, x > 0 ? "inf" : "-inf");
  if (x == 0) x = 0.0; /* print -0 as 0 */
  switch (f->mode) {
    case 0: return snprintf(b, cap, "%.0f", x);
    case 1: return snprintf(b, cap, "%.*f", f->digits, x);
    default: return snprintf(b, cap, "%.*e", f->digits, x);
  }
}

/* Displayed indices of an axis of length n: all, or edge items around an ellipsis (-1). */
typedef struct axis {
  size_t n, edge;
  int trunc;
} axis;

static size_t ax_count(const axis *a) { return a->trunc ? 2 * a->edge + 1 : a->n; }
/* position p -> index, or (size_t)-1 for the ellipsis */
static size_t ax_index(const axis *a, size_t p) {
  if (!a->trunc) return p;
  if (p < a->edge) return p;
  if (p == a->edge) return (size_t)-1;
  return a->n - (2 * a->edge + 1 - p);
}

#define NIL ((size_t)-1)

static const double *elem(const hm_mat *m, size_t i, size_t j, size_t k) {
  switch (m->rank) {
    case 1: return m->data + i;
    case 2: return m->data + i * m->dim[1] + j;
    default: return m->data + (i * m->dim[1] + j) * m->dim[2] + k;
  }
}

/* Visit every displayed element (rank padded to 3 with leading axes of length 1). */
typedef struct shown {
  axis ax[3];
  int rank;
} shown;

/* The elements that will be printed (edge items of truncated axes), in printing order;
 * writes them to dst (when not NULL) and returns how many there are. */
static size_t shown_values(const hm_mat *m, const shown *s, double *dst) {
  const axis *A = &s->ax[0], *B = &s->ax[1], *C = &s->ax[2];
  size_t count = 0;
  for (size_t p = 0; p < ax_count(A); p++) {
    size_t i = ax_index(A, p);
    if (i == NIL) continue;
    for (size_t q = 0; q < ax_count(B); q++) {
      size_t j = ax_index(B, q);
      if (j == NIL) continue;
      for (size_t r = 0; r < ax_count(C); r++) {
        size_t k = ax_index(C, r);
        if (k == NIL) continue;
        if (dst)
          dst[count] = *elem(m, m->rank == 3 ? i : (m->rank == 2 ? j : k), m->rank == 3 ? j : k, k);
        count++;
      }
    }
  }
  return count;
}

static void choose_format(const hm_mat *m, const shown *s, int precision, fmt *f, size_t *width,
                          int *has_ellipsis) {
  int allint = 1, any = 0;
  double maxa = 0, mina = INFINITY;
  const axis *A = &s->ax[0], *B = &s->ax[1], *C = &s->ax[2];
  *has_ellipsis = A->trunc || B->trunc || C->trunc;
  size_t nshown = shown_values(m, s, NULL);
  double *vals = nshown ? malloc(nshown * sizeof *vals) : NULL;
  if (nshown && !vals) nshown = 0; /* out of memory: format as if nothing were shown */
  shown_values(m, s, vals);
  for (size_t e = 0; e < nshown; e++) {
    double x = vals[e];
    if (!isfinite(x)) continue;
    any = 1;
    double a = fabs(x);
    if (a != floor(a) || a >= 1e15) allint = 0;
    if (a > maxa) maxa = a;
    if (a > 0 && a < mina) mina = a;
  }
  f->digits = precision;
  if (!any || allint) f->mode = 0;
  else if (maxa >= 1e8 || mina < 1e-4) f->mode = 2;
  else f->mode = 1;
  /* fixed: drop the trailing zeros that every element shares */
  char b[64];
  if (f->mode == 1) {
    int need = 0;
    for (size_t e = 0; e < nshown; e++) {
      double x = vals[e];
      if (!isfinite(x)) continue;
      int n = snprintf(b, sizeof b, "%.*f", precision, x);
      int d = precision;
      while (d > 0 && b[n - 1 - (precision - d)] == '0') d--;
      if (d > need) need = d;
    }
    f->digits = need < 1 ? 1 : need;
  }
  size_t w = *has_ellipsis ? 3 : 1;
  for (size_t e = 0; e < nshown; e++) {
    size_t n = (size_t)fmtnum(b, sizeof b, f, vals[e]);
    if (n > w) w = n;
  }
  free(vals);
  *width = w;
}

static void cell(out *w, const fmt *f, size_t width, const double *x) {
  char b[64];
  size_t n = x ? (size_t)fmtnum(b, sizeof b, f, *x) : (size_t)snprintf(b, sizeof b, "...");
  pad(w, width + 2 - n);
  put(w, b, n);
}

/* One matrix block (rows x cols of a rank-2 slice starting at base). */
static void matrix(out *w, const double *base, size_t ncols, const axis *R, const axis *Cx,
                   const fmt *f, size_t width, size_t linewidth) {
  size_t nc = ax_count(Cx), per = linewidth / (width + 2);
  if (per < 1) per = 1;
  for (size_t c0 = 0; c0 < nc; c0 += per) {
    size_t c1 = c0 + per < nc ? c0 + per : nc;
    if (nc > per) {
      char h[96];
      size_t a = ax_index(Cx, c0), b = ax_index(Cx, c1 - 1);
      if (a == NIL) a = ax_index(Cx, c0 + 1);
      if (b == NIL) b = ax_index(Cx, c1 - 2);
      snprintf(h, sizeof h, "%sColumns %zu to %zu\n", c0 ? "\n" : "", a + 1, b + 1);
      puts_(w, h);
    }
    for (size_t p = 0; p < ax_count(R); p++) {
      size_t i = ax_index(R, p);
      for (size_t q = c0; q < c1; q++) {
        size_t j = ax_index(Cx, q);
        if (i == NIL) {
          cell(w, f, width, NULL);
        } else {
          cell(w, f, width, j == NIL ? NULL : base + i * ncols + j);
        }
      }
      puts_(w, "\n");
    }
  }
}

size_t hm_format(const hm_mat *m, const hm_printopts *o, const char *tag, char *buf, size_t cap) {
  out w = {buf, cap, 0};
  if (cap) buf[0] = '\0';
  char shape[96];
  int off = 0;
  for (int k = 0; k < m->rank; k++)
    off += snprintf(shape + off, sizeof shape - (size_t)off, k ? "x%zu" : "%zu", m->dim[k]);
  if (m->size > 0) {
    shown s;
    int trunc = m->size > o->threshold;
    s.rank = m->rank;
    for (int k = 0; k < 3; k++) {
      int src = k - (3 - m->rank);
      size_t n = src >= 0 ? m->dim[src] : 1;
      s.ax[k].n = n;
      s.ax[k].edge = o->edgeitems;
      s.ax[k].trunc = trunc && n > 2 * o->edgeitems;
    }
    fmt f;
    size_t width;
    int ell;
    choose_format(m, &s, o->precision, &f, &width, &ell);
    if (m->rank == 1) {
      size_t per = o->linewidth / (width + 2), col = 0;
      if (per < 1) per = 1;
      for (size_t p = 0; p < ax_count(&s.ax[2]); p++) {
        size_t k = ax_index(&s.ax[2], p);
        if (col == per) {
          puts_(&w, "\n");
          col = 0;
        }
        cell(&w, &f, width, k == NIL ? NULL : m->data + k);
        col++;
      }
      puts_(&w, "\n");
    } else if (m->rank == 2) {
      matrix(&w, m->data, m->dim[1], &s.ax[1], &s.ax[2], &f, width, o->linewidth);
    } else {
      for (size_t p = 0; p < ax_count(&s.ax[0]); p++) {
        size_t i = ax_index(&s.ax[0], p);
        if (p) puts_(&w, "\n");
        if (i == NIL) {
          puts_(&w, "...\n");
          continue;
        }
        char h[64];
        snprintf(h, sizeof h, "(%zu,.,.) =\n", i + 1);
        puts_(&w, h);
        matrix(&w, m->data + i * m->dim[1] * m->dim[2], m->dim[2], &s.ax[1], &s.ax[2], &f,
               width, o->linewidth);
      }
    }
  }
  puts_(&w, "[");
  puts_(&w, shape);
  puts_(&w, " ");
  puts_(&w, tag);
  puts_(&w, "]");
  return w.len;
}
