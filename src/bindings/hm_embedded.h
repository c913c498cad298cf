/* Lua-side library embedded at build time by cmake/embed_lua.cmake. */
#ifndef HM_EMBEDDED_H
#define HM_EMBEDDED_H
#include <stddef.h>

typedef struct hm_embedded_module {
  const char *name;      /* "hardmax.plot" */
  const char *chunkname; /* "@lua/hardmax/plot.lua" */
  const char *source;
  size_t len;
} hm_embedded_module;

extern const hm_embedded_module hm_embedded_lua[];
#endif
