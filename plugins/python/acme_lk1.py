#!/usr/bin/env python3
"""acme-lk1, the old Acme key format, as a keycompat process plugin.

A generator and validator of acme-lk1 keys (vectors/acme/SCHEMES.md, "acme-lk1")
written with the Python 3 standard library only (Python 3.8 or later), the way
a shipped Python product would embed it. It answers exactly as keycompat's
builtin acme-lk1 (src/schemes/lk1/): the same keys, refusals (naming the same
field, first in the order product, edition, features, seats, expires, serial,
host_id), verdicts, `format` and `decoded`, and the same reason texts.

Three ways to use it:

* As a module::

      import acme_lk1
      acme_lk1.generate(entitlement, secret)      # {"key": ...} or {"refused": ...}
      acme_lk1.validate(key_text, context, secret)  # {"verdict": ..., ...}

  `entitlement` is the canonical JSON form of SCHEMES.md as a dict, `context`
  a dict with product, version, today and host_id, `secret` a str (its UTF-8
  bytes key the HMAC) or bytes. `key_text` is a str or the key's raw bytes.
  Both return the answer exactly as it goes into a protocol `results` message.
  `Lk1(secret)` holds the keyed HMAC state, for callers that validate many keys.

* As a process plugin (plugins/PROTOCOL.md, protocol 1)::

      [systems.viewer-3-1]
      command = ["python3", "plugins/python/acme_lk1.py"]
      [systems.viewer-3-1.settings]
      secret = "acme-legacy-demo-secret-DO-NOT-SHIP"

* As a benchmark of the same code in its own loop, to compare with the cost
  of going through the protocol::

      python3 acme_lk1.py --bench KEYFILE CONTEXT_JSON [-n ITERATIONS] [--secret S]
      python3 acme_lk1.py --bench --items ITEMS.jsonl [-n ITERATIONS] [--secret S]

  validates every line of KEYFILE (one key a line) in CONTEXT_JSON, or every
  protocol validate item of ITEMS.jsonl (`key` or `key_base64`, and its own
  `context`; `keycompat bench --write-keys` writes the keys it measures in
  this form), ITERATIONS times (default: as many rounds as fit in about 2
  seconds) and prints one JSON object with keys/second. Contexts are parsed
  once, before the clock starts, as an application holds its own.

It never reads the clock, the time zone or the locale to judge a key: `today`
comes from the context. (A monotonic clock only paces the results messages of
a long request, see PROGRESS_SECONDS.)
"""

import base64
import hashlib
import hmac
import json
import sys
import time

FORMAT = "acme-lk1"
NAME = "acme-lk1-py"
VERSION = "1.0.0"
PROTOCOL = 1

# ------------------------------------------------------------------ catalog
# The Acme catalog of SCHEMES.md (src/catalog.rs, Catalog::acme).

EDITIONS = ["trial", "standard", "professional", "enterprise"]
PRODUCTS = {  # slug -> legacy id (None: new-only product)
    "acme-cad": 17,
    "acme-viewer": 18,
    "acme-sim": 21,
    "acme-cloud": None,
}
LEGACY_FEATURES = [
    "export-dwg", "export-step", "export-pdf", "render-gpu", "scripting",
    "plugins-sdk", "cloud-sync", "collaboration", "pdm", "simulation", "cam",
    "sheet-metal", "electrical", "piping", "offline-mode", "priority-support",
]
FEATURES = dict((slug, bit) for bit, slug in enumerate(LEGACY_FEATURES))
FEATURES.update({"ai-assist": None, "web-viewer": None, "api-access": None})

# Decoded name of every legacy product id and feature bit.
PRODUCT_NAMES = ["legacy-id-%d" % i for i in range(256)]
for _slug, _id in PRODUCTS.items():
    if _id is not None:
        PRODUCT_NAMES[_id] = _slug
BIT_NAMES = list(LEGACY_FEATURES)

# ------------------------------------------------------------------- format

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SYMBOLS = 25
MAX_SEATS = (1 << 10) - 1
MAX_EXPIRY_DAYS = (1 << 14) - 1
MAX_SERIAL = (1 << 20) - 1
MAC_DOMAIN = b"ACME-LK1"
MAC_BITS = 40
# Field widths, most significant first: ver, product, edition, max_major,
# features, seats, expiry_days, serial, reserved (85 bits).
WIDTHS = (4, 8, 3, 8, 16, 10, 14, 20, 2)
EPOCH_DAYS = None  # days_from_civil(2000, 1, 1), set below

SEPARATORS = b" \t\r\n-"
_INT_DIGITS = "0123456789abcdefghijklmnopqrstuv"  # what int(text, 32) reads
_BAD = ord("!")


def _fold_table():
    """A bytes.translate table: each symbol (after case and look-alike
    folding) to the digit int(x, 32) reads for its Crockford value, every
    other byte to '!'."""
    table = bytearray([_BAD] * 256)
    for value, c in enumerate(ALPHABET):
        table[ord(c)] = ord(_INT_DIGITS[value])
        table[ord(c.lower())] = ord(_INT_DIGITS[value])
    for c, value in (("O", 0), ("I", 1), ("L", 1)):
        table[ord(c)] = ord(_INT_DIGITS[value])
        table[ord(c.lower())] = ord(_INT_DIGITS[value])
    return bytes(table)


FOLD = _fold_table()
_SEPARATOR_SET = frozenset(SEPARATORS)


# -------------------------------------------------------------------- dates

def days_from_civil(y, m, d):
    """Days from 1970-01-01 to y-m-d, proleptic Gregorian (any year)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(y, m, d) of the day z days after 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + (m <= 2), m, d)


def _is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_day(text):
    """Days since 1970-01-01 of a strict `YYYY-MM-DD` (years 0000-9999, a
    real calendar date), as keycompat's Day::parse; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("%s is not a date (expected YYYY-MM-DD)" % _describe(text))
    digits = text[0:4] + text[5:7] + text[8:10]
    ok = (len(text) == 10 and text[4] == "-" and text[7] == "-"
          and digits.isascii() and digits.isdigit())
    if not ok:
        raise ValueError("%s is not a date (expected YYYY-MM-DD)" % rust_debug(text))
    y, m, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
    if not (1 <= m <= 12) or not (1 <= d <= (29 if m == 2 and _is_leap(y) else _MONTH_DAYS[m - 1])):
        raise ValueError("%s is not a real calendar date" % rust_debug(text))
    return days_from_civil(y, m, d)


def format_day(days):
    y, m, d = civil_from_days(days)
    return "%04d-%02d-%02d" % (y, m, d)


EPOCH_DAYS = days_from_civil(2000, 1, 1)


def parse_version(text):
    """(major, minor) of `MAJOR.MINOR` (1 to 9 decimal digits each)."""
    if isinstance(text, str) and "." in text:
        a, b = text.split(".", 1)
        if all(0 < len(p) <= 9 and p.isascii() and p.isdigit() for p in (a, b)):
            return int(a), int(b)
    raise ValueError("%s is not a version (expected MAJOR.MINOR, e.g. 7.0)"
                     % (rust_debug(text) if isinstance(text, str) else _describe(text)))


# ------------------------------------------------------------------ helpers

def rust_debug(s):
    """A string quoted as Rust's `{:?}` quotes it (close enough for reasons)."""
    import unicodedata
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        elif ch != " " and unicodedata.category(ch) in (
                "Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"):
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _describe(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


class BadArgument(Exception):
    """The request itself is malformed: answered `bad_argument`."""


def _refused(field, reason):
    return {"refused": {"field": field, "reason": reason}}


def _error(kind, message):
    return {"error": {"kind": kind, "message": message}}


def _int_field(e, name, lo, hi, nullable=False):
    if name not in e:
        if nullable:
            return None
        raise BadArgument("%s: missing" % name)
    v = e[name]
    if v is None and nullable:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BadArgument("%s: %s is not an integer from %d to %d"
                          % (name, json.dumps(v), lo, hi))
    return v


def _str_field(obj, name, nullable=False):
    if name not in obj:
        if nullable:
            return None
        raise BadArgument("%s: missing" % name)
    v = obj[name]
    if v is None and nullable:
        return None
    if not isinstance(v, str):
        raise BadArgument("%s: %s, expected a string" % (name, _describe(v)))
    return v


# -------------------------------------------------------------------- codec

class Lk1(object):
    """The acme-lk1 codec for one secret (the HMAC key state is made once)."""

    def __init__(self, secret):
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not secret:
            raise ValueError("must not be empty")
        # HMAC-SHA256 (RFC 2104) by hand with hashlib: the inner hash already
        # fed the domain prefix, both copied per key (twice as fast as
        # copying an hmac object, and key throughput is benchmarked).
        if len(secret) > 64:
            secret = hashlib.sha256(secret).digest()
        secret = secret.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in secret))
        self._inner.update(MAC_DOMAIN)
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in secret))

    # ---- the MAC

    def tag(self, payload):
        """The 40-bit MAC of an 85-bit payload: the first 5 bytes of
        HMAC-SHA256(secret, "ACME-LK1" || payload as 11 big-endian bytes)."""
        inner = self._inner.copy()
        inner.update(payload.to_bytes(11, "big"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:5]

    def seal(self, fields):
        """The key holding exactly these 9 raw field values (in WIDTHS
        order) with a correct MAC, whatever they say (for tests: forged
        versions, reserved bits, edition codes)."""
        payload = 0
        for v, bits in zip(fields, WIDTHS):
            payload = (payload << bits) | (v & ((1 << bits) - 1))
        value = (payload << MAC_BITS) | int.from_bytes(self.tag(payload), "big")
        return format_symbols(value)

    # ---- generate

    def generate(self, e):
        """The answer to one generate item: {"key"}, {"refused"} or {"error"}."""
        try:
            return self._generate(e)
        except BadArgument as err:
            return _error("bad_argument", str(err))

    def _generate(self, e):
        if not isinstance(e, dict):
            raise BadArgument("the entitlement is %s, not an object" % _describe(e))
        # product
        slug = _str_field(e, "product")
        if slug not in PRODUCTS:
            return _refused("product", "%s is not a known product" % rust_debug(slug))
        product = PRODUCTS[slug]
        if product is None:
            return _refused("product", "%s has no legacy product id" % slug)
        # edition
        edition = _str_field(e, "edition")
        if edition not in EDITIONS:
            raise BadArgument("edition: %s is not an edition of the catalog" % rust_debug(edition))
        edition = EDITIONS.index(edition)
        max_major = _int_field(e, "max_major", 0, 255)
        # features: a set, in byte order, as keycompat's BTreeSet
        names = e.get("features", [])
        if names is None:
            names = []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadArgument("features: expected an array of strings")
        bitmap = 0
        for name in sorted(set(names), key=lambda s: s.encode("utf-8", "surrogatepass")):
            if name not in FEATURES:
                return _refused("features", "%s is not a known feature and has no legacy bit"
                                % rust_debug(name))
            bit = FEATURES[name]
            if bit is None:
                return _refused("features", "%s has no legacy bit" % name)
            bitmap |= 1 << bit
        # seats
        seats = _int_field(e, "seats", 0, 2 ** 32 - 1, nullable=True)
        if seats is None:
            seats = 0
        elif seats == 0:
            raise BadArgument("seats: 0 is not a seat count (at least 1; null means unlimited)")
        elif seats > MAX_SEATS:
            return _refused("seats", "%d is more than acme-lk1 can carry (%d)" % (seats, MAX_SEATS))
        # expires
        expires = e.get("expires")
        if expires is None:
            expiry_days = 0
        else:
            try:
                day = parse_day(expires)
            except ValueError as err:
                raise BadArgument("expires: %s" % err)
            expiry_days = day - EPOCH_DAYS
            if expiry_days < 1:
                return _refused("expires", "%s is before 2000-01-02, the earliest expiry "
                                "acme-lk1 can carry" % expires)
            if expiry_days > MAX_EXPIRY_DAYS:
                return _refused("expires", "%s is after 2044-11-08, the latest expiry "
                                "acme-lk1 can carry" % expires)
        # serial
        serial = _int_field(e, "serial", 0, 2 ** 32 - 1)
        if serial > MAX_SERIAL:
            return _refused("serial", "%d is more than acme-lk1 can carry (%d)" % (serial, MAX_SERIAL))
        # host_id: a node lock cannot be carried, and dropping it grants more
        if _str_field(e, "host_id", nullable=True) is not None:
            return _refused("host_id", "acme-lk1 keys cannot be node-locked; dropping the lock "
                            "would grant more than was sold")
        # issued, maintenance_until, customer and order_id are not carried.
        return {"key": self.seal((1, product, edition, max_major, bitmap, seats,
                                  expiry_days, serial, 0))}

    # ---- validate

    def validate(self, key, context):
        """The answer to one validate item (a verdict, or a bad_argument
        error for a context that is not one). `key` is a str or bytes."""
        try:
            ctx = _context(context)
        except BadArgument as err:
            return _error("bad_argument", str(err))
        return self.judge(key, ctx)

    def judge(self, key, ctx):
        """Validates a key in a parsed context (see `_context`)."""
        if isinstance(key, str):
            key = key.encode("utf-8", "surrogatepass")
        value = parse_symbols(key)
        if isinstance(value, str):
            return {"verdict": "malformed", "reason": value}
        payload = value >> MAC_BITS
        inner = self._inner.copy()
        inner.update(payload.to_bytes(11, "big"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        if not hmac.compare_digest(outer.digest()[:5], (value & 0xFFFFFFFFFF).to_bytes(5, "big")):
            return {"verdict": "bad_signature", "reason": "MAC does not match"}
        reserved = payload & 3
        serial = (payload >> 2) & 0xFFFFF
        expiry_days = (payload >> 22) & 0x3FFF
        seats = (payload >> 36) & 0x3FF
        features = (payload >> 46) & 0xFFFF
        max_major = (payload >> 62) & 0xFF
        edition = (payload >> 70) & 7
        product = (payload >> 73) & 0xFF
        ver = payload >> 81
        if ver != 1:
            return {"verdict": "unsupported_format",
                    "reason": "format version %d, expected 1" % ver}
        if reserved != 0:
            return {"verdict": "malformed", "format": FORMAT,
                    "reason": "reserved bits are %d, expected 0" % reserved}
        if edition >= len(EDITIONS):
            return {"verdict": "malformed", "format": FORMAT,
                    "reason": "edition code %d is not defined" % edition}
        expires = _expiry_text(expiry_days) if expiry_days else None
        decoded = {
            "product": PRODUCT_NAMES[product],
            "edition": EDITIONS[edition],
            "max_major": max_major,
            "features": list(_feature_names(features)),
            "seats": seats or None,
            "expires": expires,
            "serial": serial,
            "host_id": None,
        }
        # The context checks, in SCHEMES.md's order (acme-lk1 is never node-locked).
        c_product, c_major, c_minor, c_today = ctx[0], ctx[1], ctx[2], ctx[3]
        context_id = PRODUCTS.get(c_product)
        if context_id != product:
            if context_id is None:
                reason = "%s has no legacy product id" % c_product
            else:
                reason = "key is for %s, not %s" % (decoded["product"], c_product)
            verdict = "wrong_product"
        elif c_major > max_major:
            verdict = "version_not_covered"
            reason = "key covers up to major %d, not %d.%d" % (max_major, c_major, c_minor)
        elif expiry_days and c_today > EPOCH_DAYS + expiry_days:
            verdict = "expired"
            reason = "expired after %s" % expires
        else:
            return {"verdict": "valid", "format": FORMAT, "decoded": decoded}
        return {"verdict": verdict, "format": FORMAT, "reason": reason, "decoded": decoded}


_EXPIRY_TEXT = {}
_FEATURE_NAMES = {}


def _expiry_text(expiry_days):
    """`YYYY-MM-DD` of an expiry_days field (memoised: 16383 values)."""
    text = _EXPIRY_TEXT.get(expiry_days)
    if text is None:
        text = _EXPIRY_TEXT[expiry_days] = format_day(EPOCH_DAYS + expiry_days)
    return text


def _feature_names(bitmap):
    """The names of a feature bitmap's bits, in byte order (memoised)."""
    names = _FEATURE_NAMES.get(bitmap)
    if names is None:
        names = _FEATURE_NAMES[bitmap] = tuple(sorted(
            (BIT_NAMES[bit] for bit in range(16) if bitmap >> bit & 1),
            key=lambda s: s.encode("utf-8")))
    return names


_CONTEXTS = {}


def _context(context):
    """(product, major, minor, today as days since 1970-01-01) of a context
    object; BadArgument when it is not one. Memoised: the items of a request
    mostly share one context."""
    memo = None
    if isinstance(context, dict):
        memo = (context.get("product"), context.get("version"), context.get("today"),
                context.get("host_id"))
        try:
            return _CONTEXTS[memo]
        except KeyError:
            pass
        except TypeError:  # a value that is not hashable: not a context anyway
            memo = None
    ctx = _parse_context(context)
    if memo is not None:
        if len(_CONTEXTS) >= 4096:
            _CONTEXTS.clear()
        _CONTEXTS[memo] = ctx
    return ctx


def _parse_context(context):
    if not isinstance(context, dict):
        raise BadArgument("context: %s, expected an object" % _describe(context))
    product = _str_field(context, "product")
    try:
        major, minor = parse_version(context.get("version"))
        today = parse_day(context.get("today"))
    except ValueError as err:
        raise BadArgument("context: %s" % err)
    _str_field(context, "host_id", nullable=True)
    return (product, major, minor, today)


def format_symbols(value):
    """A 125-bit value as XXXXX-XXXXX-XXXXX-XXXXX-XXXXX."""
    chars = [ALPHABET[(value >> (5 * (SYMBOLS - 1 - i))) & 31] for i in range(SYMBOLS)]
    return "-".join("".join(chars[i:i + 5]) for i in range(0, SYMBOLS, 5))


def parse_symbols(key):
    """The 125-bit value of key bytes after normalisation (delete space, tab,
    CR, LF and '-'; upper-case; O as 0, I and L as 1), or the reason (a str)
    it is malformed, worded as keycompat's builtin words it."""
    folded = key.translate(FOLD, SEPARATORS)
    if len(folded) == SYMBOLS and _BAD not in folded:
        return int(folded, 32)
    # The slow path, only for malformed keys: the builtin's exact reason.
    for offset, byte in enumerate(key):
        if FOLD[byte] == _BAD and byte not in _SEPARATOR_SET:
            return "byte 0x%02X at offset %d is not a Crockford base32 symbol" % (byte, offset)
    return "%d symbols after normalisation, expected %d" % (len(folded), SYMBOLS)


# ------------------------------------------------------------ module API

_CODECS = {}


def codec(secret):
    """The (cached) codec for a secret."""
    c = _CODECS.get(secret)
    if c is None:
        c = _CODECS[secret] = Lk1(secret)
    return c


def generate(entitlement, secret):
    """The protocol answer to generating `entitlement` (canonical JSON form
    as a dict): {"key": ...}, {"refused": {"field", "reason"}} or
    {"error": {"kind": "bad_argument", ...}}."""
    return codec(secret).generate(entitlement)


def validate(key_text, context, secret):
    """The protocol answer to validating `key_text` (a str, or the key's
    bytes) in `context`: {"verdict", ["format"], ["reason"], ["decoded"]}."""
    return codec(secret).validate(key_text, context)


def validate_item(item, lk1):
    """One protocol validate item: `key`, or `key_base64` for keys whose
    bytes are not UTF-8."""
    if not isinstance(item, dict):
        return _error("bad_argument", "the item is %s, not an object" % _describe(item))
    if "key" in item:
        key = item["key"]
        if not isinstance(key, str):
            return _error("bad_argument", "key: %s, expected a string" % _describe(key))
    elif "key_base64" in item:
        try:
            key = base64.b64decode(item["key_base64"], validate=True)
        except Exception as err:  # binascii.Error, TypeError
            return _error("bad_argument", "key_base64: not standard base64: %s" % err)
    else:
        return _error("bad_argument", "the item has neither `key` nor `key_base64`")
    return lk1.validate(key, item.get("context"))


# -------------------------------------------------------------- protocol

# Messages are trees built here, never cyclic: skipping json's check for
# cycles (a dict of every container's id) halves the cost of a results line.
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _write(out, message):
    out.write(_ENCODE(message).encode("utf-8") + b"\n")
    out.flush()


def _answer(lk1, request):
    """The items of a request and the function that answers one of them
    (None when the request has no list of items)."""
    if request.get("type") == "validate":
        items = request.get("items")
        one = lambda item: validate_item(item, lk1)
    else:
        items = request.get("entitlements")
        one = lk1.generate
    if not isinstance(items, list):
        return None
    return items, one


def hello_settings(line):
    """The settings of a hello line, or the error message to answer."""
    try:
        hello = json.loads(line.decode("utf-8"))
    except ValueError as err:
        return None, "the hello is not JSON: %s" % err
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        return None, "expected a hello message first"
    if hello.get("protocol") != PROTOCOL:
        return None, "protocol %s is not supported; I speak %d" % (
            json.dumps(hello.get("protocol")), PROTOCOL)
    settings = hello.get("settings") or {}
    if not isinstance(settings, dict):
        return None, "settings: expected an object"
    return settings, None


# A request's answers go out in several `results` messages, all but the last
# marked "more", when answering it takes longer than this (PROTOCOL.md,
# "Time"): keycompat takes a plugin silent for longer than its timeout as
# hung. The clock paces messages only; no answer depends on it.
PROGRESS_SECONDS = 0.25


def answer_request(out, rid, items, one):
    """Answers every item with `one`, in order, catching each item's
    exception (an `internal` error), in one results message, or in several
    when it takes longer than PROGRESS_SECONDS."""
    clock = time.monotonic
    last = clock()
    pending = []
    for i, item in enumerate(items):
        try:
            pending.append(one(item))
        except Exception as err:  # anything else is this plugin's bug
            pending.append(_error("internal", "%s: %s" % (type(err).__name__, err)))
        if i + 1 < len(items) and clock() - last >= PROGRESS_SECONDS:
            _write(out, {"type": "results", "id": rid, "results": pending, "more": True})
            pending = []
            last = clock()
    _write(out, {"type": "results", "id": rid, "results": pending})


def requests(stdin, stdout):
    """The requests on `stdin`, as dicts, until end of input; a line that is
    not a JSON object is answered with an error message on `stdout` and
    skipped, a blank line skipped."""
    for line in iter(stdin.readline, b""):
        if not line.strip():
            continue
        try:
            request = json.loads(line.decode("utf-8"))
        except ValueError as err:
            _write(stdout, {"type": "error", "message": "a request that is not JSON: %s" % err})
            continue
        if not isinstance(request, dict):
            _write(stdout, {"type": "error", "message": "a request that is not an object"})
            continue
        yield request


def serve(make, ready, answer, stdin=None, stdout=None):
    """The protocol loop: hello -> ready (or error), then the results of each
    request until end of input. `make(settings)` builds the state or raises
    ValueError("settings: ..."); `answer(state, request)` gives the request's
    items and the function answering one item (None when the request has no
    list of items)."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    line = stdin.readline()
    if not line:
        return 0
    settings, problem = hello_settings(line)
    state = None
    if problem is None:
        try:
            state = make(settings)
        except ValueError as err:
            problem = str(err)
    if problem is not None:
        _write(stdout, {"type": "error", "message": problem})
        return 1
    _write(stdout, ready)
    for request in requests(stdin, stdout):
        if request.get("type") not in ("validate", "generate"):
            _write(stdout, {"type": "error", "message": "unknown request type %s"
                            % json.dumps(request.get("type"))})
            continue
        rid = request.get("id")
        if isinstance(rid, bool) or not isinstance(rid, int):
            _write(stdout, {"type": "error", "message": "a request without an integer id"})
            continue
        work = answer(state, request)
        if work is None:
            _write(stdout, {"type": "error", "message": "a %s request without its list"
                            % request.get("type")})
            continue
        answer_request(stdout, rid, work[0], work[1])
    return 0


READY = {"type": "ready", "protocol": PROTOCOL, "name": NAME, "version": VERSION,
         "capabilities": {"generate": True, "validate": True, "formats": [FORMAT]},
         "max_in_flight": 1}


def make_codec(settings):
    """The codec from the hello's settings (`secret`, required)."""
    secret = settings.get("secret")
    if secret is None:
        raise ValueError("settings: secret: missing")
    if not isinstance(secret, str):
        raise ValueError("settings: secret: expected a string")
    try:
        return Lk1(secret)
    except ValueError as err:
        raise ValueError("settings: secret: %s" % err)


def protocol_main():
    # stdout is the protocol only: anything else printed (a library's
    # warning, a stray print) goes to stderr instead.
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    return serve(make_codec, READY, _answer, sys.stdin.buffer, out)


# ------------------------------------------------------------------ bench

DEMO_SECRET = "acme-legacy-demo-secret-DO-NOT-SHIP"


def bench(argv):
    import argparse
    p = argparse.ArgumentParser(prog="acme_lk1.py --bench",
                                description="validate every key of KEYFILE in this process's own loop")
    p.add_argument("keyfile", nargs="?", help="one key a line (bytes, without the line's LF / CRLF)")
    p.add_argument("context", nargs="?",
                   help='JSON, e.g. {"product":"acme-cad","version":"5.4","today":"2026-12-01"}')
    p.add_argument("--items", help="JSON Lines of validate items, each with its own context, instead")
    p.add_argument("-n", "--iterations", type=int, default=0,
                   help="rounds over the file (default: as many as fit in about 2 s)")
    p.add_argument("--secret", default=DEMO_SECRET, help="the HMAC secret (default: the demo's)")
    args = p.parse_args(argv)
    if args.items:
        if args.keyfile or args.context:
            p.error("--items replaces KEYFILE and CONTEXT_JSON")
        work = _bench_items(p, args.items)
    else:
        if not (args.keyfile and args.context):
            p.error("KEYFILE and CONTEXT_JSON are required (or --items)")
        with open(args.keyfile, "rb") as f:
            keys = [line.rstrip(b"\n").rstrip(b"\r") for line in f]
        ctx = _context(json.loads(args.context))
        work = [(k, ctx) for k in keys if k]
        if not work:
            p.error("%s holds no keys" % args.keyfile)
    lk1 = Lk1(args.secret)
    verdicts = {}
    for k, ctx in work:  # warm-up round, and the verdict counts
        v = lk1.judge(k, ctx)["verdict"]
        verdicts[v] = verdicts.get(v, 0) + 1
    judge = lk1.judge
    rounds = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    elapsed = 0.0
    while True:
        for k, ctx in work:
            judge(k, ctx)
        rounds += 1
        elapsed = time.perf_counter() - start
        if (args.iterations and rounds >= args.iterations) or (
                not args.iterations and elapsed >= 2.0):
            break
    cpu = time.process_time() - cpu_start
    total = rounds * len(work)
    print(json.dumps({
        "implementation": "%s %s" % (NAME, VERSION), "python": sys.version.split()[0],
        "keys": len(work), "rounds": rounds, "validations": total,
        "seconds": round(elapsed, 6), "keys_per_second": round(total / elapsed, 1),
        # CPU time: what the rate would be on an idle core (shared machines)
        "cpu_seconds": round(cpu, 6), "keys_per_cpu_second": round(total / cpu, 1) if cpu else None,
        "verdicts": verdicts}))
    return 0


def _bench_items(p, path):
    """(key bytes, parsed context) of every validate item in a JSON Lines file."""
    work = []
    try:
        f = open(path, "rb")
    except OSError as err:
        p.error("--items: %s" % err)
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key = item["key"].encode("utf-8", "surrogatepass") if "key" in item \
                    else base64.b64decode(item["key_base64"], validate=True)
                work.append((key, _context(item["context"])))
            except (ValueError, KeyError, TypeError, AttributeError, BadArgument) as err:
                p.error("%s:%d: not a validate item: %s" % (path, n, err))
    if not work:
        p.error("%s holds no items" % path)
    return work


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--bench":
        return bench(argv[1:])
    if argv:
        sys.stderr.write("usage: acme_lk1.py            (a keycompat process plugin on stdin/stdout)\n"
                         "       acme_lk1.py --bench KEYFILE CONTEXT_JSON [-n N] [--secret S]\n")
        return 2
    return protocol_main()


if __name__ == "__main__":
    sys.exit(main())
