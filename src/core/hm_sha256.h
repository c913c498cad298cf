/* SHA-256 (FIPS 180-4), used for script hashes in run manifests, and HMAC-SHA256 (RFC 2104),
 * which signs the Jupyter kernel's messages. */
#ifndef HM_SHA256_H
#define HM_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct hm_sha256 {
  uint32_t h[8];
  uint64_t len;          /* bytes processed */
  unsigned char buf[64];
  size_t nbuf;
} hm_sha256;

void hm_sha256_init(hm_sha256 *c);
void hm_sha256_update(hm_sha256 *c, const void *data, size_t len);
void hm_sha256_final(hm_sha256 *c, unsigned char out[32]);
/* Lowercase hex digest of data (hex needs 65 bytes). */
void hm_sha256_hex(const void *data, size_t len, char hex[65]);
void hm_sha256_tohex(const unsigned char digest[32], char hex[65]);

/* HMAC-SHA256 (RFC 2104 / FIPS 198-1), incremental: a Jupyter message is signed over several
 * frames without concatenating them. Keys longer than the 64-byte block are hashed first. */
typedef struct hm_hmac {
  hm_sha256 inner, outer;
} hm_hmac;

void hm_hmac_sha256_init(hm_hmac *c, const void *key, size_t klen);
void hm_hmac_sha256_update(hm_hmac *c, const void *data, size_t len);
void hm_hmac_sha256_final(hm_hmac *c, unsigned char out[32]);
void hm_hmac_sha256(const void *key, size_t klen, const void *data, size_t len,
                    unsigned char out[32]);

#endif
