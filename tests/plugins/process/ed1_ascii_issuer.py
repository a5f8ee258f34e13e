#!/usr/bin/env python3
"""A PLANTED-DEFECT acme-ed1 generator: a process plugin for keycompat's tests.

It issues acme-ed1 keys (vectors/acme/SCHEMES.md, "acme-ed1") exactly as the
builtin acme-ed1 does with `emit = "acme-ed1"`, but for one realistic bug: it
writes the JSON payload with Python's `json.dumps` default escaping
(`ensure_ascii=True`), where the spec requires raw UTF-8 escaped exactly as
serde_json's `to_string` escapes (only `"`, `\\` and control characters). So

* an entitlement whose strings are all printable ASCII gets a key byte for
  byte identical to the builtin's (same payload bytes, same deterministic
  Ed25519 signature);
* a customer name (or customer id, order id, host id) with a non-ASCII
  character gets `"Zo\\u00eb M\\u00fcller GmbH"` in its payload instead of
  the UTF-8 bytes of `"Zoë Müller GmbH"`: a different key (PARITY drift
  against the builtin and the vectors). The key is still correctly signed, so
  validators that parse the JSON decode the same name: only byte-exact
  comparisons (and anything that hashes or re-signs the payload) see it.

Everything else follows the spec: the key order of SCHEMES.md, compact
separators, `key/` + base64url(payload) + `.` + base64url(signature), padded,
and an RFC 8032 Ed25519 signature (pure Python, `ed25519.py` next to this file)
over the ASCII bytes before the `.`.

It offers generate only (validate requests are answered `unsupported`).
Settings, as the builtin acme-ed1's: `signing_key` (64 hex digits, the Ed25519
secret seed; required), `kid` (required, not empty), `trusted_keys` (optional;
`kid:64-hex-public-key,...`: when it lists `kid`, the signing key must match
it). Other settings (`lk1_secret`, `lk1_products`, `emit`) are ignored.
"""

import base64
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "plugins", "python"))

import acme_lk1  # noqa: E402  (the protocol loop)
import ed25519  # noqa: E402

NAME = "ed1-ascii-issuer"
VERSION = "1.0.0"
PREFIX = b"key/"
HEX = "0123456789abcdefABCDEF"


def _hex32(text, what):
    text = text.strip()
    if len(text) != 64 or any(c not in HEX for c in text):
        raise ValueError(what)
    return bytes.fromhex(text)


class Issuer(object):
    def __init__(self, settings):
        seed = settings.get("signing_key")
        kid = settings.get("kid")
        if seed is None:
            raise ValueError("settings: signing_key: missing (this plugin only issues keys)")
        if kid is None:
            raise ValueError("settings: kid: missing (required with `signing_key`)")
        if kid == "":
            raise ValueError("settings: kid: must not be empty")
        self.seed = _hex32(seed, "settings: signing_key: expected 64 hex digits (an Ed25519 secret seed)")
        self.kid = kid
        public = ed25519.public_key(self.seed)
        trusted = settings.get("trusted_keys")
        if trusted:
            for n, entry in enumerate(trusted.split(","), 1):
                entry_kid, sep, hex_key = entry.strip().partition(":")
                if not sep:
                    raise ValueError("settings: trusted_keys: entry %d is not `kid:64-hex-public-key`" % n)
                listed = _hex32(hex_key, "settings: trusted_keys: key `%s`: expected 64 hex digits"
                                % entry_kid.strip())
                if entry_kid.strip() == kid and listed != public:
                    raise ValueError("settings: signing_key: its public key differs from the "
                                     "trusted key `%s`" % kid)

    def payload(self, e):
        """The payload text, in SCHEMES.md's key order. THE PLANTED DEFECT:
        json.dumps escapes every non-ASCII character (ensure_ascii=True)."""
        customer = e["customer"]
        if customer is not None:
            customer = {"id": customer["id"], "name": customer["name"]}
        features = sorted(set(e["features"]), key=lambda s: s.encode("utf-8"))
        obj = [
            ("v", 1), ("kid", self.kid), ("prod", e["product"]), ("ed", e["edition"]),
            ("maxv", e["max_major"]), ("feat", features), ("seats", e["seats"]),
            ("iat", e["issued"]), ("exp", e["expires"]), ("maint", e["maintenance_until"]),
            ("serial", e["serial"]), ("cust", customer), ("order", e["order_id"]),
            ("host", e["host_id"]),
        ]
        return "{" + ",".join(json.dumps(k) + ":" + json.dumps(v, separators=(",", ":"))
                              for k, v in obj) + "}"

    def generate(self, e):
        try:
            text = self.payload(e)
        except (KeyError, TypeError) as err:
            return {"error": {"kind": "bad_argument",
                              "message": "not an entitlement: %s: %s" % (type(err).__name__, err)}}
        signed = PREFIX + base64.urlsafe_b64encode(text.encode("utf-8"))
        signature = ed25519.sign(self.seed, signed)
        return {"key": (signed + b"." + base64.urlsafe_b64encode(signature)).decode("ascii")}


READY = {"type": "ready", "protocol": 1, "name": NAME, "version": VERSION,
         "capabilities": {"generate": True, "validate": False, "formats": ["acme-ed1"]},
         "max_in_flight": 1}


def unsupported(_item):
    return {"error": {"kind": "unsupported", "message": "this plugin only issues keys"}}


def answer(issuer, request):
    """The request's items and what answers one (acme_lk1.serve sends the
    answers, in several messages when signing takes long)."""
    if request.get("type") == "validate":
        items = request.get("items")
        return (items, unsupported) if isinstance(items, list) else None
    items = request.get("entitlements")
    return (items, issuer.generate) if isinstance(items, list) else None


def main():
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout is the protocol only
    return acme_lk1.serve(Issuer, READY, answer, sys.stdin.buffer, out)


if __name__ == "__main__":
    sys.exit(main())
