#!/usr/bin/env python3
"""Drive process plugins (plugins/PROTOCOL.md) side by side with keycompat's
builtin acme-ed1 validator and compare every answer.

    python3 tests/plugins/process/drive_validators.py \\
        --keycompat /path/to/keycompat \\
        --plugin node='node plugins/node/acme_validator.js' \\
        --plugin java='java plugins/java/AcmeValidator.java'

The cases are every key of vectors/acme/*.toml (with its context, and the
entitlement vectors' keys in contexts around their limits), keys the builtin
issues for random entitlements (both formats), payloads signed here with the
RFC 8032 test keys to probe the acme-ed1 payload reader (numbers, escapes,
nesting, UTF-8, duplicates, dates, small-order R, non-canonical s, ...), and
tampered copies of all of them (a character flipped, deleted or inserted,
case, whitespace, truncation), each in random contexts.

The expected answer of each case is `keycompat validate --system
builtin:acme-ed1 --key - ... --json` (one process per case, cached in
--cache). A plugin's answer matches when the verdict, the format (present or
not, and its value), whether a reason is given, and the decoded entitlement
(field by field, absent fields included) are equal. Each plugin is started
once, greeted with the new system's settings, sent the cases in batches
(--batch, 256 by default) and closed; the start-up time (start to ready) and
the validation rate are printed.

Standard library only. Exit status 0 when every answer matches, 1 otherwise.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import random
import shlex
import subprocess
import sys
import time
import tomllib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

SETTINGS = {
    "lk1_secret": "acme-legacy-demo-secret-DO-NOT-SHIP",
    "signing_key": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "kid": "acme-demo-2026",
    "trusted_keys": "acme-demo-2026:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,"
    "acme-demo-2025:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "lk1_products": "acme-cad,acme-viewer,acme-sim",
}

# ----------------------------------------------------------------- Ed25519 (RFC 8032)
# Only to sign test payloads with the public RFC 8032 test keys.

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
TEST1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
TEST2 = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
STRANGER = bytes(range(32))


def _xrecover(y):
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * SQRT_M1 % P
    return P - x if x & 1 else x


_BY = 4 * pow(5, P - 2, P) % P
BASE = (_xrecover(_BY), _BY, 1, _xrecover(_BY) * _BY % P)


def _add(p, q):
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _encode(p):
    x, y, z, _ = p
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def _h(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % L


def ed25519_sign(seed, msg, tweak=None):
    """An Ed25519 signature; tweak "identity-r" signs with R = the identity
    (verifies under the cofactorless equation, refused by verify_strict),
    "s-plus-l" adds L to s (non-canonical)."""
    a, prefix = _expand(seed)
    pub = _encode(_mul(a, BASE))
    if tweak == "identity-r":
        r_enc = (1).to_bytes(32, "little")
        return r_enc + (_h(r_enc, pub, msg) * a % L).to_bytes(32, "little")
    r = _h(prefix, msg)
    r_enc = _encode(_mul(r, BASE))
    s = (r + _h(r_enc, pub, msg) * a) % L
    if tweak == "s-plus-l":
        s += L
    return r_enc + s.to_bytes(32, "little")


def b64url(data):
    return base64.urlsafe_b64encode(data).decode("ascii")


def sign_payload(payload, seed=TEST1, tweak=None):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    signed = "key/" + b64url(payload)
    return signed + "." + b64url(ed25519_sign(seed, signed.encode("ascii"), tweak))


# ----------------------------------------------------------------- cases

PRODUCTS = ["acme-cad", "acme-viewer", "acme-sim", "acme-cloud"]
CONTEXT_PRODUCTS = PRODUCTS + ["acme-paint", "legacy-id-99", ""]
EDITIONS = ["trial", "standard", "professional", "enterprise"]
LEGACY = ["export-dwg", "export-step", "export-pdf", "render-gpu", "scripting", "plugins-sdk",
          "cloud-sync", "collaboration", "pdm", "simulation", "cam", "sheet-metal",
          "electrical", "piping", "offline-mode", "priority-support"]
NEW_ONLY = ["ai-assist", "web-viewer", "api-access"]
NAMES = ["Zoë Müller GmbH", "ACME \"Quoted\" Ltd.", "Back\\slash", "李雷", "😀 Emoji Inc", "Ω", "\u2028sep",
         "a" * 200]


def context(product, version, today, host_id=None):
    return {"product": product, "version": version, "today": today, "host_id": host_id}


def day(days_since_2000):
    import datetime
    return (datetime.date(2000, 1, 1) + datetime.timedelta(days=days_since_2000)).isoformat()


def ddays(s):
    import datetime
    return (datetime.date.fromisoformat(s) - datetime.date(2000, 1, 1)).days


def random_entitlement(rng, lk1_fit):
    """A canonical entitlement; lk1_fit keeps it within what acme-lk1 carries."""
    product = rng.choice(PRODUCTS[:3] if lk1_fit else PRODUCTS)
    feats = rng.sample(LEGACY, rng.choice([0, 1, 2, 5, 16])) if rng.random() < 0.9 else []
    if not lk1_fit and rng.random() < 0.5:
        feats += rng.sample(NEW_ONLY, rng.randint(1, 3))
    seats = rng.choice([None, 1, 25, 1023] + ([] if lk1_fit else [1024, 4294967295]))
    expires = rng.choice([None, day(rng.randint(1, 16383))] + ([] if lk1_fit else ["9999-12-31", "2050-02-28"]))
    last = ddays(expires) if expires and expires < "2044-11-09" else 16383
    issued = day(rng.randint(max(0, last - 3000), last) if rng.random() < 0.9 else rng.randint(0, last))
    serial = rng.choice([0, 1, 424242, 2**20 - 1] + ([] if lk1_fit else [2**20, 2**32 - 1]))
    e = {
        "product": product, "edition": rng.choice(EDITIONS), "max_major": rng.choice([0, 1, 5, 7, 254, 255]),
        "features": sorted(set(feats), key=lambda s: s.encode()), "seats": seats, "issued": issued,
        "expires": expires,
        "maintenance_until": rng.choice([None, day(rng.randint(9000, 12000))]),
        "serial": serial,
        "customer": rng.choice([None, {"id": "C-%06d" % rng.randint(0, 999999), "name": rng.choice(NAMES)}]),
        "order_id": rng.choice([None, "SO-%d" % rng.randint(1, 9999), "Ünïcode-Ω"]),
        "host_id": None if lk1_fit else rng.choice([None, "H-1", "host-ß"]),
    }
    return e


def contexts_for(rng, product, max_major, expires, host, n):
    """Contexts around a key's limits: its product or another, its major
    version or one above, today on, before or after its expiry, its host or
    another or none."""
    out = []
    for _ in range(n):
        p = product if rng.random() < 0.7 else rng.choice(CONTEXT_PRODUCTS)
        major = max_major + rng.choice([0, 0, 0, 1, -1]) if max_major is not None else rng.randint(0, 9)
        major = max(0, major)
        version = "%d.%d" % (major, rng.choice([0, 1, 4, 10]))
        if expires:
            base = ddays(expires) if expires >= "2000-01-01" and expires <= "2099-12-31" else 10000
            today = day(max(0, base + rng.choice([-400, -1, 0, 0, 1, 2, 3000])))
        else:
            today = day(rng.randint(8000, 20000))
        h = rng.choice([None, host, host, "H-2", ""]) if host else rng.choice([None, None, "H-1"])
        out.append(context(p, version, today, h))
    return out


def vector_cases(rng):
    cases = []
    for name in sorted(os.listdir(os.path.join(ROOT, "vectors", "acme"))):
        if not name.endswith(".toml"):
            continue
        with open(os.path.join(ROOT, "vectors", "acme", name), "rb") as f:
            doc = tomllib.load(f)
        for k in doc.get("key", []):
            if "key" in k:
                key = k["key"].encode("utf-8")
            elif "key_hex" in k:
                key = bytes.fromhex(k["key_hex"])
            else:
                key = "".join(p["text"] * p.get("times", 1) for p in k["key_parts"]).encode("utf-8")
            c = k["context"]
            ctx = context(c["product"], c["version"], c["today"], c.get("host_id"))
            cases.append(("vector:" + name, key, ctx))
        for e in doc.get("entitlement", []):
            ent = e["entitlement"]
            for fmt, key in e.get("keys", {}).items():
                if not isinstance(key, str):  # { refused = "field" }
                    continue
                ctxs = [context(ent["product"], "%d.0" % ent.get("max_major", 0), ent.get("issued", "2026-11-23"),
                                ent.get("host_id"))]
                ctxs += contexts_for(rng, ent["product"], ent.get("max_major"), ent.get("expires"),
                                     ent.get("host_id"), 3)
                for ctx in ctxs:
                    cases.append(("vector-entitlement:" + name, key.encode("utf-8"), ctx))
    return cases


def generated_cases(keycompat, rng, n):
    """Keys the builtin issues: acme-lk1 (policy, entitlements that fit) and
    acme-ed1 (emit=acme-ed1, any entitlement)."""
    cases = []
    for emit, fit in (("policy", True), ("acme-ed1", False)):
        ents = [random_entitlement(rng, fit) for _ in range(n // 2)]
        cmd = [keycompat, "generate", "--system", "builtin:acme-ed1", "--setting", "emit=" + emit]
        proc = subprocess.run(cmd, input="".join(json.dumps(e, ensure_ascii=False) + "\n" for e in ents),
                              capture_output=True, text=True, cwd=ROOT)
        lines = [l for l in proc.stdout.splitlines() if l.strip()]
        if len(lines) != len(ents):
            sys.exit("keycompat generate gave %d lines for %d entitlements:\n%s" % (len(lines), len(ents), proc.stderr))
        skipped = 0
        for ent, key in zip(ents, lines):
            if key.startswith("error:"):  # refused, or not an entitlement keycompat accepts
                skipped += 1
                continue
            for ctx in contexts_for(rng, ent["product"], ent["max_major"], ent["expires"], ent["host_id"], 2):
                cases.append(("generated:" + emit, key.encode("utf-8"), ctx))
        if skipped:
            print("generate (emit=%s): %d of %d entitlements not issued" % (emit, skipped, len(ents)), file=sys.stderr)
    return cases


SPEC = {"v": 1, "kid": "acme-demo-2026", "prod": "acme-cad", "ed": "professional", "maxv": 7,
        "feat": ["ai-assist", "export-dwg"], "seats": 25, "iat": "2026-11-23", "exp": "2027-12-31",
        "maint": None, "serial": 424242, "cust": {"id": "C-000042", "name": "Zoë Müller GmbH"},
        "order": "SO-1001", "host": None}


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def spec_with(**changes):
    p = dict(SPEC)
    for k, v in changes.items():
        if v is DELETE:
            p.pop(k)
        else:
            p[k] = v
    return compact(p)


DELETE = object()
SPEC_TEXT = compact(SPEC)


def raw_field(name, raw):
    """The spec payload with field `name`'s value replaced by raw JSON text."""
    p = dict(SPEC)
    p[name] = "@@RAW@@"
    return compact(p).replace('"@@RAW@@"', raw)


def crafted_cases():
    """acme-ed1 payloads signed here: what the payload reader must accept and refuse."""
    payloads = [SPEC_TEXT, " " + SPEC_TEXT + "\n\t\r ", SPEC_TEXT + "x", SPEC_TEXT + SPEC_TEXT, "", "{}", "[]",
                "1", "null", "\"key\"", "{", "\ufeff" + SPEC_TEXT, "[2]", "{\"v\":2}"]
    # numbers where a number must be a u64, and anywhere (overflow is an error)
    for raw in ["1.0", "1e0", "1E0", "-1", "-0", "01", "1.", ".1", "+1", "0x1", "1e", "1e+", "1_0", "2",
                "18446744073709551616", "1" + "0" * 400, "1e400", "NaN", "Infinity", "true", "\"1\"", "null", "[1]"]:
        payloads.append(raw_field("v", raw))
    for name, raws in {
        "seats": ["0", "1", "4294967295", "4294967296", "18446744073709551615", "18446744073709551616",
                  "-1", "25.0", "2.5e1", "1e2", "null", "\"25\"", "-0", "25e0", "00"],
        "maxv": ["0", "255", "256", "7.5", "-7", "7e0", "null", "70e-1"],
        "serial": ["0", "4294967295", "4294967296", "1048576", "424242.0", "false"],
        "x": ["1e308", "1e309", "-1e309", "1.7976931348623157e308", "1.7976931348623158e308",
              "1.7976931348623159e308", "17976931348623157e292", "179769313486231581e291", "10e308",
              "0.1e310", "0e99999999999", "1e99999999999", "1e-99999999999", "-1e-99999999999", "0e-5",
              "123456789012345678901234567890", "1" + "0" * 308, "1" + "0" * 309, "-" + "9" * 310,
              "0." + "0" * 400 + "1", "1." + "9" * 400, "18446744073709551615.5e290",
              "1844674407370955161.5e290", "184467440737095516159e288", "4e-324", "1e-400", "2.5E-3", "-",
              "1.e5", "[1,2,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{1:2}", "tru", "nul", "[" * 10 + "]" * 10],
    }.items():
        for raw in raws:
            payloads.append(raw_field(name, raw))
    # nesting: serde_json allows 127 levels
    for depth in (126, 127, 128, 129, 200):
        inner = "[" * (depth - 1) + "]" * (depth - 1)
        payloads.append(raw_field("x", inner))
        payloads.append(raw_field("x", "{\"a\":" * (depth - 1) + "1" + "}" * (depth - 1)))
    # strings and escapes
    for raw in ['"\\ud83d\\ude00"', '"\\ud83d"', '"\\ude00"', '"\\ud83dx"', '"\\ud83d\\n"', '"\\ud83d\\ud83d"',
                '"\\ud83d\\u0041"', '"\\u00e9\\u00E9"', '"\\u12"', '"\\uZZZZ"', '"\\a"', '"\\/\\b\\f\\n\\r\\t\\"\\\\"',
                '"\x01"', '"\x1f"', '"\x7f"', '"\\u0000"', '"tab\there"', '"\u2028"', '"unterminated']:
        payloads.append(raw_field("order", raw))
        payloads.append(raw_field("host", raw))
    payloads.append(raw_field("cust", '{"id":"\\ud83d\\ude00","name":"\\u0041\\u030a"}'))
    # features: byte order, duplicates, unknown names, astral characters
    for feats in (["b", "a", "a"], ["\uffff", "😀", "a", "\ue000", "Z", "é"], [], ["teleport"], ["export-dwg"] * 3,
                  LEGACY + NEW_ONLY):
        payloads.append(spec_with(feat=feats))
    payloads += [raw_field("feat", r) for r in ['"ai-assist"', '["ai-assist",7]', '[null]', '{}', 'null']]
    # editions, dates, customers, hosts, missing and duplicated keys
    payloads += [spec_with(ed=e) for e in EDITIONS + ["gold", "Professional", "", "trial "]]
    for d in ["2027-02-29", "2028-02-29", "2100-02-29", "2000-02-29", "0000-02-29", "0000-01-01", "9999-12-31",
              "10000-01-01", "2027-1-01", " 2027-01-01", "2027-13-01", "2027-00-10", "2027-01-00", "2027-04-31",
              "２０２７-01-01", "2027/01/01", "", "2027-01-01T00:00:00Z", "1999-12-31", "2044-11-08"]:
        payloads.append(spec_with(exp=d))
        payloads.append(spec_with(iat=d))
        payloads.append(spec_with(maint=d))
    payloads += [spec_with(exp=None), spec_with(iat=None), spec_with(maint="2030-01-01"), raw_field("exp", "20271231")]
    for cust in [{"id": "x"}, {"name": "x"}, {"id": 1, "name": "x"}, {"id": "x", "name": None},
                 {"id": "x", "name": "y", "vat": "DE1"}, ["C", "N"], "C-1", None, {}]:
        payloads.append(spec_with(cust=cust))
    for host in ["H-1", "", "h-1", "H-1 ", 1, False, None]:
        payloads.append(spec_with(host=host))
    for order in [None, "", 5, ["SO"]]:
        payloads.append(spec_with(order=order))
    for prod in ["acme-cloud", "acme-paint", "", "ACME-CAD", 17, None]:
        payloads.append(spec_with(prod=prod))
    for key in SPEC:
        payloads.append(spec_with(**{key: DELETE}))
    payloads += [
        SPEC_TEXT.replace('{"v":1,', '{"v":2,"v":1,'),
        SPEC_TEXT.replace('{"v":1,', '{"v":1,"v":2,'),
        SPEC_TEXT.replace('"ed":"professional"', '"ed":"gold","ed":"professional"'),
        SPEC_TEXT.replace('"kid":"acme-demo-2026"', '"kid":"x","kid":"acme-demo-2026"'),
        SPEC_TEXT.replace('{"v":1,', '{"v":1,"future":{"x":[1,2,{"y":null}]},'),
        SPEC_TEXT.replace('{"v":1,', '{ "v" : 1 ,'),
        SPEC_TEXT.replace('{"v":1,', '{"v":1,"__proto__":{"v":2},"constructor":1,'),
        spec_with(kid="acme-demo-2025"), spec_with(kid=None), spec_with(kid=""), spec_with(v=2),
    ]
    keys = [sign_payload(p) for p in payloads]
    # raw bytes that are not UTF-8
    for raw in [b'{"v":1,\xff}', SPEC_TEXT.encode().replace(b"SO-1001", b"SO-\xc3\x28"),
                SPEC_TEXT.encode().replace(b"SO-1001", b"SO-\xc0\xaf"),
                SPEC_TEXT.encode().replace(b"SO-1001", b"SO-\xed\xa0\x80"),
                SPEC_TEXT.encode().replace(b"SO-1001", b"SO-\xf4\x90\x80\x80"),
                b"\xef\xbb\xbf" + SPEC_TEXT.encode(), b"\xfb\xef\xbe", b"\xff\xff\xff"]:
        keys.append(sign_payload(raw))
    # other signers and broken signatures
    keys += [
        sign_payload(spec_with(kid="acme-demo-2025"), TEST2),
        sign_payload(SPEC_TEXT, TEST2),
        sign_payload(SPEC_TEXT, STRANGER),
        sign_payload(SPEC_TEXT, TEST1, "identity-r"),
        sign_payload(SPEC_TEXT, TEST1, "s-plus-l"),
        sign_payload(spec_with(kid="acme-demo-2025"), TEST2, "identity-r"),
        sign_payload(spec_with(kid="acme-demo-2025"), TEST2, "s-plus-l"),
        sign_payload(b""),
    ]
    # wire-form corner cases of a good key
    good = sign_payload(SPEC_TEXT)
    body, sig = good[4:].split(".")
    keys += [
        "key/" + body + "." + sig.rstrip("="), "key/" + body.rstrip("=") + "." + sig, good + "=", good + ".",
        "key/." + sig, "key/", "key/.", "KEY/" + body + "." + sig, "key/" + body.replace("-", "+") + "." + sig,
        "key/" + body + "." + b64url(b"\0" * 63), "key/" + body + "." + b64url(b"\0" * 65),
        "key/" + body + "." + b64url(b"\0" * 64), " key/" + body + "." + sig, "\tkey/" + body + "." + sig + "\r\n",
        "\u00a0" + good, good + "\u3000", "k" + good, "key//" + body + "." + sig, "key/" + body + ".." + sig,
    ]
    cases = []
    for k in keys:
        kb = k.encode("utf-8") if isinstance(k, str) else k
        for ctx in (context("acme-cad", "7.0", "2026-12-01"), context("acme-cad", "7.2", "2027-12-31", "H-1"),
                    context("acme-cad", "8.0", "2028-01-01"), context("acme-cloud", "1.0", "2026-12-01", "H-1")):
            cases.append(("crafted", kb, ctx))
    return cases


FLIP_CHARS = ("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijklmnopqrstuvwxyzOILUoilu"
              "-_+/=. \t\r\n" + "\u00a0\u200b\ufeff\uff10\uff21é\u0000")


def tamper(rng, key):
    s = key.decode("utf-8", "replace")
    if not s:
        return key
    i = rng.randrange(len(s))
    op = rng.random()
    if op < 0.45:  # flip one character
        s = s[:i] + rng.choice(FLIP_CHARS) + s[i + 1:]
    elif op < 0.55:
        s = s[:i] + s[i + 1:]
    elif op < 0.65:
        s = s[:i] + rng.choice(FLIP_CHARS) + s[i:]
    elif op < 0.7 and i + 1 < len(s):
        s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
    elif op < 0.75:
        s = s[:i]
    elif op < 0.8:
        s = s.lower() if rng.random() < 0.5 else s.upper()
    elif op < 0.85:
        s = rng.choice([" ", "\t", "\r\n", "\n", "  "]) + s + rng.choice(["", " ", "\n", "\r\n\t"])
    elif op < 0.9:
        s = s.replace("-", rng.choice(["", " ", "--", "\u2010", "_"]))
    elif op < 0.95:
        s = s.replace("0", "O").replace("1", rng.choice(["I", "l", "L", "i"]))
    else:
        raw = bytearray(s.encode("utf-8"))
        raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    return s.encode("utf-8")


# ----------------------------------------------------------------- the builtin

def builtin_answer(keycompat, key, ctx, system="builtin:acme-ed1", config=None):
    cmd = [keycompat] + (["--config", config] if config else [])
    cmd += ["validate", "--system", system, "--key", "-", "--product", ctx["product"],
           "--version", ctx["version"], "--today", ctx["today"], "--json"]
    if ctx.get("host_id") is not None:
        cmd += ["--host-id", ctx["host_id"]]
    proc = subprocess.run(cmd, input=key, capture_output=True, cwd="/")
    if proc.returncode not in (0, 1):
        raise RuntimeError("%s: exit %d: %s" % (cmd, proc.returncode, proc.stderr.decode(errors="replace")))
    return json.loads(proc.stdout)


def case_id(key, ctx):
    return hashlib.sha256(key + b"\0" + json.dumps(ctx, sort_keys=True).encode()).hexdigest()


def expected_answers(keycompat, cases, cache_path, jobs):
    cache = {}
    if cache_path and os.path.exists(cache_path):
        with open(cache_path) as f:
            cache = json.load(f)
    todo = {}
    for _, key, ctx in cases:
        cid = case_id(key, ctx)
        if cid not in cache:
            todo[cid] = (key, ctx)
    if todo:
        print("builtin: %d answers to compute (%d cached)" % (len(todo), len(cache)), file=sys.stderr)
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            futures = {pool.submit(builtin_answer, keycompat, k, c): cid for cid, (k, c) in todo.items()}
            for fut in concurrent.futures.as_completed(futures):
                cache[futures[fut]] = fut.result()
        print("builtin: done in %.1f s" % (time.time() - t0), file=sys.stderr)
        if cache_path:
            with open(cache_path, "w") as f:
                json.dump(cache, f)
    return [cache[case_id(k, c)] for _, k, c in cases]


# ----------------------------------------------------------------- a plugin

# Other time zones, locales and calendars, as keycompat's ENV check starts
# plugins under (JAVA_TOOL_OPTIONS reaches the JVM, which ignores LANG for
# locales the machine does not have).
ENV_VARIANTS = [
    {"TZ": "Pacific/Kiritimati", "LANG": "th_TH.UTF-8", "LC_ALL": "th_TH.UTF-8",
     "JAVA_TOOL_OPTIONS": "-Duser.language=th -Duser.country=TH -Duser.variant=TH -Duser.timezone=Pacific/Kiritimati "
                          "-Dfile.encoding=ISO-8859-1"},
    {"TZ": "America/St_Johns", "LANG": "ar_SA.UTF-8", "LC_ALL": "ar_SA.UTF-8",
     "JAVA_TOOL_OPTIONS": "-Duser.language=ar -Duser.country=SA -Duser.timezone=America/St_Johns"},
    {"TZ": "Asia/Kathmandu", "LC_ALL": "tr_TR.UTF-8",
     "JAVA_TOOL_OPTIONS": "-Duser.language=tr -Duser.country=TR -Duser.timezone=Asia/Kathmandu"},
]


class Plugin:
    def __init__(self, name, argv, settings, env=None):
        self.name = name
        t0 = time.perf_counter()
        full_env = dict(os.environ, **(env or {}))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=full_env,
                                     stderr=subprocess.DEVNULL if env else None)
        self.next_id = 0
        self.send({"type": "hello", "protocol": 1, "keycompat": "drive_validators.py", "settings": settings})
        ready = self.receive()
        self.startup = time.perf_counter() - t0
        if ready.get("type") != "ready":
            raise RuntimeError("%s: hello answered with %r" % (name, ready))
        self.ready = ready

    def send(self, msg):
        self.proc.stdin.write((json.dumps(msg) + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def receive(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("%s: exited (%s) instead of answering" % (self.name, self.proc.wait()))
        return json.loads(line)

    def request(self, msg, count):
        self.next_id += 1
        msg["id"] = self.next_id
        self.send(msg)
        results = []
        while True:  # several messages: each but the last marked "more" (PROTOCOL.md, "Time")
            answer = self.receive()
            if answer.get("type") != "results" or answer.get("id") != self.next_id:
                raise RuntimeError("%s: expected results for id %d, got %r" % (self.name, self.next_id, answer))
            results += answer["results"]
            more = answer.get("more", False)
            if more is not True and more is not False:
                raise RuntimeError("%s: \"more\" is %r" % (self.name, more))
            if not more:
                break
            if not answer["results"] or len(results) >= count:
                raise RuntimeError("%s: a \"more\" message with %d of %d results" % (self.name, len(results), count))
        if len(results) != count:
            raise RuntimeError("%s: %d results for %d items" % (self.name, len(results), count))
        return results

    def validate(self, items):
        wire = []
        for key, ctx in items:
            try:
                wire.append({"key": key.decode("utf-8"), "context": ctx})
            except UnicodeDecodeError:
                wire.append({"key_base64": base64.b64encode(key).decode("ascii"), "context": ctx})
        return self.request({"type": "validate", "items": wire}, len(items))

    def close(self):
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "did not exit within 10 s of EOF"


def exchange(argv, lines, timeout=60):
    """Runs a plugin on the given input lines (then EOF): its stdout lines
    parsed as JSON, its exit status, and the seconds from EOF to exit."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    out = []
    for line in lines:
        proc.stdin.write((line if isinstance(line, str) else json.dumps(line)).encode("utf-8") + b"\n")
        proc.stdin.flush()
        if not (isinstance(line, dict) and line.get("type") == "ready"):
            got = proc.stdout.readline()
            if not got:
                break
            out.append(json.loads(got))
    t0 = time.perf_counter()
    proc.stdin.close()
    rest = proc.stdout.read()
    status = proc.wait(timeout=timeout)
    out += [json.loads(l) for l in rest.splitlines() if l.strip()]
    return out, status, time.perf_counter() - t0


def protocol_checks(argv):
    """The protocol's rules other than verdicts; returns a list of failures."""
    hello = {"type": "hello", "protocol": 1, "keycompat": "drive_validators.py", "settings": SETTINGS}
    ctx = context("acme-cad", "5.4", "2026-11-23")
    worked = "24A0M-02T1K-7Y9KS-689RQ-7B450"
    failures = []

    def check(what, ok, detail):
        if not ok:
            failures.append("%s: %s" % (what, json.dumps(detail)[:400]))

    out, status, eof = exchange(argv, [hello, {"type": "validate", "id": 7, "items": [
        {"key": worked, "context": ctx},
        {"key_base64": base64.b64encode(worked.encode()).decode(), "context": ctx},
        {"key_base64": base64.b64encode(b"24A0M-02T1K-7Y9KS-689RQ-7B45\xff").decode(), "context": ctx},
        {"context": ctx},
        {"key": worked, "context": {"product": "acme-cad", "version": "5", "today": "2026-11-23"}},
        {"key": worked, "context": {"product": "acme-cad", "version": "5.4", "today": "2026-02-30"}},
        {"key": worked, "context": {"product": "acme-cad", "version": "5.4", "today": "2026-11-23", "future": 1}},
        {"key": worked, "context": {"product": "acme-cad", "version": "5.4", "today": "2026-11-23"}},
        {"key": worked, "context": context("acme-cad", "4294967295.4294967295", "2026-11-23")},
        {"key": worked, "context": context("acme-cad", "4294967296.0", "2026-11-23")},
        {"key": worked, "context": context("acme-cad", "+5.4", "2026-11-23")},
        {"key": worked, "context": context("acme-cad", "5.4 ", "2026-11-23")},
        {"key": worked, "context": context("acme-cad", "5", "2026-11-23")},
    ], "future_field": True},
        {"type": "generate", "id": 8, "entitlements": [SPEC, SPEC, SPEC]},
        {"type": "validate", "id": 9, "items": []},
        {"type": "shutdown", "id": 10}])
    types = [m.get("type") for m in out]
    check("conversation", types == ["ready", "results", "results", "results", "error"], out)
    if types[:1] == ["ready"]:
        r = out[0]
        check("ready", r.get("protocol") == 1 and r.get("capabilities", {}).get("validate") is True
              and r.get("capabilities", {}).get("generate") is False and isinstance(r.get("name"), str)
              and isinstance(r.get("version"), str), r)
    if len(out) >= 4:
        v = out[1]
        res = v.get("results", [])
        check("results id", v.get("id") == 7 and len(res) == 13, v)
        if len(res) == 13:
            check("key", res[0].get("verdict") == "valid", res[0])
            check("key_base64", res[1] == res[0], res[1])
            check("key_base64 not UTF-8", res[2].get("verdict") == "malformed", res[2])
            check("no key", res[3].get("error", {}).get("kind") == "bad_argument", res[3])
            check("bad version", res[4].get("error", {}).get("kind") == "bad_argument", res[4])
            check("bad today", res[5].get("error", {}).get("kind") == "bad_argument", res[5])
            check("unknown context field ignored", res[6].get("verdict") == "valid", res[6])
            check("host_id absent", res[7].get("verdict") == "valid", res[7])
            check("version 2^32-1", res[8].get("verdict") == "version_not_covered", res[8])
            for i in range(9, 13):
                check("version %s" % i, res[i].get("error", {}).get("kind") == "bad_argument", res[i])
        g = out[2]
        check("generate", g.get("id") == 8 and [x.get("error", {}).get("kind") for x in g.get("results", [])]
              == ["unsupported"] * 3, g)
        check("empty validate", out[3] == {"type": "results", "id": 9, "results": []}, out[3])
    check("exit on EOF", status == 0 and eof < 5, {"status": status, "seconds": eof})

    def hello_error(settings, protocol=1, mentions=None):
        # A refused hello: one error naming the setting, then the plugin exits by itself.
        what = "hello %s %r" % (protocol, {k: v[:20] for k, v in settings.items() if SETTINGS.get(k) != v})
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=ROOT)
        proc.stdin.write((json.dumps({"type": "hello", "protocol": protocol, "settings": settings}) + "\n").encode())
        proc.stdin.flush()
        try:
            status = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = "still running 60 s after refusing the hello"
        out = [json.loads(l) for l in proc.stdout.read().splitlines() if l.strip()]
        ok = len(out) == 1 and out[0].get("type") == "error" and (mentions is None or mentions in out[0].get("message", ""))
        check(what, ok, out)
        check(what + ": exits", isinstance(status, int), status)

    hello_error(SETTINGS, protocol=2, mentions="2")
    for key, value in [("lk1_secret", None), ("lk1_secret", ""), ("trusted_keys", None), ("trusted_keys", ""),
                       ("trusted_keys", "acme-demo-2026"), ("trusted_keys", "a:1234"),
                       ("trusted_keys", ":d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
                       ("trusted_keys", "a:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,"
                                        "b:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
                       ("trusted_keys", "a:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,"
                                        "a:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
                       ("trusted_keys", SETTINGS["trusted_keys"] + ",")]:
        settings = dict(SETTINGS)
        if value is None:
            del settings[key]
        else:
            settings[key] = value
        hello_error(settings, mentions=key)
    # what a validator does not need may be missing; white space around entries is fine
    spaced = dict(SETTINGS, trusted_keys=" acme-demo-2026 : d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f7"
                                         "07511a ,\n acme-demo-2025:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0"
                                         "cd55f12af4660c\u3000")
    for settings in ({"lk1_secret": "x", "trusted_keys": SETTINGS["trusted_keys"]}, spaced):
        out, status, _ = exchange(argv, [{"type": "hello", "protocol": 1, "settings": settings}])
        check("hello accepted", [m.get("type") for m in out] == ["ready"], out)
    out, _, _ = exchange(argv, [{"type": "validate", "id": 1, "items": [{"key": worked, "context": ctx}]}])
    check("validate before hello", [m.get("type") for m in out] == ["error"], out)
    return failures


def through_keycompat(keycompat, name, argv, cases, expected, n, rng, jobs):
    """`keycompat validate --system NAME` for n sampled cases, with NAME a
    process plugin system (`command = [...]`) of a config written for the
    purpose: keycompat starts the plugin, greets it and reads its answer.
    Returns (cases run, mismatches)."""
    import tempfile
    q = lambda v: json.dumps(v, ensure_ascii=False)  # TOML basic strings accept JSON's escapes
    settings = "".join("%s = %s\n" % (k, q(v)) for k, v in SETTINGS.items()
                       if k in ("lk1_secret", "trusted_keys", "lk1_products"))
    config = ("[systems.old]\nbuiltin = \"acme-lk1\"\n[systems.old.settings]\nsecret = %s\n"
              "[systems.new]\nbuiltin = \"acme-ed1\"\n[run]\nold = \"old\"\nnew = \"new\"\n"
              "[systems.%s]\ncommand = [%s]\ncwd = %s\n[systems.%s.settings]\n%s"
              % (q(SETTINGS["lk1_secret"]), name, ", ".join(q(a) for a in argv), q(ROOT), name, settings))
    sample = rng.sample(range(len(cases)), min(n, len(cases)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "keycompat.toml")
        with open(path, "w") as f:
            f.write(config)
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            def run(i):
                try:
                    return builtin_answer(keycompat, cases[i][1], cases[i][2], name, path)
                except RuntimeError as e:  # keycompat could not run the plugin
                    return {"error": {"kind": "keycompat", "message": str(e)}}
            answers = list(pool.map(run, sample))
    mismatches = [(cases[i], a, expected[i]) for i, a in zip(sample, answers)
                  if comparable(a) != comparable(expected[i])]
    return len(sample), mismatches


def comparable(answer):
    """What must match: verdict, format, whether a reason is given, decoded."""
    if "error" in answer:
        return {"error": answer["error"].get("kind")}
    return {"verdict": answer.get("verdict"), "format": answer.get("format"),
            "reason": "reason" in answer, "decoded": answer.get("decoded")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keycompat", required=True, help="the keycompat binary")
    ap.add_argument("--plugin", action="append", default=[], metavar="NAME=COMMAND",
                    help="a plugin to drive (repeatable); COMMAND is split like a shell would")
    ap.add_argument("--random", type=int, default=2000, help="random keys the builtin issues (half per format)")
    ap.add_argument("--tampered", type=int, default=3000, help="tampered copies of the other keys")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--cache", default=None, help="JSON file caching the builtin's answers")
    ap.add_argument("--jobs", type=int, default=2, help="builtin processes at a time")
    ap.add_argument("--show", type=int, default=10, help="mismatches to print per plugin")
    ap.add_argument("--env-check", action="store_true",
                    help="also run every case under other TZ, LANG, LC_ALL and JVM locales and require the very same "
                         "answers, reasons included")
    ap.add_argument("--through-keycompat", type=int, default=0, metavar="N",
                    help="also validate N sampled cases through keycompat itself (a config with the plugin as a "
                         "`command` system; one keycompat and one plugin process per case)")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    cases = vector_cases(rng) + crafted_cases() + generated_cases(args.keycompat, rng, args.random)
    originals = [(k, c) for _, k, c in cases]
    for _ in range(args.tampered):
        key, _ = rng.choice(originals)
        t = tamper(rng, key)
        ctx = rng.choice(originals)[1] if rng.random() < 0.3 else rng.choice(originals)[1]
        cases.append(("tampered", t, ctx))
    kinds = {}
    for kind, _, _ in cases:
        kinds[kind.split(":")[0]] = kinds.get(kind.split(":")[0], 0) + 1
    print("cases: %d (%s)" % (len(cases), ", ".join("%s %d" % kv for kv in sorted(kinds.items()))), file=sys.stderr)

    expected = expected_answers(args.keycompat, cases, args.cache, args.jobs)
    verdicts = {}
    for e in expected:
        v = "%s/%s" % (e["verdict"], e.get("format", "-"))
        verdicts[v] = verdicts.get(v, 0) + 1
    print("builtin verdicts: " + ", ".join("%s %d" % kv for kv in sorted(verdicts.items())), file=sys.stderr)

    settings = dict(SETTINGS)
    failed = False
    for spec in args.plugin:
        name, _, command = spec.partition("=")
        plugin = Plugin(name, shlex.split(command), settings)
        items = [(k, c) for _, k, c in cases]
        answers = []
        t0 = time.perf_counter()
        for i in range(0, len(items), args.batch):
            answers += plugin.validate(items[i:i + args.batch])
        elapsed = time.perf_counter() - t0
        # generate is unsupported, one error per entitlement
        gen = plugin.request({"type": "generate", "entitlements": [SPEC, SPEC]}, 2)
        gen_ok = all(g.get("error", {}).get("kind") == "unsupported" for g in gen)
        status = plugin.close()
        protocol_failures = protocol_checks(shlex.split(command))
        mismatches = [(c, a, e) for c, a, e in zip(cases, answers, expected) if comparable(a) != comparable(e)]
        print("%s: ready in %.3f s; %d keys in %.2f s (%.0f keys/s, batches of %d); %d mismatches; "
              "generate unsupported: %s; exit on EOF: %s; protocol checks failed: %d"
              % (name, plugin.startup, len(items), elapsed, len(items) / elapsed, args.batch, len(mismatches),
                 gen_ok, status, len(protocol_failures)))
        for f in protocol_failures:
            print("  PROTOCOL " + f)
        for (kind, key, ctx), a, e in mismatches[:args.show]:
            print("  MISMATCH %s key=%r ctx=%s\n    plugin:  %s\n    builtin: %s"
                  % (kind, key[:200], json.dumps(ctx), json.dumps(a)[:600], json.dumps(e)[:600]))
        failed |= bool(mismatches) or not gen_ok or status != 0 or bool(protocol_failures)
        if args.env_check:
            for env in ENV_VARIANTS:
                other = Plugin(name, shlex.split(command), settings, env)
                again = []
                for i in range(0, len(items), args.batch):
                    again += other.validate(items[i:i + args.batch])
                other.close()
                differ = [(c, a, b) for c, a, b in zip(cases, answers, again) if a != b]
                print("%s under %s: %d of %d answers differ" % (name, " ".join("%s=%s" % kv for kv in env.items()),
                                                                len(differ), len(items)))
                for (kind, key, ctx), a, b in differ[:args.show]:
                    print("  ENV %s key=%r ctx=%s\n    default: %s\n    here:    %s"
                          % (kind, key[:200], json.dumps(ctx), json.dumps(a)[:400], json.dumps(b)[:400]))
                failed |= bool(differ)
        if args.through_keycompat:
            t0 = time.perf_counter()
            n, through = through_keycompat(args.keycompat, name, shlex.split(command), cases, expected,
                                           args.through_keycompat, random.Random(args.seed), args.jobs)
            print("%s through keycompat validate --system %s: %d cases in %.0f s; %d mismatches"
                  % (name, name, n, time.perf_counter() - t0, len(through)))
            for (kind, key, ctx), a, e in through[:args.show]:
                print("  MISMATCH %s key=%r ctx=%s\n    keycompat+plugin: %s\n    builtin: %s"
                      % (kind, key[:200], json.dumps(ctx), json.dumps(a)[:600], json.dumps(e)[:600]))
            failed |= bool(through)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
