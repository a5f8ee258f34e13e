/* Plugins whose tables break the ABI in one way each. Compiled once per
 * BAD_* macro by build.rs; keycompat must refuse each with exit code 3. */
#include "keycompat_plugin.h"

#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static kc_status k_create(const kc_field *s, size_t n, kc_instance **out) {
    (void)s; (void)n; *out = (kc_instance *)1; return KC_OK;
}
static void k_destroy(kc_instance *i) { (void)i; }
static kc_status k_generate(kc_instance *i, const kc_field *f, size_t n, uint8_t *o, size_t *ol) {
    (void)i; (void)f; (void)n; (void)o; (void)ol; return KC_ERR_UNSUPPORTED;
}
static kc_status k_validate(kc_instance *i, const uint8_t *k, size_t kl, const kc_field *c, size_t n,
                            uint8_t *o, size_t *ol) {
    (void)i; (void)k; (void)kl; (void)c; (void)n; (void)o; (void)ol; return KC_ERR_UNSUPPORTED;
}
static size_t k_last_error(const kc_instance *i, char *b, size_t cap) { (void)i; (void)b; (void)cap; return 0; }
static kc_status k_generate_batch(kc_instance *i, const kc_generate_in *in, size_t n, uint8_t *o,
                                  size_t cap, kc_answer *a, size_t *done) {
    (void)i; (void)in; (void)n; (void)o; (void)cap; (void)a; *done = 0; return KC_ERR_UNSUPPORTED;
}
static kc_status k_validate_batch(kc_instance *i, const kc_validate_in *in, size_t n, uint8_t *o,
                                  size_t cap, kc_answer *a, size_t *done) {
    (void)i; (void)in; (void)n; (void)o; (void)cap; (void)a; *done = 0; return KC_ERR_UNSUPPORTED;
}

#ifndef BAD_NO_ENTRY
static const kc_plugin_v1 TABLE = {
#ifdef BAD_MAGIC
    0x12345678u,
#else
    KC_MAGIC,
#endif
#ifdef BAD_MAJOR
    2,
#else
    KC_ABI_MAJOR,
#endif
    KC_ABI_MINOR,
#if defined(BAD_TRUNCATED)
    (uint32_t)offsetof(kc_plugin_v1, validate),
#elif defined(BAD_BATCH_TRUNCATED)
    (uint32_t)offsetof(kc_plugin_v1, generate_batch),
#elif defined(BAD_TYPED_TRUNCATED)
    (uint32_t)offsetof(kc_plugin_v1, generate_typed),
#else
    (uint32_t)sizeof(kc_plugin_v1),
#endif
    0,
#if defined(BAD_BATCH_TRUNCATED) || defined(BAD_BATCH_NULL)
    KC_FLAG_GENERATE | KC_FLAG_VALIDATE | KC_FLAG_BATCH,
#elif defined(BAD_TYPED_TRUNCATED) || defined(BAD_TYPED_NULL)
    KC_FLAG_GENERATE | KC_FLAG_VALIDATE | KC_FLAG_BATCH | KC_FLAG_TYPED,
#else
    KC_FLAG_GENERATE | KC_FLAG_VALIDATE,
#endif
    "bad-table",
    "0.0.1",
    k_create,
    k_destroy,
#ifdef BAD_NULL_FN
    0,
#else
    k_generate,
#endif
    k_validate,
    k_last_error,
    k_generate_batch,
#ifdef BAD_BATCH_NULL
    0,
#else
    k_validate_batch,
#endif
    0, /* no ABI 1.2 typed entry points (no KC_FLAG_TYPED) */
    0,
};

EXPORT const kc_plugin_v1 *kc_plugin_entry_v1(uint32_t host_abi_minor) {
    (void)host_abi_minor;
#ifdef BAD_ENTRY_SEGV
    *(volatile int *)0 = 1; /* a real fault: raise() would return past Rust's handler */
#endif
#ifdef BAD_ENTRY_EXIT0
    _exit(0);
#endif
#ifdef BAD_NULL_TABLE
    return 0;
#else
    return &TABLE;
#endif
}
#else
EXPORT int some_other_symbol(void) { return 42; }
#endif
