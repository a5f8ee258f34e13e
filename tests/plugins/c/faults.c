/* Plugins that misbehave on a trigger, one fault per FAULT_* macro, for the
 * worker-isolation tests (tests/isolation.rs). Compiled once per fault by
 * build.rs into target/<profile>/test-plugins/lib<name>.so.
 *
 * Each is a tiny, well-behaved plugin except on its trigger:
 *   generate  answers the key "K-<serial>";
 *   validate  answers "verdict=malformed\nreason=key <key>\n" (the key is
 *             echoed when it is plain ASCII letters, digits and dashes).
 *
 * The trigger fires when
 *   generate: the entitlement field `serial` equals the setting `trigger`
 *             (default 1000), or, when the setting `every` is N > 0, when
 *             serial % N == 0 (`every=1`: on every call);
 *   validate: the same test on the number the key ends with ("key-17" is 17;
 *             a key without trailing digits never triggers);
 *   either:   with the setting `nth` = N > 0, on the Nth call of the
 *             instance, whatever its input (a fault of state built up over
 *             calls, which no input reproduces alone).
 * With the setting `thread` = 1, `create` also starts a thread that sleeps
 * for ever (as a plugin with a background thread would), so the worker's
 * plugin process cannot serve as a zygote. With the setting `create` = 1,
 * `create` itself writes through a null pointer (SIGSEGV); with 2 it sleeps
 * forever: a plugin that never finishes loading; with 3 it returns
 * KC_ERR_INTERNAL and writes nothing to stderr. With the setting
 * `huge_last_error` = 1, `last_error` writes its message and returns SIZE_MAX
 * as its length (a plugin that claims more than it wrote).
 *
 * Faults (FAULT_* macro, library name):
 *   FAULT_SEGV     segv_on_serial   write through a null pointer (SIGSEGV)
 *   FAULT_ABORT    abort_on_serial  abort() (SIGABRT)
 *   FAULT_HANG     hang_on_serial   sleep forever
 *   FAULT_SPIN     spin_on_serial   busy loop forever
 *   FAULT_NOISE    stdout_noise     print to stdout on every call, answer normally
 *   FAULT_ABSURD   absurd_length    KC_ERR_BUFFER_TOO_SMALL asking for SIZE_MAX/2 bytes
 *   FAULT_BADUTF8  bad_utf8         answer the bytes 0xFF 0xFE
 *   FAULT_STATUS   bad_status       return status 42, which is not in the ABI
 *   FAULT_EXIT     exit_on_serial   exit(0): the process ends "successfully"
 *   FAULT_SCRIBBLE scribble_fds     write garbage to every descriptor from 3 to 63
 *                                   (where a worker's protocol lives), then answer
 *   FAULT_HOG      memory_hog       allocate and touch 64 MiB at a time until an
 *                                   allocation fails, then abort() (it gives up
 *                                   at 4 GiB, saying no limit stopped it)
 *
 * Every one offers the ABI 1.1 batch entry points, which answer item by item
 * through the single calls. These break the batch protocol on the triggered
 * item of a batch (its single call answers normally):
 *   FAULT_BATCH_OFFSET batch_offset its answer lies outside the output buffer
 *   FAULT_BATCH_SHORT  batch_short  return KC_OK without answering it or later items
 *   FAULT_BATCH_LIE    batch_lie    KC_ERR_BUFFER_TOO_SMALL asking for 1 byte
 *   FAULT_BATCH_FAIL   batch_fail   fail the call there with KC_ERR_INTERNAL
 *   FAULT_BATCH_OVER   batch_over   claim more items answered than were asked
 *
 * These also offer the ABI 1.2 typed entry points (KC_FLAG_TYPED), whose
 * validate_typed answers like validate (verdict malformed, the reason as a
 * kc_str) and breaks the typed answer of the triggered key:
 *   FAULT_TYPED_OFFSET  typed_offset  its reason points just past its output
 *   FAULT_TYPED_LENGTH  typed_length  its reason is longer than the whole buffer
 *   FAULT_TYPED_UTF8    typed_utf8    its reason starts with the byte 0xFF
 *   FAULT_TYPED_VERDICT typed_verdict its verdict is 42
 *   FAULT_TYPED_DATE    typed_date    valid, decoding an issue day after 9999-12-31
 *   FAULT_TYPED_SHORT   typed_short   return KC_OK with *n_done at that item
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keycompat_plugin.h"

#define EXPORT __attribute__((visibility("default")))

#if defined(FAULT_SEGV)
#define FAULT_NAME "segv_on_serial"
#elif defined(FAULT_ABORT)
#define FAULT_NAME "abort_on_serial"
#elif defined(FAULT_EXIT)
#define FAULT_NAME "exit_on_serial"
#elif defined(FAULT_HANG)
#define FAULT_NAME "hang_on_serial"
#elif defined(FAULT_SPIN)
#define FAULT_NAME "spin_on_serial"
#elif defined(FAULT_NOISE)
#define FAULT_NAME "stdout_noise"
#elif defined(FAULT_ABSURD)
#define FAULT_NAME "absurd_length"
#elif defined(FAULT_BADUTF8)
#define FAULT_NAME "bad_utf8"
#elif defined(FAULT_STATUS)
#define FAULT_NAME "bad_status"
#elif defined(FAULT_SCRIBBLE)
#define FAULT_NAME "scribble_fds"
#elif defined(FAULT_HOG)
#define FAULT_NAME "memory_hog"
#elif defined(FAULT_BATCH_OFFSET)
#define FAULT_NAME "batch_offset"
#elif defined(FAULT_BATCH_SHORT)
#define FAULT_NAME "batch_short"
#elif defined(FAULT_BATCH_LIE)
#define FAULT_NAME "batch_lie"
#elif defined(FAULT_BATCH_FAIL)
#define FAULT_NAME "batch_fail"
#elif defined(FAULT_BATCH_OVER)
#define FAULT_NAME "batch_over"
#elif defined(FAULT_TYPED_OFFSET)
#define FAULT_NAME "typed_offset"
#define FAULT_TYPED 1
#elif defined(FAULT_TYPED_LENGTH)
#define FAULT_NAME "typed_length"
#define FAULT_TYPED 1
#elif defined(FAULT_TYPED_UTF8)
#define FAULT_NAME "typed_utf8"
#define FAULT_TYPED 1
#elif defined(FAULT_TYPED_VERDICT)
#define FAULT_NAME "typed_verdict"
#define FAULT_TYPED 1
#elif defined(FAULT_TYPED_DATE)
#define FAULT_NAME "typed_date"
#define FAULT_TYPED 1
#elif defined(FAULT_TYPED_SHORT)
#define FAULT_NAME "typed_short"
#define FAULT_TYPED 1
#else
#error "define one FAULT_* macro"
#endif

typedef struct fault_instance {
    uint64_t trigger;
    uint64_t every;
    uint64_t nth;
    uint64_t calls;
    uint64_t huge_last_error;
} fault_instance;

/* Read at run time so the compiler cannot prove the fault away. */
static volatile uintptr_t null_address = 0;
static volatile unsigned long spin_counter = 0;

static int field_is(const kc_field *f, const char *name) {
    size_t n = strlen(name);
    return f->key_len == n && memcmp(f->key, name, n) == 0;
}

/* Parses decimal digits; returns 0 on anything else or overflow. */
static int parse_u64(const uint8_t *s, size_t len, uint64_t *out) {
    uint64_t v = 0;
    if (len == 0 || len > 19) return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

static int triggered(fault_instance *inst, uint64_t value) {
    if (inst->nth > 0) return __atomic_add_fetch(&inst->calls, 1, __ATOMIC_SEQ_CST) == inst->nth;
    if (inst->every > 0) return value % inst->every == 0;
    return value == inst->trigger;
}

static void noise(const char *what) {
#ifdef FAULT_NOISE
    /* Both through stdio and straight to fd 1: either would corrupt a
     * protocol spoken on stdout. */
    printf("stdout_noise: %s called\n", what);
    fflush(stdout);
    static const char raw[] = "stdout_noise: raw write to fd 1\n";
    ssize_t ignored = write(1, raw, sizeof raw - 1);
    (void)ignored;
#else
    (void)what;
#endif
}

/* Set when a FAULT_BATCH_* trigger fired in this thread's last call, for
 * the batch entry point to act on. */
static _Thread_local int batch_fault;

/* Misbehaves as FAULT_* says. Returns 1 with the status to return in
 * *status, or 0 to let the call answer normally (FAULT_NOISE, and the
 * FAULT_BATCH_* faults, which the batch entry points act on). */
static int misbehave(uint8_t *out, size_t *out_len, kc_status *status) {
    (void)out; (void)out_len; (void)status;
#ifndef FAULT_NOISE
    fprintf(stderr, "fault plugin: " FAULT_NAME " triggered\n");
#endif
    batch_fault = 1;
#if defined(FAULT_SEGV)
    *(volatile int *)null_address = 42;
    *status = KC_ERR_INTERNAL;
    return 1;
#elif defined(FAULT_ABORT)
    abort();
#elif defined(FAULT_EXIT)
    exit(0);
#elif defined(FAULT_HANG)
    for (;;) sleep(1000);
#elif defined(FAULT_SPIN)
    for (;;) spin_counter++;
#elif defined(FAULT_ABSURD)
    *out_len = SIZE_MAX / 2;
    *status = KC_ERR_BUFFER_TOO_SMALL;
    return 1;
#elif defined(FAULT_BADUTF8)
    if (*out_len < 2) {
        *out_len = 2;
        *status = KC_ERR_BUFFER_TOO_SMALL;
        return 1;
    }
    out[0] = 0xFF;
    out[1] = 0xFE;
    *out_len = 2;
    *status = KC_OK;
    return 1;
#elif defined(FAULT_STATUS)
    *status = 42;
    return 1;
#elif defined(FAULT_HOG)
    size_t total = 0;
    for (;;) {
        const size_t chunk = (size_t)64 << 20;
        char *p = malloc(chunk);
        if (p == NULL) {
            fprintf(stderr, "fault plugin: memory_hog: out of memory after %zu MiB\n", total >> 20);
            abort();
        }
        memset(p, 1, chunk);
        total += chunk;
        if (total >= ((size_t)4 << 30)) {
            /* A test without a working limit fails instead of taking the machine. */
            fprintf(stderr, "fault plugin: memory_hog: no memory limit stopped it at %zu MiB\n",
                    total >> 20);
            abort();
        }
    }
#elif defined(FAULT_SCRIBBLE)
    static const char junk[] = "\xde\xad\xbe\xef scribbled by a plugin";
    for (int fd = 3; fd < 64; fd++) {
        ssize_t ignored = write(fd, junk, sizeof junk - 1);
        (void)ignored;
    }
#endif
    return 0; /* answer normally; unreachable for the faults that never return */
}

static kc_status answer(const char *text, size_t len, uint8_t *out, size_t *out_len) {
    if (*out_len < len) {
        *out_len = len;
        return KC_ERR_BUFFER_TOO_SMALL;
    }
    memcpy(out, text, len);
    *out_len = len;
    return KC_OK;
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) sleep(1000);
    return NULL;
}

static kc_status f_create(const kc_field *settings, size_t n, kc_instance **out) {
    fault_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return KC_ERR_INTERNAL;
    inst->trigger = 1000;
    uint64_t thread = 0, create_fault = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t *target = field_is(&settings[i], "trigger") ? &inst->trigger
                           : field_is(&settings[i], "every") ? &inst->every
                           : field_is(&settings[i], "nth")   ? &inst->nth
                           : field_is(&settings[i], "thread") ? &thread
                           : field_is(&settings[i], "create") ? &create_fault
                           : field_is(&settings[i], "huge_last_error") ? &inst->huge_last_error
                                                              : NULL;
        if (target && !parse_u64(settings[i].val, settings[i].val_len, target)) {
            fprintf(stderr, "fault plugin: setting `%.*s` is not a decimal number\n",
                    (int)settings[i].key_len, settings[i].key);
            free(inst);
            return KC_ERR_BAD_ARGUMENT;
        }
    }
    if (create_fault == 1) {
        fprintf(stderr, "fault plugin: crashing in create\n");
        fflush(stderr);
        volatile int *null = NULL;
        *null = 1;
    }
    if (create_fault == 2) {
        for (;;) sleep(1000);
    }
    if (create_fault == 3) {
        free(inst);
        return KC_ERR_INTERNAL;
    }
    pthread_t t;
    if (thread && pthread_create(&t, NULL, sleeper, NULL) == 0) pthread_detach(t);
    *out = (kc_instance *)inst;
    return KC_OK;
}

static void f_destroy(kc_instance *inst) { free(inst); }

static kc_status f_generate(kc_instance *i, const kc_field *fields, size_t n, uint8_t *out,
                            size_t *out_len) {
    fault_instance *inst = (fault_instance *)i;
    noise("generate");
    uint64_t serial = 0;
    int have_serial = 0;
    for (size_t k = 0; k < n; k++) {
        if (field_is(&fields[k], "serial") && fields[k].val)
            have_serial = parse_u64(fields[k].val, fields[k].val_len, &serial);
    }
    if (!have_serial) return KC_ERR_BAD_ARGUMENT;
    kc_status status = KC_OK;
    if (triggered(inst, serial) && misbehave(out, out_len, &status)) return status;
    char key[32];
    int len = snprintf(key, sizeof key, "K-%llu", (unsigned long long)serial);
    return answer(key, (size_t)len, out, out_len);
}

static kc_status f_validate(kc_instance *i, const uint8_t *key, size_t key_len,
                            const kc_field *ctx, size_t n_ctx, uint8_t *out, size_t *out_len) {
    fault_instance *inst = (fault_instance *)i;
    (void)ctx; (void)n_ctx;
    noise("validate");
    size_t digits = 0;
    while (digits < key_len && key[key_len - 1 - digits] >= '0' && key[key_len - 1 - digits] <= '9')
        digits++;
    uint64_t number = 0;
    int numbered = parse_u64(key + key_len - digits, digits, &number);
    kc_status status = KC_OK;
    if (numbered && triggered(inst, number) && misbehave(out, out_len, &status)) return status;
    int plain = key_len > 0 && key_len <= 64;
    for (size_t k = 0; plain && k < key_len; k++) {
        uint8_t c = key[k];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    }
    char text[128];
    int len = plain ? snprintf(text, sizeof text, "verdict=malformed\nreason=key %.*s\n", (int)key_len,
                               (const char *)key)
                    : snprintf(text, sizeof text, "verdict=malformed\nreason=other\n");
    return answer(text, (size_t)len, out, out_len);
}

static size_t f_last_error(const kc_instance *i, char *buf, size_t cap) {
    static const char msg[] = "fault plugin: bad argument";
    size_t n = sizeof msg - 1;
    memcpy(buf, msg, n < cap ? n : cap);
    return ((const fault_instance *)i)->huge_last_error ? SIZE_MAX : n;
}

/* One item of a batch through the single call, into out[used..cap]. */
typedef kc_status (*one_fn)(kc_instance *i, const void *item, uint8_t *out, size_t *out_len);

static kc_status generate_one(kc_instance *i, const void *item, uint8_t *out, size_t *out_len) {
    const kc_generate_in *in = item;
    return f_generate(i, in->fields, in->n_fields, out, out_len);
}

static kc_status validate_one(kc_instance *i, const void *item, uint8_t *out, size_t *out_len) {
    const kc_validate_in *in = item;
    return f_validate(i, in->key, in->key_len, in->context, in->n_context, out, out_len);
}

static kc_status batch(kc_instance *i, const void *items, size_t item_size, size_t n, one_fn one,
                       uint8_t *out, size_t cap, kc_answer *answers, size_t *n_done) {
    static const char msg[] = "fault plugin: bad argument";
    size_t used = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len = cap - used;
        batch_fault = 0;
        kc_status s = one(i, (const char *)items + k * item_size, len ? out + used : NULL, &len);
        if (s == KC_ERR_BUFFER_TOO_SMALL) {
            answers[k].len = len;
            *n_done = k;
            return KC_ERR_BUFFER_TOO_SMALL;
        }
        if (s != KC_OK) {
            len = sizeof msg - 1;
            if (cap - used < len) {
                answers[k].len = len;
                *n_done = k;
                return KC_ERR_BUFFER_TOO_SMALL;
            }
            memcpy(out + used, msg, len);
        }
        answers[k].status = s;
        answers[k].offset = used;
        answers[k].len = len;
        used += len;
        if (batch_fault) {
#if defined(FAULT_BATCH_OFFSET)
            answers[k].offset = cap + 1;
#elif defined(FAULT_BATCH_SHORT)
            *n_done = k;
            return KC_OK;
#elif defined(FAULT_BATCH_LIE)
            answers[k].len = 1;
            *n_done = k;
            return KC_ERR_BUFFER_TOO_SMALL;
#elif defined(FAULT_BATCH_FAIL)
            *n_done = k;
            return KC_ERR_INTERNAL;
#elif defined(FAULT_BATCH_OVER)
            *n_done = n + 5;
            return KC_OK;
#endif
        }
    }
    *n_done = n;
    return KC_OK;
}

static kc_status f_generate_batch(kc_instance *i, const kc_generate_in *items, size_t n,
                                  uint8_t *out, size_t cap, kc_answer *answers, size_t *n_done) {
    return batch(i, items, sizeof *items, n, generate_one, out, cap, answers, n_done);
}

static kc_status f_validate_batch(kc_instance *i, const kc_validate_in *items, size_t n,
                                  uint8_t *out, size_t cap, kc_answer *answers, size_t *n_done) {
    return batch(i, items, sizeof *items, n, validate_one, out, cap, answers, n_done);
}

#ifdef FAULT_TYPED
/* generate_typed: the key "K-<serial>", as generate answers. */
static kc_status f_generate_typed(kc_instance *i, const kc_entitlement *items, size_t n,
                                  uint8_t *out, size_t cap, kc_answer *answers, size_t *n_done) {
    size_t used = 0;
    (void)i;
    for (size_t k = 0; k < n; k++) {
        char key[32];
        size_t len = (size_t)snprintf(key, sizeof key, "K-%lu", (unsigned long)items[k].serial);
        if (cap - used < len) {
            answers[k].len = len;
            *n_done = k;
            return KC_ERR_BUFFER_TOO_SMALL;
        }
        memcpy(out + used, key, len);
        answers[k].status = KC_OK;
        answers[k].reserved = 0;
        answers[k].offset = used;
        answers[k].len = len;
        used += len;
    }
    *n_done = n;
    return KC_OK;
}

/* validate_typed: verdict malformed with validate's reason, broken on the
 * trigger as FAULT_TYPED_* says. */
static kc_status f_validate_typed(kc_instance *i, const kc_validate_typed_in *items, size_t n,
                                  uint8_t *out, size_t cap, kc_answer *answers,
                                  kc_validation *results, size_t *n_done) {
    fault_instance *inst = (fault_instance *)i;
    size_t used = 0;
    for (size_t k = 0; k < n; k++) {
        const uint8_t *key = items[k].key;
        size_t key_len = items[k].key_len;
        size_t digits = 0;
        while (digits < key_len && key[key_len - 1 - digits] >= '0' && key[key_len - 1 - digits] <= '9')
            digits++;
        uint64_t number = 0;
        int fire = parse_u64(key + key_len - digits, digits, &number) && triggered(inst, number);
        int plain = key_len > 0 && key_len <= 64;
        for (size_t c = 0; plain && c < key_len; c++) {
            uint8_t b = key[c];
            plain = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-';
        }
        char text[96];
        size_t len = plain ? (size_t)snprintf(text, sizeof text, "key %.*s", (int)key_len, (const char *)key)
                           : (size_t)snprintf(text, sizeof text, "other");
        if (cap - used < len) {
            answers[k].len = len;
            *n_done = k;
            return KC_ERR_BUFFER_TOO_SMALL;
        }
        memcpy(out + used, text, len);
        kc_validation *r = &results[k];
        memset(r, 0, sizeof *r);
        r->verdict = KC_VERDICT_MALFORMED;
        r->flags = KC_RESULT_REASON;
        r->reason.ptr = out + used;
        r->reason.len = len;
        answers[k].status = KC_OK;
        answers[k].reserved = 0;
        answers[k].offset = used;
        answers[k].len = len;
        if (fire) {
            fprintf(stderr, "fault plugin: " FAULT_NAME " triggered\n");
#if defined(FAULT_TYPED_OFFSET)
            r->reason.ptr = out + used + len;
#elif defined(FAULT_TYPED_LENGTH)
            r->reason.len = cap + 4096;
#elif defined(FAULT_TYPED_UTF8)
            out[used] = 0xFF;
#elif defined(FAULT_TYPED_VERDICT)
            r->verdict = 42;
#elif defined(FAULT_TYPED_DATE)
            r->verdict = KC_VERDICT_VALID;
            r->carried = KC_HAS_ISSUED;
            r->decoded.has = KC_HAS_ISSUED;
            r->decoded.issued = KC_DAY_MAX + 1;
#elif defined(FAULT_TYPED_SHORT)
            *n_done = k;
            return KC_OK;
#endif
        }
        used += len;
    }
    *n_done = n;
    return KC_OK;
}
#define TYPED_FLAG KC_FLAG_TYPED
#define GENERATE_TYPED f_generate_typed
#define VALIDATE_TYPED f_validate_typed
#else
#define TYPED_FLAG 0
#define GENERATE_TYPED NULL
#define VALIDATE_TYPED NULL
#endif

static const kc_plugin_v1 TABLE = {
    KC_MAGIC,
    KC_ABI_MAJOR,
    KC_ABI_MINOR,
    (uint32_t)sizeof(kc_plugin_v1),
    0,
    KC_FLAG_THREAD_SAFE | KC_FLAG_GENERATE | KC_FLAG_VALIDATE | KC_FLAG_BATCH | TYPED_FLAG,
    FAULT_NAME,
    "0.0.1",
    f_create,
    f_destroy,
    f_generate,
    f_validate,
    f_last_error,
    f_generate_batch,
    f_validate_batch,
    GENERATE_TYPED,
    VALIDATE_TYPED,
};

EXPORT const kc_plugin_v1 *kc_plugin_entry_v1(uint32_t host_abi_minor) {
    (void)host_abi_minor;
    return &TABLE;
}
