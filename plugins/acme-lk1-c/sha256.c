/*
 * sha256.c -- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * A straightforward, portable implementation: big-endian message schedule,
 * 64 rounds, no platform intrinsics. Speed is not a goal; correctness and
 * clarity are. Verified against FIPS 180-4 example vectors and RFC 4231.
 */
#include "sha256.h"

#include <string.h>

/* FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

/* FIPS 180-4, 5.3.3: initial hash value. */
static const uint32_t H256_INIT[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

static uint32_t rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Process one 64-byte block (FIPS 180-4, 6.2.2). */
static void sha256_compress(uint32_t state[8], const uint8_t block[ACME_SHA256_BLOCK_LEN])
{
    uint32_t w[64];
    uint32_t a, b, c, d, e, f, g, h;
    unsigned t;

    for (t = 0; t < 16; t++) {
        w[t] = load_be32(block + 4u * t);
    }
    for (t = 16; t < 64; t++) {
        uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }

    a = state[0]; b = state[1]; c = state[2]; d = state[3];
    e = state[4]; f = state[5]; g = state[6]; h = state[7];

    for (t = 0; t < 64; t++) {
        uint32_t big_s1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + big_s1 + ch + K256[t] + w[t];
        uint32_t big_s0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_s0 + maj;
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }

    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;

    acme_secure_zero(w, sizeof w);
}

void acme_secure_zero(void *p, size_t len)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (len--) {
        *v++ = 0;
    }
}

void acme_sha256_init(acme_sha256_ctx *ctx)
{
    memcpy(ctx->state, H256_INIT, sizeof ctx->state);
    ctx->total_len = 0;
    ctx->block_len = 0;
    memset(ctx->block, 0, sizeof ctx->block);
}

void acme_sha256_update(acme_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    ctx->total_len += (uint64_t)len;
    while (len > 0) {
        size_t room = ACME_SHA256_BLOCK_LEN - ctx->block_len;
        size_t take = len < room ? len : room;
        memcpy(ctx->block + ctx->block_len, data, take);
        ctx->block_len += take;
        data += take;
        len -= take;
        if (ctx->block_len == ACME_SHA256_BLOCK_LEN) {
            sha256_compress(ctx->state, ctx->block);
            ctx->block_len = 0;
        }
    }
}

void acme_sha256_final(acme_sha256_ctx *ctx, uint8_t digest[ACME_SHA256_DIGEST_LEN])
{
    uint64_t bit_len = ctx->total_len * 8u;
    unsigned i;

    /* Padding (FIPS 180-4, 5.1.1): 0x80, zeros, then the 64-bit length. */
    ctx->block[ctx->block_len++] = 0x80u;
    if (ctx->block_len > ACME_SHA256_BLOCK_LEN - 8u) {
        memset(ctx->block + ctx->block_len, 0, ACME_SHA256_BLOCK_LEN - ctx->block_len);
        sha256_compress(ctx->state, ctx->block);
        ctx->block_len = 0;
    }
    memset(ctx->block + ctx->block_len, 0, ACME_SHA256_BLOCK_LEN - 8u - ctx->block_len);
    for (i = 0; i < 8; i++) {
        ctx->block[ACME_SHA256_BLOCK_LEN - 1u - i] = (uint8_t)(bit_len >> (8u * i));
    }
    sha256_compress(ctx->state, ctx->block);

    for (i = 0; i < 8; i++) {
        store_be32(digest + 4u * i, ctx->state[i]);
    }
    acme_secure_zero(ctx, sizeof *ctx);
}

void acme_sha256(const uint8_t *data, size_t len, uint8_t digest[ACME_SHA256_DIGEST_LEN])
{
    acme_sha256_ctx ctx;
    acme_sha256_init(&ctx);
    acme_sha256_update(&ctx, data, len);
    acme_sha256_final(&ctx, digest);
}

/* RFC 2104: K0 = key (hashed first when longer than a block), zero padded;
 * MAC = H((K0 ^ opad) || H((K0 ^ ipad) || message)). */
void acme_hmac_sha256_init(acme_hmac_sha256_ctx *ctx, const uint8_t *key, size_t key_len)
{
    uint8_t k0[ACME_SHA256_BLOCK_LEN];
    uint8_t ipad_key[ACME_SHA256_BLOCK_LEN];
    unsigned i;

    memset(k0, 0, sizeof k0);
    if (key_len > ACME_SHA256_BLOCK_LEN) {
        acme_sha256(key, key_len, k0);
    } else if (key_len > 0) {
        memcpy(k0, key, key_len);
    }
    for (i = 0; i < ACME_SHA256_BLOCK_LEN; i++) {
        ipad_key[i] = (uint8_t)(k0[i] ^ 0x36u);
        ctx->opad_key[i] = (uint8_t)(k0[i] ^ 0x5cu);
    }
    acme_sha256_init(&ctx->inner);
    acme_sha256_update(&ctx->inner, ipad_key, sizeof ipad_key);

    acme_secure_zero(k0, sizeof k0);
    acme_secure_zero(ipad_key, sizeof ipad_key);
}

void acme_hmac_sha256_update(acme_hmac_sha256_ctx *ctx, const uint8_t *data, size_t len)
{
    acme_sha256_update(&ctx->inner, data, len);
}

void acme_hmac_sha256_final(acme_hmac_sha256_ctx *ctx, uint8_t mac[ACME_SHA256_DIGEST_LEN])
{
    uint8_t inner_digest[ACME_SHA256_DIGEST_LEN];
    acme_sha256_ctx outer;

    acme_sha256_final(&ctx->inner, inner_digest);
    acme_sha256_init(&outer);
    acme_sha256_update(&outer, ctx->opad_key, sizeof ctx->opad_key);
    acme_sha256_update(&outer, inner_digest, sizeof inner_digest);
    acme_sha256_final(&outer, mac);

    acme_secure_zero(inner_digest, sizeof inner_digest);
    acme_secure_zero(ctx, sizeof *ctx);
}
