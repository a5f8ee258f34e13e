/*
 * acme_lk1.c -- the old Acme EMS's acme-lk1 license keys, as a keycompat plugin.
 *
 * This is the vendor's original implementation of the acme-lk1 format, written
 * against nothing but keycompat_plugin.h (the ABI of record) and the C standard
 * library. The format is specified in SCHEMES.md, section "acme-lk1":
 *
 *   key   = 25 Crockford base32 symbols, 5 groups of 5 joined by '-'
 *   value = 125-bit integer, most significant symbol first
 *         = (payload85 << 40) | mac40
 *   payload, most significant field first:
 *         ver 4 (=1) | product 8 | edition 3 | max_major 8 | features 16 |
 *         seats 10 (0 = unlimited) | expiry_days 14 (0 = perpetual) |
 *         serial 20 | reserved 2 (=0)
 *   mac   = first 5 bytes of HMAC-SHA256(secret, "ACME-LK1" || payload as
 *           11 big-endian bytes)
 *
 * Representation used throughout: the 125-bit value is held as 16 big-endian
 * bytes whose top 3 bits are zero. Because 85 bits right-aligned in 11 bytes
 * also leave exactly the top 3 bits zero, those 16 bytes are simply
 * payload[11] || mac[5], and symbol i of the key is the 5-bit group starting
 * at bit 3 + 5*i. No 128-bit arithmetic is needed.
 *
 * Threading: no mutable globals; each instance owns its secret and its
 * last-error buffer, so distinct instances may be used concurrently
 * (KC_FLAG_THREAD_SAFE). One instance must not be shared between threads
 * without the host's own locking (no KC_FLAG_INSTANCE_SYNC): last_error is
 * per instance.
 *
 * The plugin never reads the clock or the host id; "today" comes from the
 * validation context.
 */
#include "keycompat_plugin.h"
#include "sha256.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LK1_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* Format constants                                                          */
/* ------------------------------------------------------------------------ */

#define LK1_FORMAT_NAME "acme-lk1"
#define LK1_MAC_DOMAIN "ACME-LK1"
#define LK1_FORMAT_VERSION 1u

#define LK1_SYMBOLS 25u                                /* symbols in a key */
#define LK1_GROUP 5u                                   /* symbols per group */
#define LK1_KEY_TEXT_LEN (LK1_SYMBOLS + LK1_SYMBOLS / LK1_GROUP - 1u) /* 29 */
#define LK1_PAYLOAD_BYTES 11u                          /* 85 bits, top 3 zero */
#define LK1_MAC_BYTES 5u                               /* 40 bits */
#define LK1_VALUE_BYTES (LK1_PAYLOAD_BYTES + LK1_MAC_BYTES) /* 128 bits */
#define LK1_VALUE_LEAD_BITS 3u                         /* 128 - 125 */
#define LK1_PAYLOAD_LEAD_BITS 3u                       /* 88 - 85 */

/* Field widths, in payload order. */
#define LK1_BITS_VER 4u
#define LK1_BITS_PRODUCT 8u
#define LK1_BITS_EDITION 3u
#define LK1_BITS_MAX_MAJOR 8u
#define LK1_BITS_FEATURES 16u
#define LK1_BITS_SEATS 10u
#define LK1_BITS_EXPIRY 14u
#define LK1_BITS_SERIAL 20u
#define LK1_BITS_RESERVED 2u

#define LK1_MAX_SEATS 1023u               /* 2^10 - 1 */
#define LK1_MAX_EXPIRY_DAYS 16383L        /* 2^14 - 1: 2044-11-08 */
#define LK1_MIN_EXPIRY_DAYS 1L            /* 0 means perpetual: 2000-01-02 */
#define LK1_MAX_SERIAL 1048575u           /* 2^20 - 1 */
#define LK1_MAX_ENTITLEMENT_SERIAL 4294967295u /* the entitlement's own range */
#define LK1_MAX_MAJOR 255u
#define LK1_MAX_EDITION 3u

/* Size of the per-instance last-error buffer; longer messages are truncated.
 * Messages are pure ASCII (field values are escaped), so truncation never
 * splits a UTF-8 sequence. */
#define LK1_ERR_CAP 512u
/* How many bytes of a caller's value are quoted in an error message. */
#define LK1_QUOTE_MAX 64u
/* Upper bound of any DECODE text this plugin writes (actual max is ~330). */
#define LK1_DECODE_CAP 1024u

/* ------------------------------------------------------------------------ */
/* Catalog (SCHEMES.md, "Catalog")                                           */
/* ------------------------------------------------------------------------ */

typedef struct lk1_product {
    const char *slug;
    int legacy_id; /* -1: new-only product, no legacy id */
} lk1_product;

static const lk1_product LK1_PRODUCTS[] = {
    {"acme-cad", 17},
    {"acme-viewer", 18},
    {"acme-sim", 21},
    {"acme-cloud", -1},
};

/* Index = legacy edition code. */
static const char *const LK1_EDITIONS[] = {"trial", "standard", "professional", "enterprise"};

/* Index = legacy feature bit. */
static const char *const LK1_FEATURES[16] = {
    "export-dwg", "export-step", "export-pdf",    "render-gpu",
    "scripting",  "plugins-sdk", "cloud-sync",    "collaboration",
    "pdm",        "simulation",  "cam",           "sheet-metal",
    "electrical", "piping",      "offline-mode",  "priority-support",
};

/* Features of the new system that have no legacy bit. */
static const char *const LK1_NEW_ONLY_FEATURES[] = {"ai-assist", "web-viewer", "api-access"};

#define LK1_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Crockford base32. */
static const char LK1_ALPHABET[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Value of each upper-case letter 'A'..'Z' after folding O->0 and I,L->1;
 * -1 for 'U', the one letter Crockford leaves out. */
static const signed char LK1_LETTER_VALUE[26] = {
    10, 11, 12, 13, 14, 15, 16, 17, /* A B C D E F G H */
    1,                              /* I -> 1 */
    18, 19,                         /* J K */
    1,                              /* L -> 1 */
    20, 21,                         /* M N */
    0,                              /* O -> 0 */
    22, 23, 24, 25, 26,             /* P Q R S T */
    -1,                             /* U: not a symbol */
    27, 28, 29, 30, 31,             /* V W X Y Z */
};

/* ------------------------------------------------------------------------ */
/* Instance                                                                  */
/* ------------------------------------------------------------------------ */

struct kc_instance {
    uint8_t *secret;
    size_t secret_len;
    size_t err_len;
    char err[LK1_ERR_CAP];
};

/* Record the message of a failed call (printf-style, ASCII). */
static void set_error(kc_instance *inst, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void set_error(kc_instance *inst, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(inst->err, sizeof inst->err, fmt, ap);
    va_end(ap);
    if (n < 0) {
        inst->err[0] = '\0';
        inst->err_len = 0;
        return;
    }
    /* vsnprintf truncates and always terminates: keep what fitted. */
    inst->err_len = strlen(inst->err);
}

/* Quote a caller-supplied byte string for an error message: printable ASCII
 * is kept, '"' and '\\' and everything else are written as \xHH, and values
 * longer than LK1_QUOTE_MAX bytes are cut with "...". The result is ASCII
 * and NUL-terminated. */
typedef struct lk1_quoted {
    char text[LK1_QUOTE_MAX * 4u + 4u];
} lk1_quoted;

static lk1_quoted quote_bytes(const uint8_t *p, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    lk1_quoted q;
    size_t i, o = 0;
    size_t shown = len < LK1_QUOTE_MAX ? len : LK1_QUOTE_MAX;

    for (i = 0; i < shown; i++) {
        uint8_t c = p[i];
        if (c >= 0x20u && c < 0x7fu && c != '"' && c != '\\') {
            q.text[o++] = (char)c;
        } else {
            q.text[o++] = '\\';
            q.text[o++] = 'x';
            q.text[o++] = hex[c >> 4];
            q.text[o++] = hex[c & 0x0fu];
        }
    }
    if (shown < len) {
        q.text[o++] = '.';
        q.text[o++] = '.';
        q.text[o++] = '.';
    }
    q.text[o] = '\0';
    return q;
}

/* ------------------------------------------------------------------------ */
/* Fields                                                                    */
/* ------------------------------------------------------------------------ */

/* One looked-up field value. */
typedef struct lk1_value {
    int present;
    const uint8_t *ptr; /* never NULL when present (points at "" if empty) */
    size_t len;
} lk1_value;

static int bytes_equal_str(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && (n == 0 || memcmp(p, s, n) == 0);
}

/* Every field must have usable pointers: a NULL pointer with a non-zero
 * length is a caller bug, reported rather than dereferenced. */
static kc_status check_fields(kc_instance *inst, const kc_field *fields, size_t n, const char *what)
{
    size_t i;

    if (n > 0 && fields == NULL) {
        set_error(inst, "%s: fields pointer is NULL with %zu fields", what, n);
        return KC_ERR_BAD_ARGUMENT;
    }
    for (i = 0; i < n; i++) {
        if (fields[i].key == NULL && fields[i].key_len > 0) {
            set_error(inst, "%s: field %zu has a NULL key with length %zu", what, i, fields[i].key_len);
            return KC_ERR_BAD_ARGUMENT;
        }
        if (fields[i].val == NULL && fields[i].val_len > 0) {
            set_error(inst, "%s: field %zu has a NULL value with length %zu", what, i, fields[i].val_len);
            return KC_ERR_BAD_ARGUMENT;
        }
    }
    return KC_OK;
}

/* Find the field named `name`. Absent is fine (out->present = 0); a field
 * given twice is ambiguous and refused as a bad argument. */
static kc_status find_field(kc_instance *inst, const kc_field *fields, size_t n, const char *name,
                            lk1_value *out)
{
    size_t i;

    out->present = 0;
    out->ptr = NULL;
    out->len = 0;
    for (i = 0; i < n; i++) {
        if (!bytes_equal_str((const uint8_t *)fields[i].key, fields[i].key_len, name)) {
            continue;
        }
        if (out->present) {
            set_error(inst, "%s: given more than once", name);
            return KC_ERR_BAD_ARGUMENT;
        }
        out->present = 1;
        out->ptr = fields[i].val != NULL ? fields[i].val : (const uint8_t *)"";
        out->len = fields[i].val_len;
    }
    return KC_OK;
}

/* ------------------------------------------------------------------------ */
/* Parsing numbers and dates                                                 */
/* ------------------------------------------------------------------------ */

/* Parse a plain decimal (ASCII digits only, at least one, no sign, no
 * spaces). Values above UINT64_MAX saturate and set *overflow.
 * Returns 1 when the text is a decimal, 0 otherwise. */
static int parse_decimal(const uint8_t *p, size_t len, uint64_t *value, int *overflow)
{
    uint64_t v = 0;
    size_t i;

    *overflow = 0;
    if (len == 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned d;
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10u) {
            v = UINT64_MAX;
            *overflow = 1;
        } else if (!*overflow) {
            v = v * 10u + d;
        }
    }
    *value = v;
    return 1;
}

static int is_leap_year(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(long y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long days_from_civil(long y, int m, int d)
{
    long era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097L + doe - 719468L;
}

/* Inverse of days_from_civil. */
static void civil_from_days(long z, long *y, int *m, int *d)
{
    long era, doe, yoe, doy, mp;
    z += 719468L;
    era = (z >= 0 ? z : z - 146096L) / 146097L;
    doe = z - era * 146097L;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* The epoch of expiry_days. */
static long lk1_epoch(void) { return days_from_civil(2000, 1, 1); }

static int digits_value(const uint8_t *p, size_t n, long *out)
{
    long v = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

/* Parse exactly "YYYY-MM-DD" (a real date) into days since 2000-01-01,
 * which is negative before 2000. Returns 1 on success. */
static int parse_date(const uint8_t *p, size_t len, long *days_since_2000)
{
    long y, m, d;

    if (len != 10 || p[4] != '-' || p[7] != '-') {
        return 0;
    }
    if (!digits_value(p, 4, &y) || !digits_value(p + 5, 2, &m) || !digits_value(p + 8, 2, &d)) {
        return 0;
    }
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, (int)m)) {
        return 0;
    }
    *days_since_2000 = days_from_civil(y, (int)m, (int)d) - lk1_epoch();
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Catalog look-ups                                                          */
/* ------------------------------------------------------------------------ */

/* The catalog entry for a product slug, or NULL when unknown. */
static const lk1_product *find_product(const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i < LK1_COUNT(LK1_PRODUCTS); i++) {
        if (bytes_equal_str(p, len, LK1_PRODUCTS[i].slug)) {
            return &LK1_PRODUCTS[i];
        }
    }
    return NULL;
}

/* The catalog slug for a legacy product id, or NULL when not in the catalog. */
static const char *product_slug_for_id(unsigned id)
{
    size_t i;
    for (i = 0; i < LK1_COUNT(LK1_PRODUCTS); i++) {
        if (LK1_PRODUCTS[i].legacy_id >= 0 && (unsigned)LK1_PRODUCTS[i].legacy_id == id) {
            return LK1_PRODUCTS[i].slug;
        }
    }
    return NULL;
}

/* Edition code for a name, or -1. */
static int find_edition(const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i < LK1_COUNT(LK1_EDITIONS); i++) {
        if (bytes_equal_str(p, len, LK1_EDITIONS[i])) {
            return (int)i;
        }
    }
    return -1;
}

/* Legacy bit of a feature slug, or -1. */
static int find_feature_bit(const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i < LK1_COUNT(LK1_FEATURES); i++) {
        if (bytes_equal_str(p, len, LK1_FEATURES[i])) {
            return (int)i;
        }
    }
    return -1;
}

static int is_new_only_feature(const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i < LK1_COUNT(LK1_NEW_ONLY_FEATURES); i++) {
        if (bytes_equal_str(p, len, LK1_NEW_ONLY_FEATURES[i])) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Bits, MAC and base32                                                      */
/* ------------------------------------------------------------------------ */

/* Write the low `nbits` of value into buf (big-endian bit order) at *pos. */
static void put_bits(uint8_t *buf, unsigned *pos, uint32_t value, unsigned nbits)
{
    while (nbits-- > 0) {
        if ((value >> nbits) & 1u) {
            buf[*pos / 8u] |= (uint8_t)(0x80u >> (*pos % 8u));
        }
        (*pos)++;
    }
}

/* Read `nbits` (<= 32) from buf (big-endian bit order) at *pos. */
static uint32_t get_bits(const uint8_t *buf, unsigned *pos, unsigned nbits)
{
    uint32_t v = 0;
    while (nbits-- > 0) {
        v = (v << 1) | ((buf[*pos / 8u] >> (7u - *pos % 8u)) & 1u);
        (*pos)++;
    }
    return v;
}

/* The decoded payload fields. */
typedef struct lk1_payload {
    uint32_t ver, product, edition, max_major, features, seats, expiry_days, serial, reserved;
} lk1_payload;

static void pack_payload(const lk1_payload *pl, uint8_t out[LK1_PAYLOAD_BYTES])
{
    unsigned pos = LK1_PAYLOAD_LEAD_BITS;
    memset(out, 0, LK1_PAYLOAD_BYTES);
    put_bits(out, &pos, pl->ver, LK1_BITS_VER);
    put_bits(out, &pos, pl->product, LK1_BITS_PRODUCT);
    put_bits(out, &pos, pl->edition, LK1_BITS_EDITION);
    put_bits(out, &pos, pl->max_major, LK1_BITS_MAX_MAJOR);
    put_bits(out, &pos, pl->features, LK1_BITS_FEATURES);
    put_bits(out, &pos, pl->seats, LK1_BITS_SEATS);
    put_bits(out, &pos, pl->expiry_days, LK1_BITS_EXPIRY);
    put_bits(out, &pos, pl->serial, LK1_BITS_SERIAL);
    put_bits(out, &pos, pl->reserved, LK1_BITS_RESERVED);
}

static void unpack_payload(const uint8_t in[LK1_PAYLOAD_BYTES], lk1_payload *pl)
{
    unsigned pos = LK1_PAYLOAD_LEAD_BITS;
    pl->ver = get_bits(in, &pos, LK1_BITS_VER);
    pl->product = get_bits(in, &pos, LK1_BITS_PRODUCT);
    pl->edition = get_bits(in, &pos, LK1_BITS_EDITION);
    pl->max_major = get_bits(in, &pos, LK1_BITS_MAX_MAJOR);
    pl->features = get_bits(in, &pos, LK1_BITS_FEATURES);
    pl->seats = get_bits(in, &pos, LK1_BITS_SEATS);
    pl->expiry_days = get_bits(in, &pos, LK1_BITS_EXPIRY);
    pl->serial = get_bits(in, &pos, LK1_BITS_SERIAL);
    pl->reserved = get_bits(in, &pos, LK1_BITS_RESERVED);
}

/* mac = first 5 bytes of HMAC-SHA256(secret, "ACME-LK1" || payload). */
static void compute_mac(const kc_instance *inst, const uint8_t payload[LK1_PAYLOAD_BYTES],
                        uint8_t mac[LK1_MAC_BYTES])
{
    acme_hmac_sha256_ctx h;
    uint8_t full[ACME_SHA256_DIGEST_LEN];

    acme_hmac_sha256_init(&h, inst->secret, inst->secret_len);
    acme_hmac_sha256_update(&h, (const uint8_t *)LK1_MAC_DOMAIN, sizeof LK1_MAC_DOMAIN - 1u);
    acme_hmac_sha256_update(&h, payload, LK1_PAYLOAD_BYTES);
    acme_hmac_sha256_final(&h, full);
    memcpy(mac, full, LK1_MAC_BYTES);
    acme_secure_zero(full, sizeof full);
}

/* Compare two MACs without an early exit (constant time in the contents). */
static int mac_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t diff = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        diff = (uint8_t)(diff | (a[i] ^ b[i]));
    }
    return diff == 0;
}

/* 16 value bytes -> "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX" (29 bytes, no NUL). */
static void encode_key(const uint8_t value[LK1_VALUE_BYTES], char out[LK1_KEY_TEXT_LEN])
{
    unsigned pos = LK1_VALUE_LEAD_BITS;
    unsigned i, o = 0;
    for (i = 0; i < LK1_SYMBOLS; i++) {
        if (i > 0 && i % LK1_GROUP == 0) {
            out[o++] = '-';
        }
        out[o++] = LK1_ALPHABET[get_bits(value, &pos, 5u)];
    }
}

/* The Crockford value of one byte after upper-casing ASCII and folding
 * O->0, I/L->1; -1 for anything else. Separators are handled by the caller. */
static int symbol_value(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'z') {
        c = (uint8_t)(c - 'a' + 'A');
    }
    if (c >= 'A' && c <= 'Z') {
        return LK1_LETTER_VALUE[c - 'A'];
    }
    return -1;
}

static int is_separator(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '-';
}

/* Normalise key text into the 16 value bytes. Returns 1 on success; on
 * failure returns 0 with a human reason in `reason`. Reads exactly
 * key[0..key_len) and never stores more than LK1_SYMBOLS symbols. */
static int decode_key(const uint8_t *key, size_t key_len, uint8_t value[LK1_VALUE_BYTES],
                      char *reason, size_t reason_cap)
{
    uint8_t symbols[LK1_SYMBOLS];
    size_t count = 0;
    size_t i;
    unsigned pos = LK1_VALUE_LEAD_BITS;

    for (i = 0; i < key_len; i++) {
        int v;
        if (is_separator(key[i])) {
            continue;
        }
        v = symbol_value(key[i]);
        if (v < 0) {
            snprintf(reason, reason_cap, "byte 0x%02X at offset %zu is not a Crockford base32 symbol",
                     (unsigned)key[i], i);
            return 0;
        }
        if (count < LK1_SYMBOLS) {
            symbols[count] = (uint8_t)v;
        }
        count++;
    }
    if (count != LK1_SYMBOLS) {
        snprintf(reason, reason_cap, "%zu symbols after normalisation, expected %u", count,
                 LK1_SYMBOLS);
        return 0;
    }
    memset(value, 0, LK1_VALUE_BYTES);
    for (i = 0; i < LK1_SYMBOLS; i++) {
        put_bits(value, &pos, symbols[i], 5u);
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Output buffers                                                            */
/* ------------------------------------------------------------------------ */

/* The caller-owned buffer protocol of the ABI: on entry *out_len is the
 * capacity; copy and set the written size, or report the size required. */
static kc_status deliver(kc_instance *inst, const void *data, size_t len, uint8_t *out, size_t *out_len)
{
    if (*out_len < len) {
        *out_len = len;
        return KC_ERR_BUFFER_TOO_SMALL;
    }
    if (out == NULL) {
        set_error(inst, "out: NULL with capacity %zu", *out_len);
        return KC_ERR_BAD_ARGUMENT;
    }
    memcpy(out, data, len);
    *out_len = len;
    return KC_OK;
}

/* A bounded text builder for DECODE output. `overflow` is sticky. */
typedef struct lk1_text {
    char buf[LK1_DECODE_CAP];
    size_t len;
    int overflow;
} lk1_text;

static void text_printf(lk1_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void text_printf(lk1_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t room = sizeof t->buf - t->len;

    if (t->overflow) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        t->overflow = 1;
        return;
    }
    t->len += (size_t)n;
}

/* ------------------------------------------------------------------------ */
/* create / destroy / last_error                                             */
/* ------------------------------------------------------------------------ */

static kc_status lk1_create(const kc_field *settings, size_t n_settings, kc_instance **out)
{
    kc_instance *inst;
    lk1_value secret;
    kc_status st;

    if (out == NULL) {
        fprintf(stderr, "acme-lk1-c: create: out pointer is NULL\n");
        return KC_ERR_BAD_ARGUMENT;
    }
    *out = NULL;

    inst = (kc_instance *)calloc(1, sizeof *inst);
    if (inst == NULL) {
        fprintf(stderr, "acme-lk1-c: create: out of memory\n");
        return KC_ERR_INTERNAL;
    }

    st = check_fields(inst, settings, n_settings, "settings");
    if (st == KC_OK) {
        st = find_field(inst, settings, n_settings, "secret", &secret);
    }
    if (st == KC_OK && !secret.present) {
        set_error(inst, "secret: required setting is missing");
        st = KC_ERR_BAD_ARGUMENT;
    }
    if (st == KC_OK && secret.len == 0) {
        set_error(inst, "secret: must not be empty");
        st = KC_ERR_BAD_ARGUMENT;
    }
    if (st != KC_OK) {
        fprintf(stderr, "acme-lk1-c: create: %.*s\n", (int)inst->err_len, inst->err);
        free(inst);
        return st;
    }

    inst->secret = (uint8_t *)malloc(secret.len);
    if (inst->secret == NULL) {
        fprintf(stderr, "acme-lk1-c: create: out of memory\n");
        free(inst);
        return KC_ERR_INTERNAL;
    }
    memcpy(inst->secret, secret.ptr, secret.len);
    inst->secret_len = secret.len;
    *out = inst;
    return KC_OK;
}

static void lk1_destroy(kc_instance *inst)
{
    if (inst == NULL) {
        return;
    }
    if (inst->secret != NULL) {
        acme_secure_zero(inst->secret, inst->secret_len);
        free(inst->secret);
    }
    acme_secure_zero(inst, sizeof *inst);
    free(inst);
}

static size_t lk1_last_error(const kc_instance *inst, char *buf, size_t cap)
{
    size_t n;
    if (inst == NULL) {
        return 0;
    }
    n = inst->err_len < cap ? inst->err_len : cap;
    if (buf != NULL && n > 0) {
        memcpy(buf, inst->err, n);
    }
    return inst->err_len;
}

/* ------------------------------------------------------------------------ */
/* generate                                                                  */
/* ------------------------------------------------------------------------ */

/* The entitlement fields generate reads (the others are ignored). */
typedef struct lk1_entitlement_fields {
    lk1_value product, edition, max_major, features, seats, expires, serial, host_id;
} lk1_entitlement_fields;

static kc_status lookup_entitlement(kc_instance *inst, const kc_field *f, size_t n, lk1_entitlement_fields *e)
{
    kc_status st;
    if ((st = find_field(inst, f, n, "product", &e->product)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "edition", &e->edition)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "max_major", &e->max_major)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "features", &e->features)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "seats", &e->seats)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "expires", &e->expires)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "serial", &e->serial)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "host_id", &e->host_id)) != KC_OK) return st;
    return KC_OK;
}

static kc_status require(kc_instance *inst, const lk1_value *v, const char *name)
{
    if (!v->present) {
        set_error(inst, "%s: required field is missing", name);
        return KC_ERR_BAD_ARGUMENT;
    }
    return KC_OK;
}

/* The feature list must be empty or names separated by single commas. */
static kc_status check_feature_syntax(kc_instance *inst, const lk1_value *v)
{
    size_t i, start = 0;
    if (v->len == 0) {
        return KC_OK;
    }
    for (i = 0; i <= v->len; i++) {
        if (i == v->len || v->ptr[i] == ',') {
            if (i == start) {
                set_error(inst, "features: empty feature name in \"%s\"", quote_bytes(v->ptr, v->len).text);
                return KC_ERR_BAD_ARGUMENT;
            }
            start = i + 1;
        }
    }
    return KC_OK;
}

/* Sets the legacy bit of the feature `name` in *bitmap; a feature without
 * one is refused. */
static kc_status add_feature_bit(kc_instance *inst, const uint8_t *name, size_t name_len,
                                 uint32_t *bitmap)
{
    int bit = find_feature_bit(name, name_len);
    if (bit < 0) {
        if (is_new_only_feature(name, name_len)) {
            set_error(inst, "features: %s has no legacy bit", quote_bytes(name, name_len).text);
        } else {
            set_error(inst, "features: \"%s\" is not a known feature and has no legacy bit",
                      quote_bytes(name, name_len).text);
        }
        return KC_REFUSED;
    }
    *bitmap |= 1u << (unsigned)bit;
    return KC_OK;
}

/* The product `slug` names, in *out; a product unknown or without a legacy
 * id is refused. */
static kc_status legacy_product(kc_instance *inst, const uint8_t *slug, size_t len,
                                const lk1_product **out)
{
    const lk1_product *product = find_product(slug, len);
    if (product == NULL) {
        set_error(inst, "product: \"%s\" is not a known product", quote_bytes(slug, len).text);
        return KC_REFUSED;
    }
    if (product->legacy_id < 0) {
        set_error(inst, "product: %s has no legacy product id", product->slug);
        return KC_REFUSED;
    }
    *out = product;
    return KC_OK;
}

/* Map the feature list to the 16-bit bitmap; a feature without a legacy bit
 * is refused (duplicates simply OR together: the field is a set). */
static kc_status features_to_bitmap(kc_instance *inst, const lk1_value *v, uint32_t *bitmap)
{
    size_t i, start = 0;
    *bitmap = 0;
    if (v->len == 0) {
        return KC_OK;
    }
    for (i = 0; i <= v->len; i++) {
        if (i == v->len || v->ptr[i] == ',') {
            kc_status st = add_feature_bit(inst, v->ptr + start, i - start, bitmap);
            if (st != KC_OK) return st;
            start = i + 1;
        }
    }
    return KC_OK;
}

/* Turn the entitlement fields into a payload: first every syntax check
 * (KC_ERR_BAD_ARGUMENT), then everything acme-lk1 cannot carry (KC_REFUSED),
 * both in the header's field order. */
static kc_status build_payload(kc_instance *inst, const lk1_entitlement_fields *e, lk1_payload *pl)
{
    const lk1_product *product;
    uint64_t max_major = 0, seats = 0, serial = 0;
    int max_major_ovf = 0, seats_ovf = 0, serial_ovf = 0;
    long expiry = 0;
    int edition;
    kc_status st;

    /* --- required fields --- */
    if ((st = require(inst, &e->product, "product")) != KC_OK) return st;
    if ((st = require(inst, &e->edition, "edition")) != KC_OK) return st;
    if ((st = require(inst, &e->max_major, "max_major")) != KC_OK) return st;
    if ((st = require(inst, &e->features, "features")) != KC_OK) return st;
    if ((st = require(inst, &e->serial, "serial")) != KC_OK) return st;

    /* --- syntax: malformed input is a bad argument --- */
    edition = find_edition(e->edition.ptr, e->edition.len);
    if (edition < 0) {
        set_error(inst, "edition: \"%s\" is not an edition (trial, standard, professional, enterprise)",
                  quote_bytes(e->edition.ptr, e->edition.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!parse_decimal(e->max_major.ptr, e->max_major.len, &max_major, &max_major_ovf)) {
        set_error(inst, "max_major: \"%s\" is not a decimal number",
                  quote_bytes(e->max_major.ptr, e->max_major.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (max_major_ovf || max_major > LK1_MAX_MAJOR) {
        set_error(inst, "max_major: %s is out of range (0-255)",
                  quote_bytes(e->max_major.ptr, e->max_major.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((st = check_feature_syntax(inst, &e->features)) != KC_OK) return st;
    if (e->seats.present) {
        if (!parse_decimal(e->seats.ptr, e->seats.len, &seats, &seats_ovf)) {
            set_error(inst, "seats: \"%s\" is not a decimal number", quote_bytes(e->seats.ptr, e->seats.len).text);
            return KC_ERR_BAD_ARGUMENT;
        }
        if (!seats_ovf && seats == 0) {
            set_error(inst, "seats: 0 is not a seat count (at least 1; absent means unlimited)");
            return KC_ERR_BAD_ARGUMENT;
        }
    }
    if (e->expires.present && !parse_date(e->expires.ptr, e->expires.len, &expiry)) {
        set_error(inst, "expires: \"%s\" is not a valid date (YYYY-MM-DD)",
                  quote_bytes(e->expires.ptr, e->expires.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!parse_decimal(e->serial.ptr, e->serial.len, &serial, &serial_ovf)) {
        set_error(inst, "serial: \"%s\" is not a decimal number", quote_bytes(e->serial.ptr, e->serial.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (serial_ovf || serial > LK1_MAX_ENTITLEMENT_SERIAL) {
        set_error(inst, "serial: %s is out of range (0-4294967295)",
                  quote_bytes(e->serial.ptr, e->serial.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }

    /* --- what acme-lk1 cannot carry: refused, never wrapped or dropped --- */
    if ((st = legacy_product(inst, e->product.ptr, e->product.len, &product)) != KC_OK) return st;
    if ((st = features_to_bitmap(inst, &e->features, &pl->features)) != KC_OK) return st;
    if (e->seats.present && (seats_ovf || seats > LK1_MAX_SEATS)) {
        set_error(inst, "seats: %s is more than acme-lk1 can carry (%u)",
                  quote_bytes(e->seats.ptr, e->seats.len).text, LK1_MAX_SEATS);
        return KC_REFUSED;
    }
    if (e->expires.present && expiry < LK1_MIN_EXPIRY_DAYS) {
        set_error(inst, "expires: %s is before 2000-01-02, the earliest expiry acme-lk1 can carry",
                  quote_bytes(e->expires.ptr, e->expires.len).text);
        return KC_REFUSED;
    }
    if (e->expires.present && expiry > LK1_MAX_EXPIRY_DAYS) {
        set_error(inst, "expires: %s is after 2044-11-08, the latest expiry acme-lk1 can carry",
                  quote_bytes(e->expires.ptr, e->expires.len).text);
        return KC_REFUSED;
    }
    if (serial > LK1_MAX_SERIAL) {
        set_error(inst, "serial: %s is more than acme-lk1 can carry (%u)",
                  quote_bytes(e->serial.ptr, e->serial.len).text, LK1_MAX_SERIAL);
        return KC_REFUSED;
    }
    if (e->host_id.present) {
        set_error(inst, "host_id: acme-lk1 keys cannot be node-locked");
        return KC_REFUSED;
    }

    pl->ver = LK1_FORMAT_VERSION;
    pl->product = (uint32_t)product->legacy_id;
    pl->edition = (uint32_t)edition;
    pl->max_major = (uint32_t)max_major;
    pl->seats = e->seats.present ? (uint32_t)seats : 0u;
    pl->expiry_days = e->expires.present ? (uint32_t)expiry : 0u;
    pl->serial = (uint32_t)serial;
    pl->reserved = 0;
    return KC_OK;
}

static kc_status lk1_generate(kc_instance *inst, const kc_field *entitlement, size_t n_fields,
                              uint8_t *out, size_t *out_len)
{
    lk1_entitlement_fields e;
    lk1_payload pl;
    uint8_t value[LK1_VALUE_BYTES];
    char text[LK1_KEY_TEXT_LEN];
    kc_status st;

    if (inst == NULL) {
        return KC_ERR_BAD_ARGUMENT;
    }
    if (out_len == NULL) {
        set_error(inst, "out_len: NULL");
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((st = check_fields(inst, entitlement, n_fields, "entitlement")) != KC_OK) return st;
    if ((st = lookup_entitlement(inst, entitlement, n_fields, &e)) != KC_OK) return st;

    memset(&pl, 0, sizeof pl);
    if ((st = build_payload(inst, &e, &pl)) != KC_OK) return st;

    pack_payload(&pl, value);
    compute_mac(inst, value, value + LK1_PAYLOAD_BYTES);
    encode_key(value, text);
    return deliver(inst, text, sizeof text, out, out_len);
}

/* ------------------------------------------------------------------------ */
/* validate                                                                  */
/* ------------------------------------------------------------------------ */

/* The validation context, parsed. */
typedef struct lk1_context {
    int product_id;          /* legacy id of the running product, -1 if none */
    uint64_t major;          /* saturating */
    long today;              /* days since 2000-01-01 */
} lk1_context;

/* "MAJOR.MINOR", both non-empty ASCII digit runs. */
static int parse_version(const uint8_t *p, size_t len, uint64_t *major)
{
    size_t dot;
    uint64_t minor;
    int ovf;

    for (dot = 0; dot < len && p[dot] != '.'; dot++) {
    }
    if (dot == len) {
        return 0;
    }
    if (!parse_decimal(p, dot, major, &ovf)) {
        return 0; /* an overflowing major saturates: it is above any max_major */
    }
    return parse_decimal(p + dot + 1, len - dot - 1, &minor, &ovf);
}

static kc_status parse_context(kc_instance *inst, const kc_field *f, size_t n, lk1_context *ctx)
{
    lk1_value product, version, today;
    const lk1_product *known;
    kc_status st;

    if ((st = check_fields(inst, f, n, "context")) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "product", &product)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "version", &version)) != KC_OK) return st;
    if ((st = find_field(inst, f, n, "today", &today)) != KC_OK) return st;

    if (!product.present) {
        set_error(inst, "product: required context field is missing");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!version.present) {
        set_error(inst, "version: required context field is missing");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!today.present) {
        set_error(inst, "today: required context field is missing");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!parse_version(version.ptr, version.len, &ctx->major)) {
        set_error(inst, "version: \"%s\" is not MAJOR.MINOR", quote_bytes(version.ptr, version.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!parse_date(today.ptr, today.len, &ctx->today)) {
        set_error(inst, "today: \"%s\" is not a valid date (YYYY-MM-DD)", quote_bytes(today.ptr, today.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    /* Any slug is acceptable; one without a legacy id matches no key. */
    known = find_product(product.ptr, product.len);
    ctx->product_id = known != NULL ? known->legacy_id : -1;
    return KC_OK;
}

/* The feature names of a bitmap, sorted by byte order; returns how many. */
static size_t sorted_features(uint32_t bitmap, const char *names[16])
{
    size_t n = 0, i, j;

    for (i = 0; i < LK1_COUNT(LK1_FEATURES); i++) {
        if (bitmap & (1u << i)) {
            names[n++] = LK1_FEATURES[i];
        }
    }
    /* Insertion sort; strcmp compares as unsigned char, i.e. byte order. */
    for (i = 1; i < n; i++) {
        const char *x = names[i];
        for (j = i; j > 0 && strcmp(names[j - 1], x) > 0; j--) {
            names[j] = names[j - 1];
        }
        names[j] = x;
    }
    return n;
}

/* Feature names of a bitmap, sorted by byte order, comma-joined. */
static void write_features(lk1_text *t, uint32_t bitmap)
{
    const char *names[16];
    size_t n = sorted_features(bitmap, names), i;

    text_printf(t, "features=");
    for (i = 0; i < n; i++) {
        text_printf(t, "%s%s", i > 0 ? "," : "", names[i]);
    }
    text_printf(t, "\n");
}

/* The entitlement lines of a fully decoded key, in DECODE order. */
static void write_entitlement(lk1_text *t, const lk1_payload *pl)
{
    const char *slug = product_slug_for_id(pl->product);

    if (slug != NULL) {
        text_printf(t, "product=%s\n", slug);
    } else {
        text_printf(t, "product=legacy-id-%u\n", (unsigned)pl->product);
    }
    text_printf(t, "edition=%s\n", LK1_EDITIONS[pl->edition]);
    text_printf(t, "max_major=%u\n", (unsigned)pl->max_major);
    write_features(t, pl->features);
    if (pl->seats == 0) {
        text_printf(t, "seats\n");
    } else {
        text_printf(t, "seats=%u\n", (unsigned)pl->seats);
    }
    if (pl->expiry_days == 0) {
        text_printf(t, "expires\n");
    } else {
        long y;
        int m, d;
        civil_from_days(lk1_epoch() + (long)pl->expiry_days, &y, &m, &d);
        text_printf(t, "expires=%04ld-%02d-%02d\n", y, m, d);
    }
    text_printf(t, "serial=%u\n", (unsigned)pl->serial);
    text_printf(t, "host_id\n"); /* acme-lk1 keys are never node-locked */
}

/* The context checks, in SCHEMES.md order; NULL means valid. */
static const char *context_verdict(const lk1_payload *pl, const lk1_context *ctx)
{
    if (ctx->product_id < 0 || (uint32_t)ctx->product_id != pl->product) {
        return "wrong_product";
    }
    if (ctx->major > pl->max_major) {
        return "version_not_covered";
    }
    if (pl->expiry_days != 0 && ctx->today > (long)pl->expiry_days) {
        return "expired";
    }
    /* host_mismatch: never, acme-lk1 cannot be node-locked. */
    return NULL;
}

/* The verdict names, indexed by KC_VERDICT_*. */
static const char *const LK1_VERDICTS[8] = {
    "valid", "malformed", "bad_signature", "unsupported_format",
    "wrong_product", "version_not_covered", "expired", "host_mismatch",
};

/* What a key says in a context: both the DECODE text and the typed answer
 * are written from it. */
typedef struct lk1_judgement {
    int verdict;        /* KC_VERDICT_* */
    int has_format;     /* the key was recognised as acme-lk1 */
    int decoded;        /* pl holds the decoded payload */
    lk1_payload pl;
    char reason[128];   /* "" when none */
} lk1_judgement;

static int verdict_code(const char *name)
{
    int i;
    for (i = 0; i < 8; i++) {
        if (strcmp(LK1_VERDICTS[i], name) == 0) {
            return i;
        }
    }
    return KC_VERDICT_MALFORMED;
}

/* Judge a key: the checks of SCHEMES.md, in order. */
static void judge_key(const kc_instance *inst, const uint8_t *key, size_t key_len,
                      const lk1_context *ctx, lk1_judgement *j)
{
    uint8_t value[LK1_VALUE_BYTES];
    uint8_t expected[LK1_MAC_BYTES];
    const char *verdict;

    j->has_format = 0;
    j->decoded = 0;
    j->reason[0] = '\0';

    /* 1. Text -> 25 symbols -> 125 bits. */
    if (!decode_key(key, key_len, value, j->reason, sizeof j->reason)) {
        j->verdict = KC_VERDICT_MALFORMED;
        return;
    }

    /* 2. MAC, compared in constant time. */
    compute_mac(inst, value, expected);
    if (!mac_equal(expected, value + LK1_PAYLOAD_BYTES, LK1_MAC_BYTES)) {
        j->verdict = KC_VERDICT_BAD_SIGNATURE;
        snprintf(j->reason, sizeof j->reason, "MAC does not match");
        return;
    }

    /* 3. Format version. */
    unpack_payload(value, &j->pl);
    if (j->pl.ver != LK1_FORMAT_VERSION) {
        j->verdict = KC_VERDICT_UNSUPPORTED_FORMAT;
        snprintf(j->reason, sizeof j->reason, "format version %u, expected %u",
                 (unsigned)j->pl.ver, LK1_FORMAT_VERSION);
        return;
    }

    /* 4. Structure of a version-1 payload. */
    j->has_format = 1;
    if (j->pl.reserved != 0) {
        j->verdict = KC_VERDICT_MALFORMED;
        snprintf(j->reason, sizeof j->reason, "reserved bits are %u, expected 0", (unsigned)j->pl.reserved);
        return;
    }
    if (j->pl.edition > LK1_MAX_EDITION) {
        j->verdict = KC_VERDICT_MALFORMED;
        snprintf(j->reason, sizeof j->reason, "edition code %u is not defined", (unsigned)j->pl.edition);
        return;
    }

    /* 5. Decoded: context checks. */
    verdict = context_verdict(&j->pl, ctx);
    j->verdict = verdict != NULL ? verdict_code(verdict) : KC_VERDICT_VALID;
    j->decoded = 1;
}

/* Build the DECODE text for a key. */
static void validate_into(const kc_instance *inst, const uint8_t *key, size_t key_len,
                          const lk1_context *ctx, lk1_text *t)
{
    lk1_judgement j;

    judge_key(inst, key, key_len, ctx, &j);
    text_printf(t, "verdict=%s\n", LK1_VERDICTS[j.verdict]);
    if (j.has_format) {
        text_printf(t, "format=%s\n", LK1_FORMAT_NAME);
    }
    if (j.reason[0] != '\0') {
        text_printf(t, "reason=%s\n", j.reason);
    }
    if (j.decoded) {
        write_entitlement(t, &j.pl);
    }
}

static kc_status lk1_validate(kc_instance *inst, const uint8_t *key, size_t key_len,
                              const kc_field *context, size_t n_context, uint8_t *out, size_t *out_len)
{
    lk1_context ctx;
    lk1_text text;
    kc_status st;

    if (inst == NULL) {
        return KC_ERR_BAD_ARGUMENT;
    }
    if (out_len == NULL) {
        set_error(inst, "out_len: NULL");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (key == NULL && key_len > 0) {
        set_error(inst, "key: NULL with length %zu", key_len);
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((st = parse_context(inst, context, n_context, &ctx)) != KC_OK) return st;

    text.len = 0;
    text.overflow = 0;
    validate_into(inst, key, key_len, &ctx, &text);
    if (text.overflow) {
        set_error(inst, "internal: decode text exceeds %u bytes", LK1_DECODE_CAP);
        return KC_ERR_INTERNAL;
    }
    return deliver(inst, text.buf, text.len, out, out_len);
}

/* ------------------------------------------------------------------------ */
/* Batches (ABI 1.1)                                                         */
/* ------------------------------------------------------------------------ */

/* One item of a batch: the single call, writing into out[0..*out_len). */
typedef kc_status (*lk1_one_fn)(kc_instance *inst, const void *item, uint8_t *out, size_t *out_len);

static kc_status generate_one(kc_instance *inst, const void *item, uint8_t *out, size_t *out_len)
{
    const kc_generate_in *in = (const kc_generate_in *)item;
    return lk1_generate(inst, in->fields, in->n_fields, out, out_len);
}

static kc_status validate_one(kc_instance *inst, const void *item, uint8_t *out, size_t *out_len)
{
    const kc_validate_in *in = (const kc_validate_in *)item;
    return lk1_validate(inst, in->key, in->key_len, in->context, in->n_context, out, out_len);
}

/* The batch protocol of the header: each item's output (its key or decode
 * text, or the message last_error would give) right after the previous. */
static kc_status run_batch(kc_instance *inst, const void *items, size_t item_size, size_t n,
                           lk1_one_fn one, uint8_t *out, size_t out_cap, kc_answer *answers,
                           size_t *n_done)
{
    size_t used = 0;
    size_t k;

    if (inst == NULL || n_done == NULL) {
        return KC_ERR_BAD_ARGUMENT;
    }
    *n_done = 0;
    if (n > 0 && (items == NULL || answers == NULL)) {
        set_error(inst, "items or answers: NULL with %zu items", n);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (out == NULL && out_cap > 0) {
        set_error(inst, "out: NULL with capacity %zu", out_cap);
        return KC_ERR_BAD_ARGUMENT;
    }
    for (k = 0; k < n; k++) {
        size_t room = out_cap - used;
        size_t len = room;
        uint8_t *at = room > 0 ? out + used : NULL;
        kc_status st = one(inst, (const char *)items + k * item_size, at, &len);

        if (st == KC_ERR_BUFFER_TOO_SMALL) {
            answers[k].len = len;
            *n_done = k;
            return KC_ERR_BUFFER_TOO_SMALL;
        }
        if (st != KC_OK) {
            len = lk1_last_error(inst, (char *)at, room);
            if (len > room) {
                answers[k].len = len;
                *n_done = k;
                return KC_ERR_BUFFER_TOO_SMALL;
            }
        }
        answers[k].status = st;
        answers[k].reserved = 0;
        answers[k].offset = used;
        answers[k].len = len;
        used += len;
    }
    *n_done = n;
    return KC_OK;
}

static kc_status lk1_generate_batch(kc_instance *inst, const kc_generate_in *items, size_t n,
                                    uint8_t *out, size_t out_cap, kc_answer *answers, size_t *n_done)
{
    return run_batch(inst, items, sizeof *items, n, generate_one, out, out_cap, answers, n_done);
}

static kc_status lk1_validate_batch(kc_instance *inst, const kc_validate_in *items, size_t n,
                                    uint8_t *out, size_t out_cap, kc_answer *answers, size_t *n_done)
{
    return run_batch(inst, items, sizeof *items, n, validate_one, out, out_cap, answers, n_done);
}

/* ------------------------------------------------------------------------ */
/* Typed batches (ABI 1.2)                                                   */
/* ------------------------------------------------------------------------ */

/* Whether p[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
static int is_utf8(const uint8_t *p, size_t len)
{
    size_t i = 0;
    if (p == NULL) {
        return len == 0;
    }
    while (i < len) {
        uint8_t c = p[i];
        size_t n, k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n) {
            return 0;
        }
        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

static kc_status check_str(kc_instance *inst, kc_str s, const char *name)
{
    if (!is_utf8(s.ptr, s.len)) {
        set_error(inst, "%s: not valid UTF-8 (or NULL with length %zu)", name, s.len);
        return KC_ERR_BAD_ARGUMENT;
    }
    return KC_OK;
}

static int is_day(int32_t d) { return d >= KC_DAY_MIN && d <= KC_DAY_MAX; }

/* "YYYY-MM-DD" of a day count (days since 1970-01-01), for messages. */
static void format_day(int32_t days, char out[16])
{
    long y;
    int m, d;
    civil_from_days((long)days, &y, &m, &d);
    snprintf(out, 16, "%04ld-%02d-%02d", y, m, d);
}

/* A typed entitlement into a payload: the checks of build_payload, in its
 * order, on integers instead of text. */
static kc_status typed_payload(kc_instance *inst, const kc_entitlement *e, lk1_payload *pl)
{
    const lk1_product *product;
    long expiry = 0;
    int edition;
    size_t i;
    kc_status st;
    char day[16];

    if (e->has & ~KC_HAS_ALL) {
        set_error(inst, "entitlement: unknown has bits 0x%x", (unsigned)e->has);
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((e->has & KC_HAS_REQUIRED) != KC_HAS_REQUIRED) {
        set_error(inst, "entitlement: required fields missing (has 0x%x)", (unsigned)e->has);
        return KC_ERR_BAD_ARGUMENT;
    }
    for (i = 0; i < sizeof e->reserved; i++) {
        if (e->reserved[i] != 0) {
            set_error(inst, "entitlement: reserved bytes are not 0");
            return KC_ERR_BAD_ARGUMENT;
        }
    }
    if (e->n_features > 0 && e->features == NULL) {
        set_error(inst, "features: NULL with %zu features", e->n_features);
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((st = check_str(inst, e->product, "product")) != KC_OK) return st;
    if ((st = check_str(inst, e->edition, "edition")) != KC_OK) return st;
    for (i = 0; i < e->n_features; i++) {
        if ((st = check_str(inst, e->features[i], "features")) != KC_OK) return st;
        if (e->features[i].len == 0) {
            set_error(inst, "features: empty feature name");
            return KC_ERR_BAD_ARGUMENT;
        }
    }
    if ((e->has & KC_HAS_CUSTOMER) && ((st = check_str(inst, e->customer_id, "customer_id")) != KC_OK ||
                                       (st = check_str(inst, e->customer_name, "customer_name")) != KC_OK)) {
        return st;
    }
    if ((e->has & KC_HAS_ORDER_ID) && (st = check_str(inst, e->order_id, "order_id")) != KC_OK) return st;
    if ((e->has & KC_HAS_HOST_ID) && (st = check_str(inst, e->host_id, "host_id")) != KC_OK) return st;

    /* --- syntax: malformed input is a bad argument --- */
    edition = find_edition(e->edition.ptr, e->edition.len);
    if (edition < 0) {
        set_error(inst, "edition: \"%s\" is not an edition (trial, standard, professional, enterprise)",
                  quote_bytes(e->edition.ptr, e->edition.len).text);
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((e->has & KC_HAS_SEATS) && e->seats == 0) {
        set_error(inst, "seats: 0 is not a seat count (at least 1; absent means unlimited)");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (!is_day(e->issued) || ((e->has & KC_HAS_EXPIRES) && !is_day(e->expires)) ||
        ((e->has & KC_HAS_MAINTENANCE_UNTIL) && !is_day(e->maintenance_until))) {
        set_error(inst, "entitlement: a date is outside 0000-01-01 .. 9999-12-31");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (e->has & KC_HAS_EXPIRES) {
        expiry = (long)e->expires - lk1_epoch();
    }

    /* --- what acme-lk1 cannot carry: refused, never wrapped or dropped --- */
    if ((st = legacy_product(inst, e->product.ptr, e->product.len, &product)) != KC_OK) return st;
    pl->features = 0;
    for (i = 0; i < e->n_features; i++) {
        st = add_feature_bit(inst, e->features[i].ptr, e->features[i].len, &pl->features);
        if (st != KC_OK) return st;
    }
    if ((e->has & KC_HAS_SEATS) && e->seats > LK1_MAX_SEATS) {
        set_error(inst, "seats: %u is more than acme-lk1 can carry (%u)", (unsigned)e->seats, LK1_MAX_SEATS);
        return KC_REFUSED;
    }
    if ((e->has & KC_HAS_EXPIRES) && expiry < LK1_MIN_EXPIRY_DAYS) {
        format_day(e->expires, day);
        set_error(inst, "expires: %s is before 2000-01-02, the earliest expiry acme-lk1 can carry", day);
        return KC_REFUSED;
    }
    if ((e->has & KC_HAS_EXPIRES) && expiry > LK1_MAX_EXPIRY_DAYS) {
        format_day(e->expires, day);
        set_error(inst, "expires: %s is after 2044-11-08, the latest expiry acme-lk1 can carry", day);
        return KC_REFUSED;
    }
    if (e->serial > LK1_MAX_SERIAL) {
        set_error(inst, "serial: %u is more than acme-lk1 can carry (%u)", (unsigned)e->serial, LK1_MAX_SERIAL);
        return KC_REFUSED;
    }
    if (e->has & KC_HAS_HOST_ID) {
        set_error(inst, "host_id: acme-lk1 keys cannot be node-locked");
        return KC_REFUSED;
    }

    pl->ver = LK1_FORMAT_VERSION;
    pl->product = (uint32_t)product->legacy_id;
    pl->edition = (uint32_t)edition;
    pl->max_major = (uint32_t)e->max_major;
    pl->seats = (e->has & KC_HAS_SEATS) ? (uint32_t)e->seats : 0u;
    pl->expiry_days = (e->has & KC_HAS_EXPIRES) ? (uint32_t)expiry : 0u;
    pl->serial = (uint32_t)e->serial;
    pl->reserved = 0;
    return KC_OK;
}

static kc_status generate_typed_one(kc_instance *inst, const void *item, uint8_t *out, size_t *out_len)
{
    lk1_payload pl;
    uint8_t value[LK1_VALUE_BYTES];
    char text[LK1_KEY_TEXT_LEN];
    kc_status st;

    memset(&pl, 0, sizeof pl);
    if ((st = typed_payload(inst, (const kc_entitlement *)item, &pl)) != KC_OK) return st;
    pack_payload(&pl, value);
    compute_mac(inst, value, value + LK1_PAYLOAD_BYTES);
    encode_key(value, text);
    return deliver(inst, text, sizeof text, out, out_len);
}

static kc_status lk1_generate_typed(kc_instance *inst, const kc_entitlement *items, size_t n,
                                    uint8_t *out, size_t out_cap, kc_answer *answers, size_t *n_done)
{
    return run_batch(inst, items, sizeof *items, n, generate_typed_one, out, out_cap, answers, n_done);
}

/* A typed context, checked. */
static kc_status typed_context(kc_instance *inst, const kc_context *c, lk1_context *ctx)
{
    const lk1_product *known;
    kc_status st;

    if (c == NULL) {
        set_error(inst, "context: NULL");
        return KC_ERR_BAD_ARGUMENT;
    }
    if (c->has & ~KC_HAS_HOST_ID) {
        set_error(inst, "context: unknown has bits 0x%x", (unsigned)c->has);
        return KC_ERR_BAD_ARGUMENT;
    }
    if ((st = check_str(inst, c->product, "product")) != KC_OK) return st;
    if ((c->has & KC_HAS_HOST_ID) && (st = check_str(inst, c->host_id, "host_id")) != KC_OK) return st;
    if (!is_day(c->today)) {
        set_error(inst, "today: day %ld is outside 0000-01-01 .. 9999-12-31", (long)c->today);
        return KC_ERR_BAD_ARGUMENT;
    }
    ctx->major = c->version_major;
    ctx->today = (long)c->today - lk1_epoch();
    known = find_product(c->product.ptr, c->product.len);
    ctx->product_id = known != NULL ? known->legacy_id : -1;
    return KC_OK;
}

/* Where an item's typed output is written: `room` bytes at `base`. Past
 * the room, only the length is counted (what the item needs). */
typedef struct lk1_place {
    uint8_t *base;
    size_t room;
    size_t len;
} lk1_place;

static kc_str place_str(lk1_place *o, const char *s, size_t n)
{
    kc_str r;
    r.ptr = NULL;
    r.len = n;
    if (n > 0 && o->len + n <= o->room) {
        memcpy(o->base + o->len, s, n);
        r.ptr = o->base + o->len;
    }
    o->len += n;
    return r;
}

/* One item's typed answer at `o`; returns 0 when it does not fit (o->len
 * is then an upper bound of what it needs). */
static int place_judgement(const lk1_judgement *j, lk1_place *o, kc_validation *r)
{
    memset(r, 0, sizeof *r);
    r->verdict = j->verdict;
    if (j->has_format) {
        r->flags |= KC_RESULT_FORMAT;
        r->format = place_str(o, LK1_FORMAT_NAME, strlen(LK1_FORMAT_NAME));
    }
    if (j->reason[0] != '\0') {
        r->flags |= KC_RESULT_REASON;
        r->reason = place_str(o, j->reason, strlen(j->reason));
    }
    if (j->decoded) {
        const lk1_payload *pl = &j->pl;
        const char *slug = product_slug_for_id(pl->product);
        const char *names[16];
        char legacy[32];
        size_t n = sorted_features(pl->features, names), i, names_start;
        kc_entitlement *d = &r->decoded;

        /* acme-lk1 carries no issued, maintenance_until, customer or order_id. */
        r->carried = KC_HAS_PRODUCT | KC_HAS_EDITION | KC_HAS_MAX_MAJOR | KC_HAS_FEATURES |
                     KC_HAS_SEATS | KC_HAS_EXPIRES | KC_HAS_SERIAL | KC_HAS_HOST_ID;
        d->has = KC_HAS_PRODUCT | KC_HAS_EDITION | KC_HAS_MAX_MAJOR | KC_HAS_FEATURES | KC_HAS_SERIAL;
        if (slug == NULL) {
            snprintf(legacy, sizeof legacy, "legacy-id-%u", (unsigned)pl->product);
            slug = legacy;
        }
        d->product = place_str(o, slug, strlen(slug));
        d->edition = place_str(o, LK1_EDITIONS[pl->edition], strlen(LK1_EDITIONS[pl->edition]));
        d->max_major = (uint8_t)pl->max_major;
        if (pl->seats != 0) {
            d->has |= KC_HAS_SEATS;
            d->seats = pl->seats;
        }
        if (pl->expiry_days != 0) {
            d->has |= KC_HAS_EXPIRES;
            d->expires = (int32_t)(lk1_epoch() + (long)pl->expiry_days);
        }
        d->serial = pl->serial;
        names_start = o->len;
        for (i = 0; i < n; i++) {
            place_str(o, names[i], strlen(names[i]));
        }
        if (n > 0) {
            size_t names_end = o->len, at, pad;
            kc_str *array;
            size_t k;
            if (names_end > o->room) {
                o->len += sizeof(kc_str) - 1 + n * sizeof(kc_str);
                return 0;
            }
            pad = (sizeof(kc_str) - ((uintptr_t)(o->base + names_end) % sizeof(kc_str)) % sizeof(kc_str)) % sizeof(kc_str);
            at = names_end + pad;
            if (at + n * sizeof(kc_str) > o->room) {
                o->len = names_end + sizeof(kc_str) - 1 + n * sizeof(kc_str);
                return 0;
            }
            array = (kc_str *)(void *)(o->base + at);
            /* The names were placed one after another, in order. */
            for (k = 0; k < n; k++) {
                array[k].ptr = o->base + names_start;
                array[k].len = strlen(names[k]);
                names_start += array[k].len;
            }
            d->features = array;
            d->n_features = n;
            o->len = at + n * sizeof(kc_str);
        }
    }
    return o->len <= o->room;
}

static kc_status lk1_validate_typed(kc_instance *inst, const kc_validate_typed_in *items, size_t n,
                                    uint8_t *out, size_t out_cap, kc_answer *answers,
                                    kc_validation *results, size_t *n_done)
{
    size_t used = 0;
    size_t k;

    if (inst == NULL || n_done == NULL) {
        return KC_ERR_BAD_ARGUMENT;
    }
    *n_done = 0;
    if (n > 0 && (items == NULL || answers == NULL || results == NULL)) {
        set_error(inst, "items, answers or results: NULL with %zu items", n);
        return KC_ERR_BAD_ARGUMENT;
    }
    if (out == NULL && out_cap > 0) {
        set_error(inst, "out: NULL with capacity %zu", out_cap);
        return KC_ERR_BAD_ARGUMENT;
    }
    for (k = 0; k < n; k++) {
        size_t room = out_cap - used;
        lk1_context ctx;
        lk1_judgement j;
        lk1_place o;
        kc_status st = KC_OK;

        o.base = room > 0 ? out + used : NULL;
        o.room = room;
        o.len = 0;
        if (items[k].key == NULL && items[k].key_len > 0) {
            set_error(inst, "key: NULL with length %zu", items[k].key_len);
            st = KC_ERR_BAD_ARGUMENT;
        } else {
            st = typed_context(inst, items[k].context, &ctx);
        }
        if (st == KC_OK) {
            judge_key(inst, items[k].key, items[k].key_len, &ctx, &j);
            if (!place_judgement(&j, &o, &results[k])) {
                answers[k].len = o.len;
                *n_done = k;
                return KC_ERR_BUFFER_TOO_SMALL;
            }
        } else {
            o.len = lk1_last_error(inst, (char *)o.base, room);
            if (o.len > room) {
                answers[k].len = o.len;
                *n_done = k;
                return KC_ERR_BUFFER_TOO_SMALL;
            }
        }
        answers[k].status = st;
        answers[k].reserved = 0;
        answers[k].offset = used;
        answers[k].len = o.len;
        used += o.len;
    }
    *n_done = n;
    return KC_OK;
}

/* ------------------------------------------------------------------------ */
/* The plugin table and the one exported symbol                              */
/* ------------------------------------------------------------------------ */

static const kc_plugin_v1 LK1_PLUGIN = {
    KC_MAGIC,
    (uint16_t)KC_ABI_MAJOR,
    (uint16_t)KC_ABI_MINOR,
    (uint32_t)sizeof(kc_plugin_v1),
    0u,
    KC_FLAG_THREAD_SAFE | KC_FLAG_GENERATE | KC_FLAG_VALIDATE | KC_FLAG_BATCH | KC_FLAG_TYPED,
    "acme-lk1-c",
    "1.2.0",
    lk1_create,
    lk1_destroy,
    lk1_generate,
    lk1_validate,
    lk1_last_error,
    lk1_generate_batch,
    lk1_validate_batch,
    lk1_generate_typed,
    lk1_validate_typed,
};

/* A host speaking any 1.x minor can read this table: a 1.0 host reads only
 * the fields up to last_error and ignores KC_FLAG_BATCH, so the table is
 * always served. */
LK1_EXPORT const kc_plugin_v1 *kc_plugin_entry_v1(uint32_t host_abi_minor)
{
    (void)host_abi_minor;
    return &LK1_PLUGIN;
}
