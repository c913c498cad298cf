/* HMAC-SHA256 against the RFC 4231 test vectors (cases 1-7; case 5 is truncated to 128 bits
 * by the RFC, so only the first 16 bytes are compared). */
#include <string.h>

#include "hm_sha256.h"
#include "hm_test.h"

static void fill(unsigned char *p, unsigned char v, size_t n) { memset(p, v, n); }

/* HMAC of (key, data) in one call, and again fed byte by byte, against the expected hex
 * prefix of length hexlen. */
static int hmac_is(const unsigned char *key, size_t klen, const void *data, size_t len,
                   const char *expect) {
  unsigned char d[32];
  char hex[65];
  hm_hmac_sha256(key, klen, data, len, d);
  hm_sha256_tohex(d, hex);
  size_t n = strlen(expect);
  if (strncmp(hex, expect, n) != 0) return 0;
  hm_hmac c;
  hm_hmac_sha256_init(&c, key, klen);
  for (size_t i = 0; i < len; i++) hm_hmac_sha256_update(&c, (const unsigned char *)data + i, 1);
  hm_hmac_sha256_final(&c, d);
  hm_sha256_tohex(d, hex);
  return strncmp(hex, expect, n) == 0;
}

int main(void) {
  unsigned char key[131], data[50];
  /* 1: 20-byte key 0x0b, "Hi There" */
  fill(key, 0x0b, 20);
  CHECK(hmac_is(key, 20, "Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
  /* 2: key "Jefe" */
  const char *m2 = "what do ya want for nothing?";
  CHECK(hmac_is((const unsigned char *)"Jefe", 4, m2, strlen(m2),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  /* 3: 20-byte key 0xaa, 50 bytes 0xdd */
  fill(key, 0xaa, 20);
  fill(data, 0xdd, 50);
  CHECK(hmac_is(key, 20, data, 50,
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"));
  /* 4: 25-byte key 0x01..0x19, 50 bytes 0xcd */
  for (int i = 0; i < 25; i++) key[i] = (unsigned char)(i + 1);
  fill(data, 0xcd, 50);
  CHECK(hmac_is(key, 25, data, 50,
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"));
  /* 5: truncated output (128 bits) */
  fill(key, 0x0c, 20);
  CHECK(hmac_is(key, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b"));
  /* 6: 131-byte key (hashed first) */
  fill(key, 0xaa, 131);
  const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  CHECK(hmac_is(key, 131, m6, strlen(m6),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
  /* 7: 131-byte key, data longer than a block */
  const char *m7 =
    "This is a test using a larger than block-size key and a larger than block-size data. "
    "The key needs to be hashed before being used by the HMAC algorithm.";
  CHECK(hmac_is(key, 131, m7, strlen(m7),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"));
  /* an empty key (Jupyter's "no signing" is handled by the kernel, but HMAC is defined) */
  CHECK(hmac_is(key, 0, "", 0,
                "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"));
  return hm_test_report("test_hmac_sha256");
}
