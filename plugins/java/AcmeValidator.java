// AcmeValidator.java: the Acme new system's key validator (acme-ed1 and
// acme-lk1, vectors/acme/SCHEMES.md) as a Java server would embed it, run as a
// keycompat process plugin (plugins/PROTOCOL.md, protocol 1).
//
//   java plugins/java/AcmeValidator.java
//       No build step: the launcher compiles the file in memory before main runs, which costs
//       about 5 s of CPU. Measured start to ready on a 2-core machine at load average 8-13: 7-15 s
//       (median 13 s; keycompat waits 30 s for the ready and starts several copies at once, and
//       two copies starting together once took longer). -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
//       before the file name halves it (median 6 s).
//   javac -d build plugins/java/AcmeValidator.java && java -cp build AcmeValidator
//       Compiled once: ready in 0.4-1.5 s at the same load (median 0.6-0.9 s); with the two
//       flags above it also validates faster on a short run (C1 only, no C2 compilations).
//
// keycompat.toml:
//   [systems.java-server]
//   command = ["java", "plugins/java/AcmeValidator.java"]
//   [systems.java-server.settings]
//   lk1_secret = "..."
//   trusted_keys = "acme-demo-2026:d75a...511a,acme-demo-2025:3d40...660c"
//
// JDK 17+, standard library only (java.security Ed25519, javax.crypto HMAC,
// and a small strict JSON reader and writer below). Validate only: generate
// requests are answered `unsupported`. Settings (the new system's,
// [systems.new.settings]):
//   lk1_secret    the acme-lk1 HMAC secret (required, not empty)
//   trusted_keys  "kid:64-hex-public-key,kid:hex,..." (required)
// Other settings (signing_key, kid, lk1_products, emit) are for issuing keys
// and are ignored: a validator never needs them.
//
// The verdicts, formats and decodes match keycompat's builtin acme-ed1 system
// (src/schemes/new_system.rs, src/schemes/ed1/, src/schemes/lk1/) exactly:
// the same checks in the same order, a payload JSON reader that accepts and
// rejects exactly what serde_json does, and Ed25519 checked as ed25519-dalek's
// verify_strict checks it. The clock, time zone and locale are never read:
// dates are compared as YYYY-MM-DD strings and counted with integer arithmetic.
//
// stdout carries the protocol only (System.out is pointed at stderr, so that
// nothing else can print there); diagnostics go to stderr.

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public final class AcmeValidator {
    static final String NAME = "acme-validator-java";
    static final String VERSION = "1.0.0";
    static final int PROTOCOL = 1;

    // ------------------------------------------------------------------ catalog
    // The Acme catalog (SCHEMES.md, keycompat.toml [catalog]), as shipped in the server.

    static final List<String> EDITIONS = List.of("trial", "standard", "professional", "enterprise");
    static final Map<Integer, String> PRODUCT_BY_LEGACY_ID = Map.of(17, "acme-cad", 18, "acme-viewer", 21, "acme-sim");
    static final Map<String, Integer> LEGACY_ID_BY_PRODUCT = Map.of("acme-cad", 17, "acme-viewer", 18, "acme-sim", 21);
    static final String[] FEATURE_BITS = {
        "export-dwg", "export-step", "export-pdf", "render-gpu", "scripting", "plugins-sdk",
        "cloud-sync", "collaboration", "pdm", "simulation", "cam", "sheet-metal",
        "electrical", "piping", "offline-mode", "priority-support",
    };

    // ------------------------------------------------------------------ JSON
    // Values: Json.NULL, Boolean, String, JNum, List<Object>, Map<String, Object>
    // (LinkedHashMap; a repeated key keeps the last value, as serde_json does).

    static final class JsonError extends Exception {
        private static final long serialVersionUID = 1L;

        JsonError(String message) {
            super(message);
        }
    }

    /** A number as read: its text, and its value when it is a u64 (see Json.number). */
    static final class JNum {
        final String text;
        final boolean isU64;
        final long u64; // unsigned

        JNum(String text, boolean isU64, long u64) {
            this.text = text;
            this.isU64 = isU64;
            this.u64 = u64;
        }

        /** Whether this is a u64 no larger than max (max itself at most 2^63-1). */
        boolean isU64AtMost(long max) {
            return isU64 && Long.compareUnsigned(u64, max) <= 0;
        }
    }

    /**
     * A strict JSON reader accepting exactly what serde_json 1.x accepts
     * (from_slice::<Value>, without float_roundtrip): RFC 8259 with a nesting
     * limit (127 levels for payloads, as serde_json's), string escapes whose
     * surrogates are paired, and numbers that overflow f64 rejected, computed
     * as serde_json computes them. A number is a u64 when it has no sign,
     * fraction or exponent and fits 64 bits.
     */
    static final class Json {
        static final Object NULL = new Object() {
            @Override
            public String toString() {
                return "null";
            }
        };
        static final long U64_MAX_DIV10 = Long.divideUnsigned(-1L, 10);
        static final long U64_MAX_MOD10 = Long.remainderUnsigned(-1L, 10);
        static final double[] POW10 = new double[309];

        static {
            for (int i = 0; i < POW10.length; i++) POW10[i] = Double.parseDouble("1e" + i);
        }

        private final String s;
        private int i;
        private int depth;

        private Json(String s, int depth) {
            this.s = s;
            this.depth = depth;
        }

        /** Parses a whole document; depth 128 is serde_json's limit (127 nested levels). */
        static Object parse(String text, int depth) throws JsonError {
            Json p = new Json(text, depth);
            p.skipWs();
            Object v = p.value();
            p.skipWs();
            if (p.i != p.s.length()) throw p.fail("trailing characters");
            return v;
        }

        private JsonError fail(String what) {
            return new JsonError(what + " at offset " + i);
        }

        private int peek() {
            return i < s.length() ? s.charAt(i) : -1;
        }

        private void skipWs() {
            for (;;) {
                int c = peek();
                if (c == ' ' || c == '\n' || c == '\t' || c == '\r') i++;
                else return;
            }
        }

        private Object value() throws JsonError {
            skipWs();
            int c = peek();
            switch (c) {
                case -1:
                    throw fail("EOF while parsing a value");
                case 'n':
                    ident("null");
                    return NULL;
                case 't':
                    ident("true");
                    return Boolean.TRUE;
                case 'f':
                    ident("false");
                    return Boolean.FALSE;
                case '"':
                    i++;
                    return string();
                case '[':
                case '{': {
                    depth -= 1;
                    if (depth == 0) throw fail("recursion limit exceeded");
                    i++;
                    Object v = c == '[' ? array() : object();
                    depth += 1;
                    return v;
                }
                case '-':
                    i++;
                    return number(false);
                default:
                    if (c >= '0' && c <= '9') return number(true);
                    throw fail("expected value");
            }
        }

        private void ident(String word) throws JsonError {
            if (s.startsWith(word, i)) i += word.length();
            else throw fail("expected ident");
        }

        private List<Object> array() throws JsonError {
            List<Object> out = new ArrayList<>();
            skipWs();
            if (peek() == ']') {
                i++;
                return out;
            }
            for (;;) {
                out.add(value());
                skipWs();
                int c = peek();
                if (c == ',') {
                    i++;
                } else if (c == ']') {
                    i++;
                    return out;
                } else {
                    throw fail("expected `,` or `]`");
                }
            }
        }

        private Map<String, Object> object() throws JsonError {
            Map<String, Object> out = new LinkedHashMap<>();
            skipWs();
            if (peek() == '}') {
                i++;
                return out;
            }
            for (;;) {
                skipWs();
                if (peek() != '"') throw fail("key must be a string");
                i++;
                String key = string();
                skipWs();
                if (peek() != ':') throw fail("expected `:`");
                i++;
                out.put(key, value());
                skipWs();
                int c = peek();
                if (c == ',') {
                    i++;
                } else if (c == '}') {
                    i++;
                    return out;
                } else {
                    throw fail("expected `,` or `}`");
                }
            }
        }

        private int hex4() throws JsonError {
            if (i + 4 > s.length()) throw fail("EOF while parsing a string");
            int n = 0;
            for (int k = 0; k < 4; k++) {
                char c = s.charAt(i++);
                int d;
                if (c >= '0' && c <= '9') d = c - '0';
                else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
                else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
                else throw fail("invalid escape");
                n = n * 16 + d;
            }
            return n;
        }

        private String string() throws JsonError {
            StringBuilder out = new StringBuilder();
            int start = i;
            for (;;) {
                if (i >= s.length()) throw fail("EOF while parsing a string");
                char c = s.charAt(i);
                if (c == '"') {
                    out.append(s, start, i);
                    i++;
                    return out.toString();
                }
                if (c < 0x20) throw fail("control character while parsing a string");
                if (c != '\\') {
                    i++;
                    continue;
                }
                out.append(s, start, i);
                i++;
                if (i >= s.length()) throw fail("EOF while parsing a string");
                char e = s.charAt(i++);
                switch (e) {
                    case '"': out.append('"'); break;
                    case '\\': out.append('\\'); break;
                    case '/': out.append('/'); break;
                    case 'b': out.append('\b'); break;
                    case 'f': out.append('\f'); break;
                    case 'n': out.append('\n'); break;
                    case 'r': out.append('\r'); break;
                    case 't': out.append('\t'); break;
                    case 'u': {
                        int n = hex4();
                        if (n >= 0xDC00 && n <= 0xDFFF) throw fail("lone trailing surrogate in hex escape");
                        if (n >= 0xD800 && n <= 0xDBFF) {
                            if (peek() != '\\') throw fail("unexpected end of hex escape");
                            i++;
                            if (peek() != 'u') throw fail("unexpected end of hex escape");
                            i++;
                            int n2 = hex4();
                            if (n2 < 0xDC00 || n2 > 0xDFFF) throw fail("lone leading surrogate in hex escape");
                            out.append((char) n).append((char) n2);
                        } else {
                            out.append((char) n);
                        }
                        break;
                    }
                    default:
                        throw fail("invalid escape");
                }
                start = i;
            }
        }

        private static boolean isDigit(int c) {
            return c >= '0' && c <= '9';
        }

        private static boolean overflowsU64(long sig, int digit) {
            int cmp = Long.compareUnsigned(sig, U64_MAX_DIV10);
            return cmp >= 0 && (cmp > 0 || digit > U64_MAX_MOD10);
        }

        /** serde_json's parse_integer and what follows it, step for step. */
        private JNum number(boolean positive) throws JsonError {
            int from = positive ? i : i - 1;
            int c = peek();
            if (c == -1) throw fail("EOF while parsing a value");
            i++;
            boolean isU64 = false;
            long value = 0;
            if (c == '0') {
                if (isDigit(peek())) throw fail("invalid number");
                isU64 = afterInteger(positive, 0);
            } else if (c >= '1' && c <= '9') {
                long sig = c - '0';
                for (;;) {
                    int d = peek();
                    if (!isDigit(d)) {
                        isU64 = afterInteger(positive, sig);
                        value = sig;
                        break;
                    }
                    int digit = d - '0';
                    if (overflowsU64(sig, digit)) {
                        longInteger(sig);
                        break;
                    }
                    i++;
                    sig = sig * 10 + digit;
                }
            } else {
                throw fail("invalid number");
            }
            return new JNum(s.substring(from, i), isU64, isU64 ? value : 0);
        }

        /** parse_number: a u64 when positive and nothing follows, else a float. */
        private boolean afterInteger(boolean positive, long sig) throws JsonError {
            int c = peek();
            if (c == '.') {
                decimal(sig, 0);
                return false;
            }
            if (c == 'e' || c == 'E') {
                exponent(sig, 0);
                return false;
            }
            return positive;
        }

        private void longInteger(long sig) throws JsonError {
            int exponent = 0;
            for (;;) {
                int c = peek();
                if (isDigit(c)) {
                    i++;
                    exponent++;
                } else if (c == '.') {
                    decimal(sig, exponent);
                    return;
                } else if (c == 'e' || c == 'E') {
                    exponent(sig, exponent);
                    return;
                } else {
                    f64FromParts(sig, exponent);
                    return;
                }
            }
        }

        private void decimal(long sig, int expBefore) throws JsonError {
            i++; // '.'
            int expAfter = 0;
            for (;;) {
                int c = peek();
                if (!isDigit(c)) break;
                int digit = c - '0';
                if (overflowsU64(sig, digit)) {
                    while (isDigit(peek())) i++;
                    int e = peek();
                    if (e == 'e' || e == 'E') exponent(sig, expBefore + expAfter);
                    else f64FromParts(sig, expBefore + expAfter);
                    return;
                }
                i++;
                sig = sig * 10 + digit;
                expAfter -= 1;
            }
            if (expAfter == 0) throw fail("invalid number");
            int exp = expBefore + expAfter;
            int c = peek();
            if (c == 'e' || c == 'E') exponent(sig, exp);
            else f64FromParts(sig, exp);
        }

        private void exponent(long sig, int startExp) throws JsonError {
            i++; // 'e'
            boolean positiveExp = true;
            int sign = peek();
            if (sign == '+') {
                i++;
            } else if (sign == '-') {
                i++;
                positiveExp = false;
            }
            int first = peek();
            if (first == -1) throw fail("EOF while parsing a value");
            i++;
            if (!isDigit(first)) throw fail("invalid number");
            int exp = first - '0';
            for (;;) {
                int c = peek();
                if (!isDigit(c)) break;
                i++;
                int digit = c - '0';
                if (exp >= Integer.MAX_VALUE / 10 && (exp > Integer.MAX_VALUE / 10 || digit > Integer.MAX_VALUE % 10)) {
                    if (sig != 0 && positiveExp) throw fail("number out of range");
                    while (isDigit(peek())) i++;
                    return;
                }
                exp = exp * 10 + digit;
            }
            long fin = positiveExp ? (long) startExp + exp : (long) startExp - exp;
            fin = Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, fin));
            f64FromParts(sig, (int) fin);
        }

        /** f64_from_parts without float_roundtrip: only whether it overflows matters. */
        private void f64FromParts(long sig, int exponent) throws JsonError {
            double f = sig >= 0 ? (double) sig : ((double) ((sig >>> 1) | (sig & 1))) * 2.0;
            long e = exponent;
            for (;;) {
                long idx = Math.abs(e);
                if (idx <= 308) {
                    if (e >= 0) {
                        f *= POW10[(int) idx];
                        if (Double.isInfinite(f)) throw fail("number out of range");
                    } else {
                        f /= POW10[(int) idx];
                    }
                    return;
                }
                if (f == 0.0) return;
                if (e >= 0) throw fail("number out of range");
                f /= 1e308;
                e += 308;
            }
        }

        // ---------------------------------------------------------- writer

        static void write(StringBuilder out, Object v) {
            if (v == null || v == NULL) {
                out.append("null");
            } else if (v instanceof String) {
                quote(out, (String) v);
            } else if (v instanceof Boolean) {
                out.append(((Boolean) v).booleanValue() ? "true" : "false");
            } else if (v instanceof Integer || v instanceof Long) {
                out.append(v.toString());
            } else if (v instanceof JNum) {
                out.append(((JNum) v).text);
            } else if (v instanceof Map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                    if (!first) out.append(',');
                    first = false;
                    quote(out, (String) e.getKey());
                    out.append(':');
                    write(out, e.getValue());
                }
                out.append('}');
            } else if (v instanceof Iterable) {
                out.append('[');
                boolean first = true;
                for (Object item : (Iterable<?>) v) {
                    if (!first) out.append(',');
                    first = false;
                    write(out, item);
                }
                out.append(']');
            } else {
                throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
            }
        }

        /** A JSON string: quotes, backslashes and control characters escaped; lone surrogates as \\uXXXX. */
        static void quote(StringBuilder out, String s) {
            out.append('"');
            for (int k = 0; k < s.length(); k++) {
                char c = s.charAt(k);
                switch (c) {
                    case '"': out.append("\\\""); break;
                    case '\\': out.append("\\\\"); break;
                    case '\n': out.append("\\n"); break;
                    case '\r': out.append("\\r"); break;
                    case '\t': out.append("\\t"); break;
                    case '\b': out.append("\\b"); break;
                    case '\f': out.append("\\f"); break;
                    default:
                        boolean lone = Character.isSurrogate(c)
                            && !(Character.isHighSurrogate(c) && k + 1 < s.length() && Character.isLowSurrogate(s.charAt(k + 1)))
                            && !(Character.isLowSurrogate(c) && k > 0 && Character.isHighSurrogate(s.charAt(k - 1)));
                        if (c < 0x20 || lone) {
                            out.append("\\u").append(pad(Integer.toHexString(c), 4));
                        } else {
                            out.append(c);
                        }
                }
            }
            out.append('"');
        }

        static String toJson(Object v) {
            StringBuilder sb = new StringBuilder();
            write(sb, v);
            return sb.toString();
        }
    }

    static String describe(Object v) {
        if (v == Json.NULL) return "null";
        if (v instanceof Boolean) return "a boolean";
        if (v instanceof JNum) return "a number";
        if (v instanceof String) return "a string";
        if (v instanceof List) return "an array";
        return "an object";
    }

    // ------------------------------------------------------------------ answers

    /** A verdict that ends validation early (no decode). */
    static final class Reject extends Exception {
        private static final long serialVersionUID = 1L;

        final String verdict;
        final String format;

        Reject(String verdict, String format, String reason) {
            super(reason, null, false, false);
            this.verdict = verdict;
            this.format = format;
        }
    }

    static Map<String, Object> answer(String verdict, String format, String reason, Map<String, Object> decoded) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("verdict", verdict);
        if (format != null) out.put("format", format);
        if (reason != null) out.put("reason", reason);
        if (decoded != null) out.put("decoded", decoded);
        return out;
    }

    /** Strings in Unicode code point order, which is UTF-8 byte order (Rust's BTreeSet<String>). */
    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (x != y) return x < y ? -1 : 1;
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }

    static List<String> sortedSet(List<String> names) {
        TreeSet<String> set = new TreeSet<>(AcmeValidator::compareCodePoints);
        set.addAll(names);
        return new ArrayList<>(set);
    }

    // ------------------------------------------------------------------ dates
    // Proleptic Gregorian days, integer arithmetic only (no java.time zone, no clock).

    static boolean isLeap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    }

    static int daysInMonth(int y, int m) {
        switch (m) {
            case 2: return isLeap(y) ? 29 : 28;
            case 4: case 6: case 9: case 11: return 30;
            default: return 31;
        }
    }

    /** `YYYY-MM-DD`, years 0000-9999, a real calendar date. */
    static boolean isDay(String s) {
        if (s.length() != 10 || s.charAt(4) != '-' || s.charAt(7) != '-') return false;
        for (int k : new int[] {0, 1, 2, 3, 5, 6, 8, 9}) {
            char c = s.charAt(k);
            if (c < '0' || c > '9') return false;
        }
        int y = Integer.parseInt(s.substring(0, 4));
        int m = Integer.parseInt(s.substring(5, 7));
        int d = Integer.parseInt(s.substring(8, 10));
        return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
    }

    static long daysFromCivil(long y, long m, long d) {
        y -= m <= 2 ? 1 : 0;
        long era = Math.floorDiv(y, 400);
        long yoe = y - era * 400;
        long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    static String civilFromDays(long z) {
        z += 719468;
        long era = Math.floorDiv(z, 146097);
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long d = doy - (153 * mp + 2) / 5 + 1;
        long m = mp + (mp < 10 ? 3 : -9);
        long y = yoe + era * 400 + (m <= 2 ? 1 : 0);
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2);
    }

    static String pad(long n, int width) {
        return pad(Long.toString(n), width);
    }

    /** digits with leading zeros to width (never String.format: it follows the locale). */
    static String pad(String digits, int width) {
        StringBuilder sb = new StringBuilder(digits);
        while (sb.length() < width) sb.insert(0, '0');
        return sb.toString();
    }

    /** Rust's str::trim: strips Unicode White_Space from both ends. */
    static String rustTrim(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isWhiteSpace(s.charAt(start))) start++;
        while (end > start && isWhiteSpace(s.charAt(end - 1))) end--;
        return s.substring(start, end);
    }

    static boolean isWhiteSpace(char c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
            || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    static final long LK1_EPOCH = daysFromCivil(2000, 1, 1);

    // ------------------------------------------------------------------ acme-ed1

    static final String ED1 = "acme-ed1";
    static final byte[] ED1_PREFIX = "key/".getBytes(StandardCharsets.US_ASCII);
    static final int MAX_KEY_BYTES = 16 * 1024;
    static final byte[] SPKI_PREFIX = hex("302a300506032b6570032100");
    /** The group order L, little-endian. */
    static final byte[] ED25519_L = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    /** The field prime p = 2^255 - 19 and p - 1, little-endian. */
    static final byte[] ED25519_P = hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    static final byte[] ED25519_P_MINUS_1 = hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    static final byte[] ONE = hex("0100000000000000000000000000000000000000000000000000000000000000");
    /** The canonical encodings of the eight points of small order, which verify_strict refuses as R. */
    static final byte[][] SMALL_ORDER = {
        hex("0100000000000000000000000000000000000000000000000000000000000000"),
        hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        hex("0000000000000000000000000000000000000000000000000000000000000000"),
        hex("0000000000000000000000000000000000000000000000000000000000000080"),
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    };

    static byte[] hex(String h) {
        byte[] out = new byte[h.length() / 2];
        for (int k = 0; k < out.length; k++) out[k] = (byte) Integer.parseInt(h.substring(2 * k, 2 * k + 2), 16);
        return out;
    }

    /** Compares 32-byte little-endian numbers a[from, from + 32) and b. */
    static int compareLittleEndian(byte[] a, int from, byte[] b) {
        for (int k = 31; k >= 0; k--) {
            int x = a[from + k] & 0xff;
            int y = b[k] & 0xff;
            if (x != y) return x < y ? -1 : 1;
        }
        return 0;
    }

    static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\r' || b == '\n';
    }

    static boolean isB64url(byte b) {
        return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_';
    }

    /** Canonical padded base64url (no trailing bits) of bytes[from, to), or null. */
    static byte[] decodeB64url(byte[] bytes, int from, int to) {
        int n = to - from;
        if (n % 4 != 0) return null;
        int pad = 0;
        if (n > 0 && bytes[to - 1] == '=') pad = (n > 1 && bytes[to - 2] == '=') ? 2 : 1;
        for (int k = from; k < to - pad; k++) {
            if (!isB64url(bytes[k])) return null;
        }
        String text = new String(bytes, from, n, StandardCharsets.US_ASCII);
        byte[] out;
        try {
            out = Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
        return Base64.getUrlEncoder().encodeToString(out).equals(text) ? out : null;
    }

    static final class Trusted {
        final String kid;
        final byte[] raw;
        final PublicKey key;
        /** Initialised for verification with key; verify() resets it to that state. */
        final Signature verifier;

        Trusted(String kid, byte[] raw, PublicKey key) throws GeneralSecurityException {
            this.kid = kid;
            this.raw = raw;
            this.key = key;
            this.verifier = Signature.getInstance("Ed25519");
            verifier.initVerify(key);
        }

        /**
         * ed25519-dalek's verify_strict: s < L, R a canonical encoding of a
         * point not of small order, then the cofactorless equation, over the
         * exact bytes received.
         */
        boolean verifyStrict(byte[] message, byte[] sig) {
            if (compareLittleEndian(sig, 32, ED25519_L) >= 0) return false;
            byte[] r = Arrays.copyOf(sig, 32);
            for (byte[] small : SMALL_ORDER) {
                if (Arrays.equals(r, small)) return false;
            }
            boolean xSign = (r[31] & 0x80) != 0;
            r[31] &= 0x7f;
            if (compareLittleEndian(r, 0, ED25519_P) >= 0) return false;
            // x = 0 (y = 1 or y = p - 1) has one encoding only, with the sign bit clear.
            if (xSign && (Arrays.equals(r, ONE) || Arrays.equals(r, ED25519_P_MINUS_1))) return false;
            try {
                verifier.update(message);
                return verifier.verify(sig);
            } catch (GeneralSecurityException e) {
                try {
                    verifier.initVerify(key); // back to a known state
                } catch (GeneralSecurityException again) {
                    throw new IllegalStateException("cannot re-initialise the verifier of " + kid, again);
                }
                return false; // e.g. R is not a point of the curve
            }
        }
    }

    static Map<String, Object> validateEd1(byte[] key, Context ctx, List<Trusted> trusted) throws Reject {
        // 1. trim surrounding whitespace
        int start = 0;
        int end = key.length;
        while (start < end && isSpace(key[start])) start++;
        while (end > start && isSpace(key[end - 1])) end--;
        int len = end - start;
        // 2. the wire form
        if (len > MAX_KEY_BYTES) {
            throw new Reject("malformed", null, len + " bytes, more than the " + MAX_KEY_BYTES + " an acme-ed1 key may have");
        }
        if (len < 4 || !Arrays.equals(key, start, start + 4, ED1_PREFIX, 0, 4)) {
            throw new Reject("malformed", null, "no `key/` prefix");
        }
        int rest = start + 4;
        int dots = 0;
        int dot = -1;
        for (int k = rest; k < end; k++) {
            if (key[k] == '.') {
                if (dot < 0) dot = k;
                dots++;
            }
        }
        if (dots != 1) throw new Reject("malformed", null, dots + " dots after `key/`, expected exactly one");
        byte[] payload = decodeB64url(key, rest, dot);
        if (payload == null) throw new Reject("malformed", null, "payload is not canonical padded base64url");
        byte[] signature = decodeB64url(key, dot + 1, end);
        if (signature == null) throw new Reject("malformed", null, "signature is not canonical padded base64url");
        if (signature.length != 64) {
            throw new Reject("malformed", null, "signature is " + signature.length + " bytes, expected 64");
        }
        // 3. the signature, over everything before the '.'
        byte[] signed = Arrays.copyOfRange(key, start, dot);
        String kid = null;
        for (Trusted t : trusted) {
            if (t.verifyStrict(signed, signature)) {
                kid = t.kid;
                break;
            }
        }
        if (kid == null) throw new Reject("bad_signature", ED1, "no trusted key verifies the signature");
        // 4. a JSON object
        Object parsed;
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(payload))
                .toString();
            parsed = Json.parse(text, 128);
        } catch (CharacterCodingException e) {
            throw new Reject("malformed", ED1, "payload is not JSON: not UTF-8");
        } catch (JsonError e) {
            throw new Reject("malformed", ED1, "payload is not JSON: " + e.getMessage());
        }
        if (!(parsed instanceof Map)) {
            throw new Reject("malformed", ED1, "payload is " + describe(parsed) + ", not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> o = (Map<String, Object>) parsed;
        // 5. the header
        Object v = o.get("v");
        if (!(v instanceof JNum && ((JNum) v).isU64 && ((JNum) v).u64 == 1)) {
            throw new Reject("unsupported_format", ED1, v == null
                ? "format version `v` is missing, expected 1"
                : "format version `v` is " + Json.toJson(v) + ", expected 1");
        }
        Object k2 = o.get("kid");
        if (!kid.equals(k2)) {
            throw new Reject("unsupported_format", ED1, k2 == null
                ? "`kid` is missing; the key that verified is `" + kid + "`"
                : "`kid` is " + Json.toJson(k2) + ", but the key that verified is `" + kid + "`");
        }
        // 6. the entitlement
        Map<String, Object> decoded;
        try {
            decoded = readPayload(o);
        } catch (PayloadError e) {
            throw new Reject("malformed", ED1, "payload: " + e.getMessage());
        }
        // 7. the context
        return judgeEd1(decoded, ctx);
    }

    static final class PayloadError extends Exception {
        private static final long serialVersionUID = 1L;

        PayloadError(String message) {
            super(message, null, false, false);
        }
    }

    static Object field(Map<String, Object> o, String key) throws PayloadError {
        Object v = o.get(key);
        if (v == null) throw new PayloadError("`" + key + "` is missing");
        return v;
    }

    static String string(Map<String, Object> o, String key) throws PayloadError {
        Object v = field(o, key);
        if (!(v instanceof String)) throw new PayloadError("`" + key + "` is " + describe(v) + ", expected a string");
        return (String) v;
    }

    static long integer(Map<String, Object> o, String key, long max) throws PayloadError {
        Object v = field(o, key);
        if (!(v instanceof JNum)) throw new PayloadError("`" + key + "` is " + describe(v) + ", expected a number");
        JNum n = (JNum) v;
        if (!n.isU64AtMost(max)) throw new PayloadError("`" + key + "` is " + n.text + ", expected an integer from 0 to " + max);
        return n.u64;
    }

    static String date(Map<String, Object> o, String key) throws PayloadError {
        String text = string(o, key);
        if (!isDay(text)) throw new PayloadError("`" + key + "`: " + Json.toJson(text) + " is not a real calendar date");
        return text;
    }

    interface Reader<T> {
        T read(Map<String, Object> o, String key) throws PayloadError;
    }

    static Object nullable(Map<String, Object> o, String key, Reader<?> read) throws PayloadError {
        return field(o, key) == Json.NULL ? Json.NULL : read.read(o, key);
    }

    static List<String> features(Map<String, Object> o) throws PayloadError {
        Object v = field(o, "feat");
        if (!(v instanceof List)) throw new PayloadError("`feat` is not an array");
        List<String> names = new ArrayList<>();
        for (Object item : (List<?>) v) {
            if (!(item instanceof String)) throw new PayloadError("`feat` holds " + describe(item) + ", expected strings");
            names.add((String) item);
        }
        return sortedSet(names);
    }

    static Map<String, Object> customer(Map<String, Object> o, String key) throws PayloadError {
        Object c = field(o, key);
        if (!(c instanceof Map)) throw new PayloadError("`" + key + "` is not null or an object");
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) c;
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            out.put("id", string(m, "id"));
            out.put("name", string(m, "name"));
        } catch (PayloadError e) {
            throw new PayloadError("`" + key + "`: " + e.getMessage());
        }
        return out;
    }

    static final long U32_MAX = 0xFFFF_FFFFL;

    /** Step 6, in the builtin's order (each failure is `malformed` whatever the order). */
    static Map<String, Object> readPayload(Map<String, Object> o) throws PayloadError {
        String edition = string(o, "ed");
        if (!EDITIONS.contains(edition)) {
            throw new PayloadError("`ed` is " + Json.toJson(edition) + ", not an edition of the catalog");
        }
        Object seats = Json.NULL;
        if (field(o, "seats") != Json.NULL) {
            long n = integer(o, "seats", U32_MAX);
            if (n == 0) throw new PayloadError("`seats` is 0, expected null or 1 or more");
            seats = n;
        }
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("product", string(o, "prod"));
        d.put("edition", edition);
        d.put("max_major", integer(o, "maxv", 255));
        d.put("features", features(o));
        d.put("seats", seats);
        d.put("issued", date(o, "iat"));
        d.put("expires", nullable(o, "exp", AcmeValidator::date));
        d.put("maintenance_until", nullable(o, "maint", AcmeValidator::date));
        d.put("serial", integer(o, "serial", U32_MAX));
        d.put("customer", nullable(o, "cust", AcmeValidator::customer));
        d.put("order_id", nullable(o, "order", AcmeValidator::string));
        d.put("host_id", nullable(o, "host", AcmeValidator::string));
        return d;
    }

    static Map<String, Object> judgeEd1(Map<String, Object> d, Context ctx) {
        String product = (String) d.get("product");
        long maxMajor = (Long) d.get("max_major");
        Object expires = d.get("expires");
        Object host = d.get("host_id");
        if (!product.equals(ctx.product)) {
            return answer("wrong_product", ED1, "key is for " + product + ", not " + ctx.product, d);
        }
        if (ctx.major > maxMajor) {
            return answer("version_not_covered", ED1, "key covers up to major " + maxMajor + ", not " + ctx.version, d);
        }
        if (expires != Json.NULL && ctx.today.compareTo((String) expires) > 0) {
            return answer("expired", ED1, "expired after " + expires, d);
        }
        if (host != Json.NULL && !host.equals(ctx.hostId)) {
            String reason = ctx.hostId == null
                ? "key is locked to host " + Json.toJson(host) + " and the context has no host id"
                : "key is locked to host " + Json.toJson(host) + ", not " + Json.toJson(ctx.hostId);
            return answer("host_mismatch", ED1, reason, d);
        }
        return answer("valid", ED1, null, d);
    }

    // ------------------------------------------------------------------ acme-lk1

    static final String LK1 = "acme-lk1";
    static final byte SEPARATOR = (byte) 0xFE;
    static final byte INVALID = (byte) 0xFF;
    static final byte[] SYMBOL_VALUES = new byte[256];
    static final byte[] MAC_DOMAIN = "ACME-LK1".getBytes(StandardCharsets.US_ASCII);
    static final int[] WIDTHS = {4, 8, 3, 8, 16, 10, 14, 20, 2};

    static {
        Arrays.fill(SYMBOL_VALUES, INVALID);
        String alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        for (int k = 0; k < 32; k++) {
            SYMBOL_VALUES[alphabet.charAt(k)] = (byte) k;
            SYMBOL_VALUES[Character.toLowerCase(alphabet.charAt(k))] = (byte) k;
        }
        SYMBOL_VALUES['O'] = 0;
        SYMBOL_VALUES['o'] = 0;
        SYMBOL_VALUES['I'] = 1;
        SYMBOL_VALUES['i'] = 1;
        SYMBOL_VALUES['L'] = 1;
        SYMBOL_VALUES['l'] = 1;
        for (char c : new char[] {' ', '\t', '\r', '\n', '-'}) SYMBOL_VALUES[c] = SEPARATOR;
    }

    static Map<String, Object> validateLk1(byte[] key, Context ctx, Mac mac) throws Reject {
        // Normalise: delete separators, fold case and look-alikes, nothing else.
        int[] symbols = new int[25];
        long count = 0;
        for (int offset = 0; offset < key.length; offset++) {
            int b = key[offset] & 0xff;
            byte v = SYMBOL_VALUES[b];
            if (v == SEPARATOR) continue;
            if (v == INVALID) {
                String hex = pad(Integer.toHexString(b).toUpperCase(Locale.ROOT), 2);
                throw new Reject("malformed", null, "byte 0x" + hex + " at offset " + offset + " is not a Crockford base32 symbol");
            }
            if (count < 25) symbols[(int) count] = v;
            count++;
        }
        if (count != 25) throw new Reject("malformed", null, count + " symbols after normalisation, expected 25");
        // 17 symbols of payload (85 bits), 8 of MAC (40 bits).
        BigInteger bits = BigInteger.ZERO;
        for (int k = 0; k < 17; k++) bits = bits.shiftLeft(5).or(BigInteger.valueOf(symbols[k]));
        long tag = 0;
        for (int k = 17; k < 25; k++) tag = (tag << 5) | symbols[k];
        byte[] payload = new byte[11];
        byte[] be = bits.toByteArray();
        int copy = Math.min(be.length, 11);
        System.arraycopy(be, be.length - copy, payload, 11 - copy, copy);
        mac.update(MAC_DOMAIN);
        mac.update(payload);
        byte[] full = mac.doFinal();
        byte[] expected = Arrays.copyOf(full, 5);
        byte[] given = new byte[5];
        for (int k = 0; k < 5; k++) given[k] = (byte) (tag >>> (8 * (4 - k)));
        if (!MessageDigest.isEqual(expected, given)) throw new Reject("bad_signature", null, "MAC does not match");
        int[] f = new int[WIDTHS.length];
        BigInteger rest = bits;
        for (int k = WIDTHS.length - 1; k >= 0; k--) {
            f[k] = rest.and(BigInteger.ONE.shiftLeft(WIDTHS[k]).subtract(BigInteger.ONE)).intValue();
            rest = rest.shiftRight(WIDTHS[k]);
        }
        int ver = f[0], product = f[1], edition = f[2], maxMajor = f[3], featureBits = f[4];
        int seats = f[5], expiryDays = f[6], serial = f[7], reserved = f[8];
        if (ver != 1) throw new Reject("unsupported_format", null, "format version " + ver + ", expected 1");
        if (reserved != 0) throw new Reject("malformed", LK1, "reserved bits are " + reserved + ", expected 0");
        if (edition >= EDITIONS.size()) throw new Reject("malformed", LK1, "edition code " + edition + " is not defined");
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 16; bit++) {
            if ((featureBits & (1 << bit)) != 0) names.add(FEATURE_BITS[bit]);
        }
        String productName = PRODUCT_BY_LEGACY_ID.getOrDefault(product, "legacy-id-" + product);
        Object expires = expiryDays == 0 ? Json.NULL : civilFromDays(LK1_EPOCH + expiryDays);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("product", productName);
        d.put("edition", EDITIONS.get(edition));
        d.put("max_major", maxMajor);
        d.put("features", sortedSet(names));
        d.put("seats", seats == 0 ? Json.NULL : (Object) seats);
        d.put("expires", expires);
        d.put("serial", serial);
        d.put("host_id", Json.NULL);
        // The context checks (acme-lk1 keys are never node-locked).
        Integer contextId = LEGACY_ID_BY_PRODUCT.get(ctx.product);
        if (contextId == null || contextId != product) {
            String reason = contextId == null
                ? ctx.product + " has no legacy product id"
                : "key is for " + productName + ", not " + ctx.product;
            return answer("wrong_product", LK1, reason, d);
        }
        if (ctx.major > maxMajor) {
            return answer("version_not_covered", LK1, "key covers up to major " + maxMajor + ", not " + ctx.version, d);
        }
        if (expires != Json.NULL && ctx.today.compareTo((String) expires) > 0) {
            return answer("expired", LK1, "expired after " + expires, d);
        }
        return answer("valid", LK1, null, d);
    }

    // ------------------------------------------------------------------ the validator

    static final class SettingsError extends Exception {
        private static final long serialVersionUID = 1L;

        SettingsError(String message) {
            super(message);
        }
    }

    static final class BadArgument extends Exception {
        private static final long serialVersionUID = 1L;

        BadArgument(String message) {
            super(message);
        }
    }

    static final class Context {
        final String product;
        final String version;
        final long major;
        final String today;
        final String hostId; // null: none

        Context(String product, String version, long major, String today, String hostId) {
            this.product = product;
            this.version = version;
            this.major = major;
            this.today = today;
            this.hostId = hostId;
        }
    }

    static final class Validator {
        final Mac mac;
        final List<Trusted> trusted;

        Validator(Object settingsValue) throws SettingsError, GeneralSecurityException {
            if (!(settingsValue instanceof Map)) throw new SettingsError("settings: not an object");
            Map<?, ?> settings = (Map<?, ?>) settingsValue;
            Object secret = settings.get("lk1_secret");
            if (!(secret instanceof String)) throw new SettingsError("settings: lk1_secret: missing");
            if (((String) secret).isEmpty()) throw new SettingsError("settings: lk1_secret: must not be empty");
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(((String) secret).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            Object text = settings.get("trusted_keys");
            if (!(text instanceof String)) throw new SettingsError("settings: trusted_keys: missing");
            trusted = parseTrusted((String) text);
        }

        Map<String, Object> validate(byte[] key, Context ctx) {
            int start = 0;
            while (start < key.length && isSpace(key[start])) start++;
            boolean ed1 = key.length - start >= 4 && Arrays.equals(key, start, start + 4, ED1_PREFIX, 0, 4);
            try {
                return ed1 ? validateEd1(key, ctx, trusted) : validateLk1(key, ctx, mac);
            } catch (Reject r) {
                return answer(r.verdict, r.format, r.getMessage(), null);
            }
        }
    }

    static List<Trusted> parseTrusted(String text) throws SettingsError {
        List<Trusted> keys = new ArrayList<>();
        String[] entries = text.split(",", -1);
        KeyFactory factory;
        try {
            factory = KeyFactory.getInstance("Ed25519");
        } catch (GeneralSecurityException e) {
            throw new SettingsError("settings: trusted_keys: this JVM has no Ed25519: " + e);
        }
        for (int k = 0; k < entries.length; k++) {
            String entry = rustTrim(entries[k]);
            int n = k + 1;
            int colon = entry.indexOf(':');
            if (colon < 0) {
                throw new SettingsError("settings: trusted_keys: entry " + n + " (" + Json.toJson(entry) + ") is not `kid:64-hex-public-key`");
            }
            String kid = rustTrim(entry.substring(0, colon));
            String hexKey = rustTrim(entry.substring(colon + 1));
            if (kid.isEmpty()) throw new SettingsError("settings: trusted_keys: entry " + n + " has an empty kid");
            if (!hexKey.matches("[0-9a-fA-F]{64}")) {
                throw new SettingsError("settings: trusted_keys: key `" + kid + "`: expected 64 hex digits (an Ed25519 public key)");
            }
            byte[] raw = hex(hexKey);
            PublicKey key;
            try {
                byte[] der = new byte[SPKI_PREFIX.length + 32];
                System.arraycopy(SPKI_PREFIX, 0, der, 0, SPKI_PREFIX.length);
                System.arraycopy(raw, 0, der, SPKI_PREFIX.length, 32);
                key = factory.generatePublic(new X509EncodedKeySpec(der));
            } catch (GeneralSecurityException | RuntimeException e) {
                throw new SettingsError("settings: trusted_keys: key `" + kid + "`: not a valid Ed25519 public key");
            }
            for (Trusted other : keys) {
                if (other.kid.equals(kid) || Arrays.equals(other.raw, raw)) {
                    throw new SettingsError("settings: trusted_keys: key `" + kid + "`: the kid or the key repeats `" + other.kid + "`");
                }
            }
            try {
                keys.add(new Trusted(kid, raw, key));
            } catch (GeneralSecurityException e) {
                throw new SettingsError("settings: trusted_keys: key `" + kid + "`: " + e);
            }
        }
        return keys;
    }

    // ------------------------------------------------------------------ protocol

    static Context readContext(Object value) throws BadArgument {
        if (!(value instanceof Map)) throw new BadArgument("context: not an object");
        Map<?, ?> c = (Map<?, ?>) value;
        Object product = c.get("product");
        Object version = c.get("version");
        Object today = c.get("today");
        Object host = c.get("host_id");
        if (!(product instanceof String)) throw new BadArgument("context: product: expected a string");
        // MAJOR.MINOR: two decimal numbers below 2^32, no signs or spaces (PROTOCOL.md).
        if (!(version instanceof String) || !((String) version).matches("[0-9]+\\.[0-9]+")) {
            throw new BadArgument("context: version: " + Json.toJson(version) + " is not MAJOR.MINOR");
        }
        if (!(today instanceof String) || !isDay((String) today)) {
            throw new BadArgument("context: today: " + Json.toJson(today) + " is not a date");
        }
        if (host != null && host != Json.NULL && !(host instanceof String)) {
            throw new BadArgument("context: host_id: expected a string or null");
        }
        String[] parts = ((String) version).split("\\.");
        long major = u32(parts[0]);
        long minor = u32(parts[1]);
        if (major < 0 || minor < 0) {
            throw new BadArgument("context: version: " + Json.toJson(version) + " is not MAJOR.MINOR");
        }
        return new Context((String) product, major + "." + minor, major, (String) today,
            host instanceof String ? (String) host : null);
    }

    /** Decimal digits as a number below 2^32, or -1. */
    static long u32(String digits) {
        String d = digits.replaceFirst("^0+(?=.)", "");
        return d.length() <= 10 && Long.parseLong(d) <= 0xFFFF_FFFFL ? Long.parseLong(d) : -1;
    }

    static byte[] keyBytes(Map<?, ?> item) throws BadArgument {
        Object key = item.get("key");
        if (key instanceof String) return ((String) key).getBytes(StandardCharsets.UTF_8);
        Object b64 = item.get("key_base64");
        if (b64 instanceof String) {
            try {
                return Base64.getDecoder().decode((String) b64);
            } catch (IllegalArgumentException e) {
                throw new BadArgument("key_base64 is not base64: " + e.getMessage());
            }
        }
        throw new BadArgument("item has neither `key` nor `key_base64`");
    }

    static Map<String, Object> error(String kind, String message) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("kind", kind);
        e.put("message", message);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("error", e);
        return out;
    }

    static Map<String, Object> validateItem(Validator validator, Object item) {
        try {
            if (!(item instanceof Map)) throw new BadArgument("item is not an object");
            Context ctx = readContext(((Map<?, ?>) item).get("context"));
            return validator.validate(keyBytes((Map<?, ?>) item), ctx);
        } catch (BadArgument e) {
            return error("bad_argument", e.getMessage());
        } catch (Exception | StackOverflowError e) {
            return error("internal", e.toString());
        }
    }

    private final OutputStream out;
    private Validator validator;

    AcmeValidator(OutputStream out) {
        this.out = out;
    }

    void send(Map<String, Object> message) throws IOException {
        StringBuilder sb = new StringBuilder();
        Json.write(sb, message);
        sb.append('\n');
        out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static Map<String, Object> message(String type) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        return m;
    }

    /** Answers sent per results message at most. */
    static final int PARTIAL = 32;

    void sendResults(Object id, List<Object> results, boolean more) throws IOException {
        Map<String, Object> answer = message("results");
        answer.put("id", id);
        answer.put("results", results);
        if (more) answer.put("more", true);
        send(answer);
    }

    void sendError(String text) throws IOException {
        Map<String, Object> m = message("error");
        m.put("message", text);
        send(m);
    }

    /** Set when the hello was refused: the plugin then exits (PROTOCOL.md). */
    boolean refused;

    void handle(String line) throws IOException {
        Object parsed;
        try {
            parsed = Json.parse(line, 1024);
        } catch (JsonError e) {
            sendError("not a JSON line: " + e.getMessage());
            return;
        }
        if (!(parsed instanceof Map)) {
            sendError("a message must be a JSON object");
            return;
        }
        Map<?, ?> msg = (Map<?, ?>) parsed;
        Object type = msg.get("type");
        if ("hello".equals(type)) {
            Object protocol = msg.get("protocol");
            if (!(protocol instanceof JNum && ((JNum) protocol).isU64 && ((JNum) protocol).u64 == PROTOCOL)) {
                sendError("protocol " + Json.toJson(protocol) + " is not supported; I speak " + PROTOCOL);
                refused = true;
                return;
            }
            Object settings = msg.containsKey("settings") ? msg.get("settings") : new HashMap<String, Object>();
            try {
                validator = new Validator(settings);
            } catch (SettingsError | GeneralSecurityException e) {
                validator = null;
                sendError(e.getMessage());
                refused = true;
                return;
            }
            List<String> kids = new ArrayList<>();
            for (Trusted t : validator.trusted) kids.add(t.kid);
            System.err.println(NAME + " " + VERSION + ": ready (java " + System.getProperty("java.version")
                + "; trusted kids: " + String.join(", ", kids) + ")");
            Map<String, Object> ready = message("ready");
            ready.put("protocol", PROTOCOL);
            ready.put("name", NAME);
            ready.put("version", VERSION);
            Map<String, Object> caps = new LinkedHashMap<>();
            caps.put("generate", false);
            caps.put("validate", true);
            caps.put("formats", List.of(ED1, LK1));
            ready.put("capabilities", caps);
            ready.put("max_in_flight", 1);
            send(ready);
        } else if ("validate".equals(type)) {
            if (validator == null) {
                sendError("validate before a successful hello");
                return;
            }
            // The answers go out PARTIAL items at a time, each message but the
            // last marked "more" (PROTOCOL.md, "Time"): an acme-ed1 key costs up
            // to two Ed25519 checks in pure Java (3-16 ms each on a loaded
            // machine with a cold JIT), so a request of 256 bad signatures could
            // stay silent for longer than keycompat waits.
            List<?> items = msg.get("items") instanceof List ? (List<?>) msg.get("items") : List.of();
            List<Object> results = new ArrayList<>();
            for (int k = 0; k < items.size(); k++) {
                results.add(validateItem(validator, items.get(k)));
                if (results.size() == PARTIAL && k + 1 < items.size()) {
                    sendResults(msg.get("id"), results, true);
                    results = new ArrayList<>();
                }
            }
            sendResults(msg.get("id"), results, false);
        } else if ("generate".equals(type)) {
            List<Object> results = new ArrayList<>();
            Object entitlements = msg.get("entitlements");
            int n = entitlements instanceof List ? ((List<?>) entitlements).size() : 0;
            for (int k = 0; k < n; k++) results.add(error("unsupported", NAME + " validates only; it issues no keys"));
            sendResults(msg.get("id"), results, false);
        } else {
            sendError("unknown message type " + Json.toJson(type));
        }
    }

    /** Splits standard input into lines ('\n'-terminated; the last may lack it). */
    static final class LineReader {
        private final InputStream in;
        private final byte[] chunk = new byte[1 << 16];
        private int pos;
        private int len;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineReader(InputStream in) {
            this.in = in;
        }

        /** The next line without its '\n', or null at end of input. */
        byte[] next() throws IOException {
            line.reset();
            for (;;) {
                if (pos == len) {
                    len = in.read(chunk);
                    pos = 0;
                    if (len <= 0) {
                        len = 0;
                        return line.size() > 0 ? line.toByteArray() : null;
                    }
                }
                int start = pos;
                while (pos < len && chunk[pos] != '\n') pos++;
                line.write(chunk, start, pos - start);
                if (pos < len) {
                    pos++; // the '\n'
                    return line.toByteArray();
                }
            }
        }
    }

    public static void main(String[] args) throws IOException {
        OutputStream stdout = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
        System.setOut(System.err); // nothing but the protocol reaches stdout
        AcmeValidator plugin = new AcmeValidator(stdout);
        LineReader lines = new LineReader(new FileInputStream(FileDescriptor.in));
        for (;;) {
            byte[] line = lines.next();
            if (line == null) break;
            String text = new String(line, StandardCharsets.UTF_8);
            if (text.isBlank()) continue;
            plugin.handle(text);
            if (plugin.refused) break;
        }
        stdout.flush();
    }
}
