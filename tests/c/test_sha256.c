/* SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <string.h>

#include "hm_sha256.h"
#include "hm_test.h"

int main(void) {
  char hex[65];
  hm_sha256_hex("", 0, hex);
  CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
  hm_sha256_hex("abc", 3, hex);
  CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hm_sha256_hex(m2, strlen(m2), hex);
  CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
  /* one million 'a', fed in uneven pieces to exercise buffering */
  static char a[1000000];
  memset(a, 'a', sizeof a);
  hm_sha256 c;
  unsigned char d[32];
  hm_sha256_init(&c);
  size_t off = 0, step = 1;
  while (off < sizeof a) {
    size_t n = step < sizeof a - off ? step : sizeof a - off;
    hm_sha256_update(&c, a + off, n);
    off += n;
    step = step * 3 % 157 + 1;
  }
  hm_sha256_final(&c, d);
  hm_sha256_tohex(d, hex);
  CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
  /* 55 and 56 bytes: the padding boundary */
  hm_sha256_hex(a, 55, hex);
  CHECK(strcmp(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318") == 0);
  hm_sha256_hex(a, 56, hex);
  CHECK(strcmp(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a") == 0);
  return hm_test_report("test_sha256");
}
