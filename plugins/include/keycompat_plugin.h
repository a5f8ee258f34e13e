/*
 * keycompat_plugin.h -- the keycompat plugin ABI, version 1.2.
 *
 * This header is the ABI of record. A plugin is a shared library that exports
 * exactly one symbol, `kc_plugin_entry_v1`, returning a pointer to a static
 * `kc_plugin_v1` table. Everything else is reached through that table.
 *
 * Written so that a C vendor needs nothing but this header: no JSON, no TOML,
 * no allocation that crosses the boundary.
 *
 * RULES
 *
 * - Status codes are int32_t (kc_status). The host treats any value not listed
 *   below as a protocol violation (reported as a `crash` finding).
 * - Bytes cross as pointer + length. Strings are UTF-8 and NOT NUL-terminated,
 *   except the static `name` and `version` of the table.
 * - Outputs go into a caller-owned buffer: on entry `*out_len` is the buffer's
 *   capacity; on KC_OK it is set to the bytes written; on
 *   KC_ERR_BUFFER_TOO_SMALL it is set to the bytes required and the host
 *   retries with a buffer at least that large. `out` may be NULL when the
 *   capacity is 0 (a size query). Nothing written by the plugin is ever freed
 *   by the host, and nothing written by the host is ever freed by the plugin.
 * - Functions must not throw C++ exceptions, longjmp across the boundary, or
 *   call exit(). They may be called from any thread, but see the flags.
 * - Plugins must not read the clock or the machine's host id: everything a
 *   validator needs arrives in the context fields, so results reproduce.
 * - The host never unloads a plugin (no dlclose).
 *
 * FIELDS (kc_field): how an entitlement, a settings table and a validation
 * context cross the boundary. An array of key/value pairs of UTF-8 bytes. A
 * field that is absent is null. Keys are listed below; a plugin ignores keys it
 * does not know.
 *
 *   entitlement (generate input):
 *     product            product slug, e.g. "acme-cad"
 *     edition            "trial" | "standard" | "professional" | "enterprise"
 *     max_major          decimal 0-255
 *     features           feature slugs joined by ',' in byte order ("" = none)
 *     seats              decimal >= 1; absent = unlimited
 *     issued             YYYY-MM-DD
 *     expires            YYYY-MM-DD, last valid day (UTC); absent = perpetual
 *     maintenance_until  YYYY-MM-DD; absent = none
 *     serial             decimal 0 - 4294967295
 *     customer_id        string; absent = none (then customer_name is absent too)
 *     customer_name      string
 *     order_id           string; absent = none
 *     host_id            string; absent = not node-locked
 *
 *   context (validate input):
 *     product            product slug of the running product
 *     version            "MAJOR.MINOR" of the running product
 *     today              YYYY-MM-DD (UTC)
 *     host_id            the machine's host id; absent = none
 *
 *   settings (create input): plugin-specific, from keycompat.toml, e.g.
 *     "secret" for acme-lk1. Values are strings.
 *
 * DECODE (validate output): UTF-8 text, one record per line ('\n'), in the
 * order below. Each line is `key=value`, or a bare `key` meaning the field is
 * present and null. A field the key's format does not carry is left out; a
 * field it carries whose value is none is written bare (acme-lk1 carries no
 * issued, maintenance_until, customer or order_id: left out; it carries "not
 * node-locked": a bare `host_id`). keycompat compares the decode field by
 * field with what was issued, but only the fields it carries: leaving out a
 * field the format carries hides it from ROUNDTRIP, and is reported by
 * VECTOR (the vectors hold each key's exact decode), by BACKWARD (the new
 * system's validator must carry every field the old one's decode of its
 * own key carries) and by FORWARD (a shipped release's validator, every
 * field the new system's own decode of its key carries).
 *
 *   verdict=<valid|malformed|bad_signature|unsupported_format|wrong_product|
 *            version_not_covered|expired|host_mismatch>      (always first)
 *   format=<format name, e.g. acme-lk1>          (when the format was recognised;
 *            for the Acme formats: every verdict but malformed, bad_signature
 *            and unsupported_format)
 *   reason=<free text>                             (optional, for humans)
 *   then, when the key decoded (always for valid, wrong_product,
 *   version_not_covered, expired and host_mismatch), the entitlement fields
 *   with the names and value forms of the entitlement input above, in any
 *   order (`features` sorted by byte order, "" = none); `customer` is written
 *   as customer_id/customer_name. A product the validator cannot name (an
 *   unknown legacy product id in a key whose MAC verifies) is written
 *   `product=legacy-id-N` with the id.
 *
 *   Values escape '\\' as "\\\\", LF as "\\n", CR as "\\r", NUL as "\\0";
 *   in `features`, a ',' inside a name is written "\\,". Values that can only
 *   be slugs, numbers and dates (all acme-lk1 fields) never need escaping.
 *
 * GENERATE (generate output): the key as UTF-8 bytes. keycompat only asks
 * for entitlements that are valid against its catalog (known product,
 * edition and features, fields within their documented ranges); a plugin
 * holds what it needs of the catalog itself (settings carry no catalog).
 * It checks its input all the same: anything malformed is
 * KC_ERR_BAD_ARGUMENT, never a crash. When the entitlement
 * cannot be expressed in the plugin's format, return KC_REFUSED and make
 * last_error return "<field>: <reason>", naming the entitlement field (e.g.
 * "seats: 2000 is more than acme-lk1 can carry (1023)"). Never wrap, truncate
 * or silently drop a field the format carries; fields it does not carry at
 * all (acme-lk1: issued, maintenance_until, customer, order_id) are ignored.
 *
 * create: for a missing or malformed setting, write a line naming it to
 * stderr (there is no instance yet to ask last_error) and return
 * KC_ERR_BAD_ARGUMENT; keycompat stops with exit code 3 before any case
 * runs, pointing at that line.
 *
 * BATCHES (ABI 1.1, KC_FLAG_BATCH): generate_batch and validate_batch answer
 * n items in one call, each exactly as one call of generate / validate would,
 * so the per-call cost of the boundary (locking an instance, sizing a buffer,
 * asking last_error) is paid once per batch. A host that knows them calls them
 * instead of generate / validate; generate and validate must still work (a
 * 1.0 host, or a host isolating one suspect item, calls them). The host sets
 * every answers[i] to zero before the call.
 *
 *   answers[i].status   what the single call would return for item i: KC_OK,
 *                       KC_REFUSED (generate only), KC_ERR_BAD_ARGUMENT,
 *                       KC_ERR_UNSUPPORTED, KC_ERR_INTERNAL or KC_ERR_PANIC;
 *                       never KC_ERR_BUFFER_TOO_SMALL.
 *   answers[i].offset, answers[i].len
 *                       item i's output, at out[offset .. offset+len], within
 *                       the out_cap bytes of `out`: on KC_OK the key
 *                       (generate) or the DECODE text (validate); for any
 *                       other status the message last_error would have given
 *                       (for KC_REFUSED, "<field>: <reason>" as above).
 *   answers[i].reserved 0.
 *
 *   The call returns
 *   KC_OK                    every item is answered; *n_done = n.
 *   KC_ERR_BUFFER_TOO_SMALL  the output of item *n_done does not fit in what
 *                            is left of `out`: items 0 .. *n_done-1 are
 *                            answered, and answers[*n_done].len holds the bytes
 *                            item *n_done needs (its status and offset are
 *                            not read). The host calls again with the
 *                            items from *n_done on and a buffer at least that
 *                            large (the plugin may compute that item again).
 *   anything else            the call failed at item *n_done (last_error says
 *                            why): items before it keep their answers, item
 *                            *n_done gets this failure, and the host calls
 *                            again with the items after it.
 *
 *   The simplest correct plugin writes each output right after the previous
 *   one: see generate_batch and validate_batch in plugins/acme-lk1-c.
 *
 * TYPED (ABI 1.2, KC_FLAG_TYPED): generate_typed and validate_typed answer
 * batches like the BATCHES above, but the entitlement, the context and the
 * decode cross as fixed-layout structs instead of kc_field text and DECODE
 * lines, so neither side formats or parses numbers, dates and lists. A host
 * that knows them prefers them to the batch and single calls; generate,
 * validate, generate_batch and validate_batch must still work.
 *
 *   kc_str               `len` UTF-8 bytes at `ptr` (not NUL-terminated);
 *                        `ptr` may be NULL only when `len` is 0.
 *   dates                int32_t days since 1970-01-01 (proleptic Gregorian,
 *                        UTC; 1970-01-02 is 1, 1969-12-31 is -1), within
 *                        KC_DAY_MIN (0000-01-01) .. KC_DAY_MAX (9999-12-31).
 *   kc_entitlement.has   KC_HAS_* bits of the fields that have a value. In
 *                        an input the required fields (KC_HAS_REQUIRED) are
 *                        always set; a clear optional bit means none
 *                        (seats: unlimited, expires: perpetual, customer,
 *                        order_id, host_id: none; the field's value is then
 *                        0 / empty and must be ignored). KC_HAS_CUSTOMER
 *                        covers customer_id and customer_name together.
 *   features             n_features kc_str, the feature slugs in byte order
 *                        without duplicates; `features` may be NULL when
 *                        n_features is 0.
 *   reserved fields      0.
 *
 *   A plugin checks typed input as it checks text: a bit outside KC_HAS_ALL,
 *   a required field missing, invalid UTF-8, a date outside the range or a
 *   reserved byte not 0 is KC_ERR_BAD_ARGUMENT for that item.
 *
 *   generate_typed       exactly generate_batch, with items[i] the
 *                        entitlement: answers[i] and out hold the key (or
 *                        the message), as in BATCHES.
 *   validate_typed       exactly validate_batch, with items[i] the key and a
 *                        pointer to its context (items may share one), and
 *                        one more array, results[n], zeroed by the host. On
 *                        answers[i].status KC_OK, results[i] is the decode:
 *     results[i].verdict   KC_VERDICT_*.
 *     results[i].flags     KC_RESULT_FORMAT when `format` is set (when it is
 *                          for the DECODE text), KC_RESULT_REASON when
 *                          `reason` is set.
 *     results[i].carried   KC_HAS_* bits of the fields the key's format
 *                          carries, when the key decoded (as for the DECODE
 *                          text: only the verdicts that decode may carry
 *                          fields); 0 when it did not.
 *     results[i].decoded   the decoded entitlement: decoded.has holds the
 *                          carried fields that have a value, a subset of
 *                          `carried`. A required field (KC_HAS_REQUIRED)
 *                          that the format carries always has a value (its
 *                          bit is in both); one it does not carry is in
 *                          neither (acme-lk1: issued). A carried optional
 *                          field without its `has` bit is carried as none
 *                          (acme-lk1: a bare host_id). A product the
 *                          validator cannot name is "legacy-id-N" as in
 *                          DECODE.
 *     every kc_str of results[i] (format, reason, the decoded strings and
 *     each feature) and the features array itself lie within the item's
 *     output, out[answers[i].offset .. answers[i].offset + answers[i].len];
 *     the features array is aligned for kc_str: `out` itself is (the host
 *     allocates it so), and an item may leave padding before its array,
 *     counted in answers[i].len and in a size asked for with
 *     KC_ERR_BUFFER_TOO_SMALL (the worst case, 7 bytes more, is fine). The
 *     host checks every
 *     pointer, length, bit, enum value, date and UTF-8 string: an answer
 *     outside these rules fails that item as a protocol violation.
 *     For any other status, out[offset .. offset+len] is the message as in
 *     BATCHES and results[i] is ignored.
 *
 *   The simplest correct plugin writes each item's strings, then its
 *   features array, right after the previous item's output: see
 *   validate_typed in plugins/acme-lk1-c.
 */
#ifndef KEYCOMPAT_PLUGIN_H
#define KEYCOMPAT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KC_ABI_MAJOR 1u
#define KC_ABI_MINOR 2u
#define KC_MAGIC 0x4B43504Cu /* "KCPL" */

/* The name of the one exported symbol. */
#define KC_ENTRY_SYMBOL_V1 "kc_plugin_entry_v1"

typedef int32_t kc_status; /* never a C enum across the boundary */
#define KC_OK 0
#define KC_REFUSED 1                /* generate: entitlement not expressible; see last_error */
#define KC_ERR_BUFFER_TOO_SMALL (-1) /* *out_len now holds the size required */
#define KC_ERR_BAD_ARGUMENT (-2)     /* malformed fields or settings; see last_error */
#define KC_ERR_UNSUPPORTED (-3)      /* capability not offered (e.g. generate on a validator) */
#define KC_ERR_INTERNAL (-4)         /* anything else; see last_error */
#define KC_ERR_PANIC (-5)            /* Rust plugins: a panic was caught at the boundary */

#define KC_FLAG_THREAD_SAFE (1ull << 0)   /* distinct instances may be used concurrently */
#define KC_FLAG_INSTANCE_SYNC (1ull << 1) /* ...and one instance from many threads at once */
#define KC_FLAG_GENERATE (1ull << 2)      /* generate is implemented */
#define KC_FLAG_VALIDATE (1ull << 3)      /* validate is implemented */
#define KC_FLAG_BATCH (1ull << 4)         /* ABI 1.1: generate_batch and validate_batch are set */
#define KC_FLAG_TYPED (1ull << 5)         /* ABI 1.2: generate_typed and validate_typed are set */
/* A host ignores flags it does not know: a 1.0 host never reads the 1.1 fields. */

/* Opaque, owned by the plugin. */
typedef struct kc_instance kc_instance;

typedef struct kc_field {
    const char *key;
    size_t key_len;
    const uint8_t *val;
    size_t val_len;
} kc_field;

/* ABI 1.1: one item of generate_batch (the entitlement's fields). */
typedef struct kc_generate_in {
    const kc_field *fields;
    size_t n_fields;
} kc_generate_in;

/* ABI 1.1: one item of validate_batch (the key bytes and the context). */
typedef struct kc_validate_in {
    const uint8_t *key;
    size_t key_len;
    const kc_field *context;
    size_t n_context;
} kc_validate_in;

/* ABI 1.1: the answer to one item of a batch (see BATCHES above). */
typedef struct kc_answer {
    kc_status status;
    uint32_t reserved; /* 0 */
    size_t offset;     /* the item's output starts at out[offset] */
    size_t len;        /* its length in bytes */
} kc_answer;

/* ---- ABI 1.2: the typed boundary (see TYPED above) ---- */

/* UTF-8 bytes, not NUL-terminated; ptr may be NULL when len is 0. */
typedef struct kc_str {
    const uint8_t *ptr;
    size_t len;
} kc_str;

/* kc_entitlement.has, kc_validation.carried: one bit per entitlement field. */
#define KC_HAS_PRODUCT (1u << 0)
#define KC_HAS_EDITION (1u << 1)
#define KC_HAS_MAX_MAJOR (1u << 2)
#define KC_HAS_FEATURES (1u << 3)
#define KC_HAS_SEATS (1u << 4)
#define KC_HAS_ISSUED (1u << 5)
#define KC_HAS_EXPIRES (1u << 6)
#define KC_HAS_MAINTENANCE_UNTIL (1u << 7)
#define KC_HAS_SERIAL (1u << 8)
#define KC_HAS_CUSTOMER (1u << 9) /* customer_id and customer_name */
#define KC_HAS_ORDER_ID (1u << 10)
#define KC_HAS_HOST_ID (1u << 11)
#define KC_HAS_ALL 0xFFFu
/* The fields that always have a value when given or carried. */
#define KC_HAS_REQUIRED (KC_HAS_PRODUCT | KC_HAS_EDITION | KC_HAS_MAX_MAJOR | \
                         KC_HAS_FEATURES | KC_HAS_ISSUED | KC_HAS_SERIAL)

/* Dates: days since 1970-01-01, from 0000-01-01 to 9999-12-31 inclusive. */
#define KC_DAY_MIN (-719528)
#define KC_DAY_MAX 2932896

/* kc_validation.verdict, in the order of DECODE's verdict names. */
#define KC_VERDICT_VALID 0
#define KC_VERDICT_MALFORMED 1
#define KC_VERDICT_BAD_SIGNATURE 2
#define KC_VERDICT_UNSUPPORTED_FORMAT 3
#define KC_VERDICT_WRONG_PRODUCT 4
#define KC_VERDICT_VERSION_NOT_COVERED 5
#define KC_VERDICT_EXPIRED 6
#define KC_VERDICT_HOST_MISMATCH 7

/* kc_validation.flags */
#define KC_RESULT_FORMAT (1u << 0) /* `format` is set */
#define KC_RESULT_REASON (1u << 1) /* `reason` is set */

/* An entitlement: the generate_typed input, and a decode's fields. */
typedef struct kc_entitlement {
    uint32_t has;               /* KC_HAS_* with a value (see TYPED) */
    uint32_t serial;            /* 0 - 4294967295 */
    uint32_t seats;             /* >= 1 with KC_HAS_SEATS, else 0 (unlimited) */
    int32_t issued;             /* day of issue (days since 1970-01-01) */
    int32_t expires;            /* last valid day, with KC_HAS_EXPIRES */
    int32_t maintenance_until;  /* with KC_HAS_MAINTENANCE_UNTIL */
    uint8_t max_major;          /* 0-255 */
    uint8_t reserved[7];        /* 0 */
    kc_str product;             /* product slug */
    kc_str edition;             /* "trial" | "standard" | "professional" | "enterprise" */
    const kc_str *features;     /* n_features feature slugs, byte order */
    size_t n_features;
    kc_str customer_id;         /* with KC_HAS_CUSTOMER */
    kc_str customer_name;       /* with KC_HAS_CUSTOMER */
    kc_str order_id;            /* with KC_HAS_ORDER_ID */
    kc_str host_id;             /* with KC_HAS_HOST_ID: node-locked to it */
} kc_entitlement;

/* A validation context (see FIELDS, context). */
typedef struct kc_context {
    uint32_t has;               /* KC_HAS_HOST_ID when host_id is set, else 0 */
    uint32_t version_major;     /* the running product's "MAJOR.MINOR" */
    uint32_t version_minor;
    int32_t today;              /* days since 1970-01-01 (UTC) */
    kc_str product;             /* product slug of the running product */
    kc_str host_id;             /* with KC_HAS_HOST_ID */
} kc_context;

/* One item of validate_typed: the key bytes and its context. */
typedef struct kc_validate_typed_in {
    const uint8_t *key;
    size_t key_len;
    const kc_context *context;  /* never NULL; items may share one */
} kc_validate_typed_in;

/* The typed answer to one item of validate_typed (see TYPED). */
typedef struct kc_validation {
    int32_t verdict;            /* KC_VERDICT_* */
    uint32_t flags;             /* KC_RESULT_* */
    uint32_t carried;           /* KC_HAS_* the format carries; 0 if not decoded */
    uint32_t reserved;          /* 0 */
    kc_str format;              /* with KC_RESULT_FORMAT, e.g. "acme-lk1" */
    kc_str reason;              /* with KC_RESULT_REASON, free text */
    kc_entitlement decoded;     /* the carried fields */
} kc_validation;

typedef struct kc_plugin_v1 {
    uint32_t magic;       /* KC_MAGIC */
    uint16_t abi_major;   /* KC_ABI_MAJOR; the host refuses any other */
    uint16_t abi_minor;   /* the plugin's minor; the host reads only fields within struct_size */
    uint32_t struct_size; /* sizeof(kc_plugin_v1) as the plugin was compiled */
    uint32_t reserved0;   /* explicit padding, must be 0 */
    uint64_t flags;       /* KC_FLAG_* */
    const char *name;     /* static, NUL-terminated UTF-8, e.g. "acme-lk1-c" */
    const char *version;  /* static, NUL-terminated UTF-8, e.g. "1.0.0" */

    /* Create an instance from settings. On failure return a status and leave
     * *out NULL; a message may be written to stderr. */
    kc_status (*create)(const kc_field *settings, size_t n_settings, kc_instance **out);
    void (*destroy)(kc_instance *inst);

    /* Entitlement fields in, key bytes out. */
    kc_status (*generate)(kc_instance *inst, const kc_field *entitlement, size_t n_fields,
                          uint8_t *out, size_t *out_len);

    /* Key bytes and context fields in, DECODE text out. A rejected key is a
     * normal outcome: return KC_OK with the verdict in the output. */
    kc_status (*validate)(kc_instance *inst, const uint8_t *key, size_t key_len,
                          const kc_field *context, size_t n_context,
                          uint8_t *out, size_t *out_len);

    /* The message of the last failed call on this instance (not
     * NUL-terminated). Writes at most `cap` bytes and returns the full length. */
    size_t (*last_error)(const kc_instance *inst, char *buf, size_t cap);

    /* ---- ABI 1.1: read by the host only when struct_size covers them and
     * flags has KC_FLAG_BATCH, which requires both to be set ---- */

    /* n entitlements in, n answers out (see BATCHES above). */
    kc_status (*generate_batch)(kc_instance *inst, const kc_generate_in *items, size_t n,
                                uint8_t *out, size_t out_cap, kc_answer *answers,
                                size_t *n_done);

    /* n (key, context) pairs in, n answers out (see BATCHES above). */
    kc_status (*validate_batch)(kc_instance *inst, const kc_validate_in *items, size_t n,
                                uint8_t *out, size_t out_cap, kc_answer *answers,
                                size_t *n_done);

    /* ---- ABI 1.2: read by the host only when struct_size covers them and
     * flags has KC_FLAG_TYPED, which requires both to be set ---- */

    /* n typed entitlements in, n answers out (see TYPED above). */
    kc_status (*generate_typed)(kc_instance *inst, const kc_entitlement *items, size_t n,
                                uint8_t *out, size_t out_cap, kc_answer *answers,
                                size_t *n_done);

    /* n (key, typed context) pairs in, n answers and n typed results out. */
    kc_status (*validate_typed)(kc_instance *inst, const kc_validate_typed_in *items, size_t n,
                                uint8_t *out, size_t out_cap, kc_answer *answers,
                                kc_validation *results, size_t *n_done);

    /* ---- fields of ABI 1.3 and later are appended here only ---- */
} kc_plugin_v1;

/* Layout checks: the host carries the same assertions in Rust. */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(offsetof(kc_plugin_v1, magic) == 0, "kc_plugin_v1.magic");
_Static_assert(offsetof(kc_plugin_v1, abi_major) == 4, "kc_plugin_v1.abi_major");
_Static_assert(offsetof(kc_plugin_v1, abi_minor) == 6, "kc_plugin_v1.abi_minor");
_Static_assert(offsetof(kc_plugin_v1, struct_size) == 8, "kc_plugin_v1.struct_size");
_Static_assert(offsetof(kc_plugin_v1, flags) == 16, "kc_plugin_v1.flags");
_Static_assert(offsetof(kc_plugin_v1, name) == 24, "kc_plugin_v1.name");
_Static_assert(offsetof(kc_plugin_v1, create) == 24 + 2 * sizeof(void *), "kc_plugin_v1.create");
_Static_assert(offsetof(kc_plugin_v1, last_error) == 24 + 6 * sizeof(void *), "kc_plugin_v1.last_error");
_Static_assert(offsetof(kc_plugin_v1, generate_batch) == 24 + 7 * sizeof(void *), "kc_plugin_v1.generate_batch");
_Static_assert(offsetof(kc_plugin_v1, validate_batch) == 24 + 8 * sizeof(void *), "kc_plugin_v1.validate_batch");
_Static_assert(offsetof(kc_plugin_v1, generate_typed) == 24 + 9 * sizeof(void *), "kc_plugin_v1.generate_typed");
_Static_assert(offsetof(kc_plugin_v1, validate_typed) == 24 + 10 * sizeof(void *), "kc_plugin_v1.validate_typed");
_Static_assert(sizeof(kc_plugin_v1) == 24 + 11 * sizeof(void *), "sizeof kc_plugin_v1");
_Static_assert(sizeof(kc_field) == 4 * sizeof(void *), "sizeof kc_field");
_Static_assert(sizeof(kc_generate_in) == 2 * sizeof(void *), "sizeof kc_generate_in");
_Static_assert(sizeof(kc_validate_in) == 4 * sizeof(void *), "sizeof kc_validate_in");
_Static_assert(offsetof(kc_answer, offset) == 8, "kc_answer.offset");
_Static_assert(sizeof(kc_answer) == 8 + 2 * sizeof(size_t), "sizeof kc_answer");
_Static_assert(sizeof(kc_str) == 2 * sizeof(void *), "sizeof kc_str");
_Static_assert(offsetof(kc_entitlement, max_major) == 24, "kc_entitlement.max_major");
_Static_assert(offsetof(kc_entitlement, product) == 32, "kc_entitlement.product");
_Static_assert(offsetof(kc_entitlement, features) == 32 + 4 * sizeof(void *), "kc_entitlement.features");
_Static_assert(offsetof(kc_entitlement, customer_id) == 32 + 6 * sizeof(void *), "kc_entitlement.customer_id");
_Static_assert(offsetof(kc_entitlement, host_id) == 32 + 12 * sizeof(void *), "kc_entitlement.host_id");
_Static_assert(sizeof(kc_entitlement) == 32 + 14 * sizeof(void *), "sizeof kc_entitlement");
_Static_assert(offsetof(kc_context, product) == 16, "kc_context.product");
_Static_assert(sizeof(kc_context) == 16 + 4 * sizeof(void *), "sizeof kc_context");
_Static_assert(sizeof(kc_validate_typed_in) == 3 * sizeof(void *), "sizeof kc_validate_typed_in");
_Static_assert(offsetof(kc_validation, format) == 16, "kc_validation.format");
_Static_assert(offsetof(kc_validation, decoded) == 16 + 4 * sizeof(void *), "kc_validation.decoded");
_Static_assert(sizeof(kc_validation) == 48 + 18 * sizeof(void *), "sizeof kc_validation");
#endif

/* The one exported symbol. `host_abi_minor` is the minor the host speaks;
 * return NULL if the plugin cannot serve it. */
const kc_plugin_v1 *kc_plugin_entry_v1(uint32_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* KEYCOMPAT_PLUGIN_H */
