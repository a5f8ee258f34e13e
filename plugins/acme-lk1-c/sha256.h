/*
 * sha256.h -- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), self-contained.
 *
 * Part of the acme-lk1 reference plugin. No external libraries. All state lives
 * in caller-owned structs, so the functions are reentrant and thread-safe.
 * Built with -fvisibility=hidden: nothing here is exported from the plugin.
 */
#ifndef ACME_LK1_SHA256_H
#define ACME_LK1_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ACME_SHA256_BLOCK_LEN 64u
#define ACME_SHA256_DIGEST_LEN 32u

typedef struct acme_sha256_ctx {
    uint32_t state[8];
    uint64_t total_len;                    /* bytes hashed so far */
    uint8_t block[ACME_SHA256_BLOCK_LEN];  /* pending partial block */
    size_t block_len;                      /* bytes used in block */
} acme_sha256_ctx;

void acme_sha256_init(acme_sha256_ctx *ctx);
void acme_sha256_update(acme_sha256_ctx *ctx, const uint8_t *data, size_t len);
void acme_sha256_final(acme_sha256_ctx *ctx, uint8_t digest[ACME_SHA256_DIGEST_LEN]);

/* One-shot SHA-256 of data[0..len). */
void acme_sha256(const uint8_t *data, size_t len, uint8_t digest[ACME_SHA256_DIGEST_LEN]);

/* HMAC-SHA256 state: the inner hash in progress and the outer key pad. */
typedef struct acme_hmac_sha256_ctx {
    acme_sha256_ctx inner;
    uint8_t opad_key[ACME_SHA256_BLOCK_LEN];
} acme_hmac_sha256_ctx;

void acme_hmac_sha256_init(acme_hmac_sha256_ctx *ctx, const uint8_t *key, size_t key_len);
void acme_hmac_sha256_update(acme_hmac_sha256_ctx *ctx, const uint8_t *data, size_t len);
void acme_hmac_sha256_final(acme_hmac_sha256_ctx *ctx, uint8_t mac[ACME_SHA256_DIGEST_LEN]);

/* Overwrite len bytes at p with zeros in a way the optimiser keeps. */
void acme_secure_zero(void *p, size_t len);

#endif /* ACME_LK1_SHA256_H */
