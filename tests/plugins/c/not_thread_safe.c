/* A plugin that does NOT declare KC_FLAG_THREAD_SAFE and notices if the host
 * calls it from two threads at once: each call holds a global "busy" flag for
 * a millisecond; a call that finds it set answers "verdict=valid" (which no
 * honest answer here is), so the test can see the overlap.
 *
 * Its table is an ABI 1.0 table, as a plugin built before 1.1 has: minor 0,
 * and a struct_size that ends at last_error. */
#define _POSIX_C_SOURCE 199309L
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include "keycompat_plugin.h"

#define EXPORT __attribute__((visibility("default")))

static atomic_int busy;

static kc_status t_create(const kc_field *s, size_t n, kc_instance **out) {
    (void)s; (void)n; *out = (kc_instance *)1; return KC_OK;
}
static void t_destroy(kc_instance *i) { (void)i; }
static kc_status t_generate(kc_instance *i, const kc_field *f, size_t n, uint8_t *o, size_t *ol) {
    (void)i; (void)f; (void)n; (void)o; (void)ol; return KC_ERR_UNSUPPORTED;
}
static kc_status t_validate(kc_instance *i, const uint8_t *k, size_t kl, const kc_field *c, size_t n,
                            uint8_t *o, size_t *ol) {
    (void)i; (void)k; (void)kl; (void)c; (void)n;
    int overlapped = atomic_exchange(&busy, 1);
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, 0);
    if (!overlapped) atomic_store(&busy, 0);
    const char *answer = overlapped ? "verdict=valid\n" : "verdict=malformed\n";
    size_t len = strlen(answer);
    if (*ol < len) { *ol = len; return KC_ERR_BUFFER_TOO_SMALL; }
    memcpy(o, answer, len);
    *ol = len;
    return KC_OK;
}
static size_t t_last_error(const kc_instance *i, char *b, size_t cap) { (void)i; (void)b; (void)cap; return 0; }

static const kc_plugin_v1 TABLE = {
    KC_MAGIC, KC_ABI_MAJOR, 0, (uint32_t)offsetof(kc_plugin_v1, generate_batch), 0,
    KC_FLAG_VALIDATE, /* not thread-safe */
    "not-thread-safe", "0.0.1",
    t_create, t_destroy, t_generate, t_validate, t_last_error, 0, 0, 0, 0,
};

EXPORT const kc_plugin_v1 *kc_plugin_entry_v1(uint32_t host_abi_minor) {
    (void)host_abi_minor;
    return &TABLE;
}
