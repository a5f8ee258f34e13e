#!/usr/bin/env python3
"""A standalone conformance driver for process plugins (plugins/PROTOCOL.md).

It starts plugin commands, does the hello, sends validate and generate batches,
and compares every answer with keycompat's builtins, asked through the
keycompat binary (`keycompat generate` / `keycompat validate --json`):

* plugins/python/acme_lk1.py against builtin:acme-lk1 on every vector of
  vectors/ (key vectors: verdict, format, decoded, reason; entitlement vectors:
  the key or the refused field, also against the vector's own expectation) and
  on seeded random entitlements, keys, forgeries and mutations;
* tests/plugins/process/ed1_ascii_issuer.py against builtin:acme-ed1 (emit =
  acme-ed1): identical keys for all-ASCII entitlements, different keys for
  non-ASCII ones (its planted defect);
* tests/plugins/process/misbehave.py: each fault mode shows the behaviour it
  documents (--misbehave).

    python3 tests/plugins/process/drive.py [--keycompat PATH] [--seed N]
        [--random N] [--misbehave] [--quick]

Exit status 0 when everything agreed. Needs Python 3.11 (tomllib) for the
vectors; the plugins themselves need only 3.8.
"""

import argparse
import base64
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "plugins", "python"))
sys.path.insert(0, HERE)

import acme_lk1  # noqa: E402

SECRET = acme_lk1.DEMO_SECRET
ED1_SETTINGS = {
    "lk1_secret": SECRET,
    "signing_key": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "kid": "acme-demo-2026",
    "trusted_keys": "acme-demo-2026:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a,"
                    "acme-demo-2025:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "lk1_products": "acme-cad,acme-viewer,acme-sim",
    "emit": "acme-ed1",
}


# ------------------------------------------------------------- the plugin

class ProtocolError(Exception):
    pass


class Plugin(object):
    """One plugin process, driven through the protocol."""

    def __init__(self, command, settings, env=None, timeout=10.0):
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env, cwd=ROOT,
                                     start_new_session=True)
        self.timeout = timeout
        self.next_id = 1
        self.stderr_chunks = []
        self.pending = b""
        self.messages = 0
        self.send({"type": "hello", "protocol": 1, "keycompat": "drive.py", "settings": settings})
        self.ready = self.receive()

    def send(self, message):
        self.proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
        self.proc.stdin.flush()

    def drain_stderr(self):
        fd = self.proc.stderr.fileno()
        while select.select([fd], [], [], 0)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.stderr_chunks.append(chunk)

    def receive(self, timeout=None):
        """The next line of stdout as JSON, or ProtocolError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        out = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("no answer within %ss" % (timeout or self.timeout))
            ready = select.select([out, self.proc.stderr.fileno()], [], [], left)[0]
            if self.proc.stderr.fileno() in ready:
                self.drain_stderr()
            if out in ready:
                chunk = os.read(out, 1 << 20)
                if not chunk:
                    raise ProtocolError("end of output (exit status %s)" % self.proc.wait())
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        try:
            return json.loads(line.decode("utf-8"))
        except ValueError:
            raise ProtocolError("the plugin sent %r" % line[:200])

    def request(self, kind, items, timeout=None):
        rid = self.next_id
        self.next_id += 1
        field = "items" if kind == "validate" else "entitlements"
        self.send({"type": kind, "id": rid, field: items})
        results = []
        self.messages = 0
        while True:  # the answers may come in several results messages
            answer = self.receive(timeout)
            self.messages += 1
            if answer.get("type") != "results":
                raise ProtocolError("answered %s" % json.dumps(answer)[:300])
            if answer.get("id") != rid:
                raise ProtocolError("answered id %s to request %d" % (answer.get("id"), rid))
            results.extend(answer["results"])
            if len(results) > len(items) or (not answer["results"] and items):
                raise ProtocolError("%d results for %d items" % (len(results), len(items)))
            if len(results) == len(items):
                return results

    def validate(self, keys_contexts, batch=256):
        results = []
        for i in range(0, len(keys_contexts), batch):
            items = []
            for key, ctx in keys_contexts[i:i + batch]:
                try:
                    items.append({"key": key.decode("utf-8"), "context": ctx})
                except UnicodeDecodeError:
                    items.append({"key_base64": base64.b64encode(key).decode("ascii"), "context": ctx})
            results.extend(self.request("validate", items))
        return results

    def generate(self, entitlements, batch=256):
        results = []
        for i in range(0, len(entitlements), batch):
            results.extend(self.request("generate", entitlements[i:i + batch]))
        return results

    def close(self, timeout=5.0):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stderr_text(self):
        self.drain_stderr()
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")


# ------------------------------------------------------ keycompat's builtins

class Keycompat(object):
    def __init__(self, binary):
        self.binary = binary
        self.calls = 0

    def generate(self, system, entitlements, settings=()):
        """Each entitlement's answer in the protocol's shape, or None when
        keycompat calls the entitlement invalid."""
        cmd = [self.binary, "generate", "--system", system]
        for k, v in settings:
            cmd += ["--setting", "%s=%s" % (k, v)]
        text = "".join(canonical(e) + "\n" for e in entitlements)
        p = subprocess.run(cmd, input=text.encode("utf-8"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd="/tmp")
        self.calls += 1
        lines = p.stdout.decode("utf-8").split("\n")[:-1]
        if len(lines) != len(entitlements):
            raise RuntimeError("keycompat generate: %d lines for %d entitlements: %s"
                               % (len(lines), len(entitlements), p.stderr.decode()[-2000:]))
        out = []
        for line in lines:
            if line.startswith("error: refused: "):
                field, _, reason = line[len("error: refused: "):].partition(": ")
                out.append({"refused": {"field": field, "reason": reason}})
            elif line.startswith("error: invalid entitlement: "):
                out.append(None)
            elif line.startswith("error: "):
                out.append({"error": line})
            else:
                out.append({"key": line})
        return out

    def validate(self, system, key, ctx):
        cmd = [self.binary, "validate", "--system", system, "--key", "-",
               "--product", ctx["product"], "--version", ctx["version"],
               "--today", ctx["today"], "--json"]
        if ctx.get("host_id") is not None:
            cmd += ["--host-id", ctx["host_id"]]
        p = subprocess.run(cmd, input=key, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           cwd="/tmp")
        self.calls += 1
        if p.returncode not in (0, 1):
            raise RuntimeError("keycompat validate %r: exit %d: %s"
                               % (key[:80], p.returncode, p.stderr.decode()))
        return json.loads(p.stdout)


def canonical(e):
    """The canonical JSON form (SCHEMES.md): every field, in order, compact."""
    order = ["product", "edition", "max_major", "features", "seats", "issued", "expires",
             "maintenance_until", "serial", "customer", "order_id", "host_id"]
    return json.dumps(dict((k, e.get(k)) for k in order), ensure_ascii=False,
                      separators=(",", ":"))


# ---------------------------------------------------------------- vectors

def date_text(v):
    return v if v is None or isinstance(v, str) else v.isoformat()


def vector_entitlement(t):
    e = {
        "product": t["product"], "edition": t["edition"], "max_major": t["max_major"],
        "features": sorted(set(t.get("features", [])), key=lambda s: s.encode("utf-8")),
        "seats": t.get("seats"), "issued": date_text(t["issued"]),
        "expires": date_text(t.get("expires")),
        "maintenance_until": date_text(t.get("maintenance_until")),
        "serial": t["serial"], "customer": None, "order_id": t.get("order_id"),
        "host_id": t.get("host_id"),
    }
    if "customer" in t:
        e["customer"] = {"id": t["customer"]["id"], "name": t["customer"]["name"]}
    return e


def vector_key(v):
    if "key" in v:
        return v["key"].encode("utf-8")
    if "key_hex" in v:
        return bytes.fromhex(v["key_hex"])
    out = b""
    for part in v["key_parts"]:
        chunk = part["text"].encode("utf-8") if "text" in part else bytes.fromhex(part["hex"])
        out += chunk * part.get("times", 1)
    return out


def load_vectors():
    import tomllib
    keys, ents = [], []
    for d in ("acme", "regressions"):
        folder = os.path.join(ROOT, "vectors", d)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".toml"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                doc = tomllib.load(f)
            for v in doc.get("key", []):
                ctx = dict(v["context"])
                ctx["version"] = str(ctx["version"])
                ctx["today"] = date_text(ctx["today"])
                ctx.setdefault("host_id", None)
                keys.append((name, v.get("comment", ""), vector_key(v), ctx, v.get("expect", {})))
            for v in doc.get("entitlement", []):
                ents.append((name, v.get("comment", ""), vector_entitlement(v["entitlement"]),
                             v.get("keys", {})))
            for v in doc.get("regression", []):
                if "entitlement" in v:
                    ents.append((name, v.get("note", ""), vector_entitlement(v["entitlement"]), {}))
    return keys, ents


# ----------------------------------------------------------------- random

PRODUCTS = ["acme-cad", "acme-viewer", "acme-sim", "acme-cloud"]
ALL_FEATURES = list(acme_lk1.FEATURES)
NAMES = ["Acme Corp", "Zoë Müller GmbH", "株式会社テスト", "Ελληνική Εταιρεία ΑΕ", "O'Brien & \"Sons\"",
         "back\\slash Ltd", "Ærøskøbing A/S", "😀 Emoji Inc", "Søren", "José", "ASCII only 123",
         "tab-free / slash", "İstanbul Ltd", "Straße", "\u00a0nbsp inside", "a" * 300]


def rand_day(r, lo, hi):
    return acme_lk1.format_day(r.randint(lo, hi))


D2000 = acme_lk1.days_from_civil(2000, 1, 1)
DMAX = D2000 + acme_lk1.MAX_EXPIRY_DAYS
D0 = acme_lk1.days_from_civil(0, 1, 1)
D9999 = acme_lk1.days_from_civil(9999, 12, 31)


def random_entitlement(r, ascii_only=False):
    """Half of them fit acme-lk1 (boundary values inside its range); the
    others break one to three of its limits (boundary values outside it)."""
    product = r.choice(PRODUCTS[:3])
    feats = r.choice([[], ALL_FEATURES[:16], r.sample(ALL_FEATURES[:16], r.randint(0, 16))])
    seats = r.choice([None, 1, 1023, r.randint(1, 1023)])
    issued = r.choice([rand_day(r, D2000 - 400, DMAX), "2026-11-23", rand_day(r, D0, D2000),
                       "0000-01-01", "2000-01-01"])
    idays = acme_lk1.parse_day(issued)
    lo = max(idays, D2000 + 1)
    expires = r.choice([None, "2000-01-02", "2044-11-08", rand_day(r, lo, min(DMAX, lo + 800)),
                        rand_day(r, lo, DMAX)]) if lo <= DMAX else None
    if expires is not None and acme_lk1.parse_day(expires) < idays:
        expires = None
    serial = r.choice([0, 1, 2 ** 20 - 1, r.randint(0, 2 ** 20 - 1)])
    host = None
    for _ in range(r.choice([0, 0, 0, 1, 1, 2, 3])):
        broken = r.choice(["product", "features", "seats", "expires", "serial", "host_id"])
        if broken == "product":
            product = "acme-cloud"
        elif broken == "features":
            feats = feats + [r.choice(ALL_FEATURES[16:])]
        elif broken == "seats":
            seats = r.choice([1024, 2 ** 32 - 1, r.randint(1024, 5000)])
        elif broken == "expires":
            expires = r.choice(["2044-11-09", "9999-12-31", "2000-01-01", rand_day(r, idays, D9999)])
        elif broken == "serial":
            serial = r.choice([2 ** 20, 2 ** 32 - 1, r.randint(2 ** 20, 2 ** 32 - 1)])
        else:
            host = r.choice(["H-1", "host \"quoted\""] + ([] if ascii_only else ["hôte-é"]))
    if expires is not None and acme_lk1.parse_day(expires) < idays:
        expires = issued
    customer = None
    if r.random() < 0.6:
        name = r.choice(NAMES[:1] + NAMES[10:12] if ascii_only else NAMES)
        customer = {"id": "C-%06d" % r.randint(0, 999999), "name": unicodedata.normalize("NFC", name)}
    order = r.choice([None, "SO-%d" % r.randint(1, 99999)] + ([] if ascii_only else ["Bestellung-Nr.-ä1"]))
    return {
        "product": product, "edition": r.choice(acme_lk1.EDITIONS),
        "max_major": r.choice([0, 5, 7, 255, r.randint(0, 255)]),
        "features": sorted(set(feats)), "seats": seats, "issued": issued, "expires": expires,
        "maintenance_until": r.choice([None, issued]), "serial": serial, "customer": customer,
        "order_id": order, "host_id": host,
    }


def random_context(r, near=None):
    product = r.choice(PRODUCTS + ["acme-paint", "ACME-CAD", "acme-cad", "acme-cad"])
    version = r.choice(["5.4", "6.2", "7.0", "0.0", "255.9", "256.0", "007.02",
                        "%d.%d" % (r.randint(0, 300), r.randint(0, 99)), "999999999.0"])
    if near is not None and r.random() < 0.7:
        today = acme_lk1.format_day(near + r.choice([-1, 0, 1, 0, 1]))
    else:
        today = r.choice(["2026-12-01", "2000-01-01", "0000-01-01", "9999-12-31",
                          rand_day(r, D2000, DMAX + 10)])
    host = r.choice([None, None, "H-1"])
    return {"product": product, "version": version, "today": today, "host_id": host}


MUTATIONS = [
    lambda r, k: k.lower(),
    lambda r, k: k.replace(b"-", b""),
    lambda r, k: b"  " + k + b"\r\n\t",
    lambda r, k: k.replace(b"-", b" "),
    lambda r, k: k.replace(b"0", b"O"),
    lambda r, k: k.replace(b"0", b"o"),
    lambda r, k: k.replace(b"1", b"I"),
    lambda r, k: k.replace(b"1", b"l"),
    lambda r, k: k.replace(b"1", b"L"),
    lambda r, k: k.replace(b"-", b"\xc2\xa0", 1),            # NBSP
    lambda r, k: k.replace(b"-", b"\xe2\x80\x8b", 1),        # ZWSP
    lambda r, k: b"\xef\xbb\xbf" + k,                        # BOM
    lambda r, k: k.replace(b"-", b"\x00", 1),
    lambda r, k: k.replace(b"-", b"_", 1),
    lambda r, k: k[:-1],
    lambda r, k: k + b"0",
    lambda r, k: k + b"-",
    lambda r, k: b"-".join(bytes([c]) for c in k.replace(b"-", b"")),
    lambda r, k: k.replace(b"A", b"U", 1),
    lambda r, k: k.replace(b"2", "\uff12".encode("utf-8"), 1),  # full-width digit
    lambda r, k: k[:r.randrange(len(k))] + bytes([r.randrange(256)]) + k[r.randrange(len(k)):],
    lambda r, k: one_symbol_changed(r, k),
    lambda r, k: one_symbol_changed(r, k),
    lambda r, k: bytes(r.randrange(256) for _ in range(r.randint(0, 40))),
    lambda r, k: b"",
    lambda r, k: b"Z" * 1000,
    lambda r, k: k.replace(b"-", b"\xff", 1),                # not UTF-8
    lambda r, k: k.decode().encode("utf-16-le"),
    lambda r, k: k.replace(b"-", b"\x0b", 1),                # vertical tab: not folded
]


def one_symbol_changed(r, k):
    positions = [i for i, c in enumerate(k) if c != ord("-")]
    i = r.choice(positions)
    new = r.choice([c for c in acme_lk1.ALPHABET.encode() if c != k[i]])
    return k[:i] + bytes([new]) + k[i + 1:]


def random_forgery(r, lk1):
    """A correctly MACed key with arbitrary or boundary field values."""
    fields = [r.choice([1, 1, 1, 0, 2, 15]), r.choice([17, 18, 21, 0, 255, r.randrange(256)]),
              r.choice([0, 1, 2, 3, 4, 7]), r.randrange(256), r.randrange(1 << 16),
              r.randrange(1 << 10), r.choice([0, 1, acme_lk1.MAX_EXPIRY_DAYS, r.randrange(1 << 14)]),
              r.randrange(1 << 20), r.choice([0, 0, 0, 1, 2, 3])]
    return lk1.seal(fields).encode("ascii"), fields


# ------------------------------------------------------------------ checks

class Tally(object):
    def __init__(self, name):
        self.name, self.agree, self.differ, self.notes = name, 0, 0, []

    def check(self, ok, what):
        if ok:
            self.agree += 1
        else:
            self.differ += 1
            if len(self.notes) < 15:
                self.notes.append(what)

    def report(self):
        print("%-58s agree %6d   differ %4d" % (self.name, self.agree, self.differ))
        for n in self.notes:
            print("    DIFF", n[:900])
        return self.differ == 0


def same_validation(mine, theirs):
    """(core equal, reason equal): verdict, format, decoded; then reason."""
    core = all(mine.get(k) == theirs.get(k) for k in ("verdict", "format", "decoded"))
    return core, mine.get("reason") == theirs.get("reason")


def compare_validations(tally, reasons, cases, mine, kc, system):
    for (key, ctx, label), m in zip(cases, mine):
        t = kc.validate(system, key, ctx)
        core, reason = same_validation(m, t)
        tally.check(core, "%s key=%r ctx=%s\n      plugin  %s\n      builtin %s"
                    % (label, key[:60], json.dumps(ctx), json.dumps(m), json.dumps(t)))
        reasons.check(reason, "%s key=%r: plugin %r, builtin %r"
                      % (label, key[:60], m.get("reason"), t.get("reason")))


def compare_generations(tally, ents, mine, theirs, label, reasons=None):
    for i, (e, m, t) in enumerate(zip(ents, mine, theirs)):
        if t is None:  # keycompat says the entitlement is invalid: never sent to a plugin
            continue
        if "refused" in t:
            ok = "refused" in m and m["refused"]["field"] == t["refused"]["field"]
            if ok and reasons is not None:
                reasons.check(m["refused"]["reason"] == t["refused"]["reason"],
                              "%s: plugin %r, builtin %r" % (label, m["refused"]["reason"],
                                                             t["refused"]["reason"]))
        else:
            ok = m == t
        tally.check(ok, "%s %s\n      plugin  %s\n      builtin %s"
                    % (label, canonical(e), json.dumps(m), json.dumps(t)))


def run_lk1(kc, args):
    r = random.Random(args.seed)
    plugin = Plugin(["python3", "plugins/python/acme_lk1.py"], {"secret": SECRET})
    assert plugin.ready["capabilities"] == {"generate": True, "validate": True, "formats": ["acme-lk1"]}
    lk1 = acme_lk1.Lk1(SECRET)
    ok = True

    # --- vectors
    vkeys, vents = load_vectors()
    t_vk = Tally("lk1 vectors: validate vs builtin:acme-lk1")
    t_vr = Tally("lk1 vectors: validate reason text vs builtin")
    t_vx = Tally("lk1 vectors: validate vs the vector's `old` verdict")
    cases = [(k, ctx, "%s: %s" % (f, c)) for f, c, k, ctx, _ in vkeys]
    mine = plugin.validate([(k, ctx) for k, ctx, _ in cases])
    compare_validations(t_vk, t_vr, cases, mine, kc, "builtin:acme-lk1")
    for (f, c, k, ctx, expect), m in zip(vkeys, mine):
        if "old" in expect:
            t_vx.check(m.get("verdict") == expect["old"], "%s: %s: %s, vector says %s"
                       % (f, c, m.get("verdict"), expect["old"]))
    t_ve = Tally("lk1 vectors: generate vs builtin:acme-lk1")
    t_rf = Tally("lk1 vectors+random: refusal reason text vs builtin")
    t_vee = Tally("lk1 vectors: generate vs the vector's acme-lk1 key")
    ents = [e for _, _, e, _ in vents]
    mine_g = plugin.generate(ents)
    theirs_g = kc.generate("builtin:acme-lk1", ents)
    compare_generations(t_ve, ents, mine_g, theirs_g, "vector", t_rf)
    for (f, c, e, keys), m in zip(vents, mine_g):
        want = keys.get("acme-lk1")
        if want is None:
            continue
        if isinstance(want, dict):
            t_vee.check(m.get("refused", {}).get("field") == want["refused"],
                        "%s: %s: %s, vector refuses %s" % (f, c, m, want["refused"]))
        else:
            t_vee.check(m.get("key") == want, "%s: %s: %s, vector %s" % (f, c, m, want))
    # the decoded keys of the vectors' entitlements
    # --- random entitlements
    n = args.random
    ents = [random_entitlement(r) for _ in range(n)]
    t_re = Tally("lk1 random: generate vs builtin (%d entitlements)" % n)
    mine_g = plugin.generate(ents)
    theirs_g = kc.generate("builtin:acme-lk1", ents)
    compare_generations(t_re, ents, mine_g, theirs_g, "random", t_rf)
    invalid = sum(1 for t in theirs_g if t is None)
    refused = sum(1 for t in theirs_g if t and "refused" in t)
    print("  random entitlements: %d issued, %d refused, %d invalid (skipped)"
          % (sum(1 for t in theirs_g if t and "key" in t), refused, invalid))
    # --- random keys: issued, mutated, forged; contexts near their expiry
    issued = [(m["key"].encode("ascii"), e) for m, e in zip(mine_g, ents) if "key" in m]
    cases = []
    for key, e in issued[: max(1, n // 2)]:
        near = acme_lk1.parse_day(e["expires"]) if e["expires"] else None
        cases.append((key, random_context(r, near), "issued"))
        ctx = {"product": e["product"], "version": "%d.0" % e["max_major"],
               "today": e["expires"] or "2026-12-01", "host_id": None}
        cases.append((key, ctx, "issued, its own context"))
        mutated = r.choice(MUTATIONS)(r, key)
        cases.append((mutated, random_context(r, near), "mutated"))
    for _ in range(max(1, n // 2)):
        key, fields = random_forgery(r, lk1)
        near = acme_lk1.EPOCH_DAYS + fields[6] if fields[6] else None
        cases.append((key, random_context(r, near), "forged %s" % fields))
        if r.random() < 0.3:
            cases.append((r.choice(MUTATIONS)(r, key), random_context(r, near), "forged+mutated"))
    t_rk = Tally("lk1 random: validate vs builtin (%d keys)" % len(cases))
    t_rr = Tally("lk1 random: validate reason text vs builtin")
    mine = plugin.validate([(k, ctx) for k, ctx, _ in cases], batch=97)
    compare_validations(t_rk, t_rr, cases, mine, kc, "builtin:acme-lk1")
    # the module API gives the same answers as the protocol
    t_api = Tally("lk1: module API == protocol answers")
    for (k, ctx, _), m in zip(cases, mine):
        t_api.check(acme_lk1.validate(k, ctx, SECRET) == m, repr(k))
    # --- the same answers under other time zones and locales (the ENV check)
    t_env = Tally("lk1: same answers under other TZ / LANG / LC_ALL")
    for env in ({"TZ": "America/New_York"}, {"TZ": "Pacific/Kiritimati", "LC_ALL": "tr_TR.UTF-8"},
                {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "latin-1"},
                {"TZ": "Asia/Kathmandu", "LANG": "th_TH.UTF-8", "PYTHONUTF8": "0"}):
        other = Plugin(["python3", "plugins/python/acme_lk1.py"], {"secret": SECRET}, env=env)
        answers = other.validate([(k, ctx) for k, ctx, _ in cases], batch=97)
        for (k, ctx, label), a, m in zip(cases, answers, mine):
            t_env.check(a == m, "%s %s: %r %s vs %s" % (env, label, k, a, m))
        other.close()
    # --- protocol details
    t_p = Tally("lk1: protocol details")
    bad = plugin.request("validate", [{"context": cases[0][1]}, {"key": 5, "context": cases[0][1]},
                                      {"key_base64": "!!", "context": cases[0][1]},
                                      {"key": "x", "context": {"product": "acme-cad"}}])
    t_p.check(all(b["error"]["kind"] == "bad_argument" for b in bad), json.dumps(bad))
    plugin.send({"type": "frobnicate", "id": 99})
    ans = plugin.receive()
    t_p.check(ans.get("type") == "error", json.dumps(ans))
    t_p.check(plugin.request("validate", [{"key": "24A0M-02T1K-7Y9KS-689RQ-7B450", "extra": 1,
                                           "context": dict(cases[0][1], future=True)}])[0]
              .get("verdict") is not None, "unknown fields must be ignored")
    status = plugin.close()
    t_p.check(status == 0, "exit status %s after stdin closed" % status)
    for hello, want in ((1, None), (2, "protocol 2 is not supported; I speak 1")):
        p = Plugin(["python3", "plugins/python/acme_lk1.py"], {"secret": SECRET}) if hello == 1 else None
        if p:
            p.close()
            continue
        p = subprocess.run(["python3", "plugins/python/acme_lk1.py"], cwd=ROOT, stdout=subprocess.PIPE,
                           input=json.dumps({"type": "hello", "protocol": 2, "settings": {}}).encode() + b"\n")
        t_p.check(json.loads(p.stdout) == {"type": "error", "message": want}, p.stdout.decode())
    for settings, want in (({}, "settings: secret: missing"),
                           ({"secret": ""}, "settings: secret: must not be empty")):
        p = subprocess.run(["python3", "plugins/python/acme_lk1.py"], cwd=ROOT, stdout=subprocess.PIPE,
                           input=json.dumps({"type": "hello", "protocol": 1, "settings": settings}).encode() + b"\n")
        t_p.check(json.loads(p.stdout) == {"type": "error", "message": want}, p.stdout.decode())
    for t in (t_vk, t_vr, t_vx, t_ve, t_vee, t_re, t_rf, t_rk, t_rr, t_api, t_env, t_p):
        ok = t.report() and ok
    return ok


def run_ed1(kc, args):
    r = random.Random(args.seed + 1)
    plugin = Plugin(["python3", "tests/plugins/process/ed1_ascii_issuer.py"], ED1_SETTINGS)
    assert plugin.ready["capabilities"]["validate"] is False
    _, vents = load_vectors()
    ents = [e for _, _, e, _ in vents]
    ents += [random_entitlement(r, ascii_only=True) for _ in range(args.random // 2)]
    ents += [random_entitlement(r) for _ in range(args.random // 2)]
    mine = plugin.generate(ents)
    theirs = kc.generate("builtin:acme-ed1", ents, sorted(ED1_SETTINGS.items()))
    t_same = Tally("ed1 issuer: all-ASCII entitlements: same key as builtin")
    t_diff = Tally("ed1 issuer: non-ASCII entitlements: key differs (planted)")
    t_vec = Tally("ed1 issuer: vs the vectors' acme-ed1 keys (ASCII same, else differ)")
    t_sig = Tally("ed1 issuer: keys verify (RFC 8032) and decode to the same JSON")
    import ed25519
    public = bytes.fromhex(ED1_SETTINGS["trusted_keys"].split(",")[0].split(":")[1])
    for e, m, t in zip(ents, mine, theirs):
        if t is None:
            continue
        is_ascii = all(ord(c) < 128 for c in canonical(e))
        (t_same if is_ascii else t_diff).check((m == t) == is_ascii,
                                              "%s\n      plugin  %s\n      builtin %s" % (canonical(e), m, t))
        signed, _, sig = m["key"].partition(".")
        payload = base64.urlsafe_b64decode(signed[4:])
        theirs_payload = base64.urlsafe_b64decode(t["key"].partition(".")[0][4:])
        t_sig.check(ed25519.verify(public, signed.encode(), base64.urlsafe_b64decode(sig))
                    and json.loads(payload) == json.loads(theirs_payload), m["key"])
    for (f, c, e, keys), m in zip(vents, mine):
        if "acme-ed1" in keys and isinstance(keys["acme-ed1"], str):
            is_ascii = all(ord(ch) < 128 for ch in canonical(e))
            t_vec.check((m["key"] == keys["acme-ed1"]) == is_ascii, "%s: %s" % (f, c))
    t_p = Tally("ed1 issuer: protocol details")
    res = plugin.request("validate", [{"key": "x", "context": {}}])
    t_p.check(res[0]["error"]["kind"] == "unsupported", json.dumps(res))
    t_p.check(plugin.close() == 0, "exit status")
    for change, want in ((("signing_key", "xyz"), "settings: signing_key: expected 64 hex digits "
                                                    "(an Ed25519 secret seed)"),
                         (("kid", "acme-demo-2025"), "settings: signing_key: its public key differs "
                                                     "from the trusted key `acme-demo-2025`"),
                         (("kid", ""), "settings: kid: must not be empty")):
        s = dict(ED1_SETTINGS)
        s[change[0]] = change[1]
        p = Plugin(["python3", "tests/plugins/process/ed1_ascii_issuer.py"], s)
        t_p.check(p.ready == {"type": "error", "message": want}, json.dumps(p.ready))
        p.close()
    ok = True
    for t in (t_same, t_diff, t_vec, t_sig, t_p):
        ok = t.report() and ok
    return ok


# -------------------------------------------------------------- misbehave

GOOD = "24A0M-02T1K-7Y9KS-689RQ-7B450"
CTX = {"product": "acme-cad", "version": "5.4", "today": "2026-12-01", "host_id": None}


def run_misbehave(args):
    cmd = ["python3", "tests/plugins/process/misbehave.py"]
    t = Tally("misbehave: every mode does what it says")
    items = [{"key": "not a key", "context": CTX}, {"key": GOOD, "context": CTX}]

    def start(fault, **extra):
        s = {"secret": SECRET, "fault": fault}
        s.update(extra)
        return Plugin(cmd, s, timeout=3)

    def outcome(fault, env=None, **extra):
        """What a validate request of `items` gets: ("results", list) or
        ("failed", text, exit status)."""
        p = Plugin(cmd, dict({"secret": SECRET, "fault": fault}, **extra), env=env, timeout=3)
        try:
            return ("results", p.request("validate", items), p)
        except ProtocolError as err:
            status = p.proc.poll()
            return ("failed", str(err), status, p)

    o = outcome("")
    t.check(o[0] == "results" and o[1][1]["verdict"] == "valid", "no fault: %s" % (o[:2],))
    o[-1].close()
    o = outcome("exit", on="24A0M")
    t.check(o[0] == "failed" and o[2] == 3 and "Traceback" in o[3].stderr_text(), "exit: %s" % (o[:3],))
    o = outcome("kill")
    t.check(o[0] == "failed" and o[2] == -signal.SIGKILL, "kill: %s" % (o[:3],))
    o = outcome("segv")
    t.check(o[0] == "failed" and o[2] == -signal.SIGSEGV, "segv: %s" % (o[:3],))
    o = outcome("hang")
    t.check(o[0] == "failed" and "no answer" in o[1] and o[2] is None, "hang: %s" % (o[:3],))
    o[-1].kill()
    o = outcome("garbage")
    t.check(o[0] == "failed" and "sent" in o[1], "garbage: %s" % (o[:2],))
    o[-1].close()
    try:
        p = start("banner")
        t.check(False, "banner: got a ready %s" % p.ready)
        p.kill()
    except ProtocolError as err:
        t.check("banner on stdout" in str(err), "banner: %s" % err)
    for fault, want in (("wrong-id", "answered id"), ("wrong-count", "no answer within"),
                        ("too-many", "3 results for 2"), ("error-message", '"type": "error"')):
        o = outcome(fault)
        t.check(o[0] == "failed" and want in o[1], "%s: %s" % (fault, o[:2]))
        o[-1].close()
    o = outcome("internal", on="24A0M")
    t.check(o[0] == "results" and o[1][0]["verdict"] == "malformed"
            and o[1][1]["error"]["kind"] == "internal", "internal: %s" % (o[:2],))
    o[-1].close()
    p = start("bad-settings")
    t.check(p.ready.get("type") == "error" and "settings" in p.ready["message"], "bad-settings %s" % p.ready)
    p.close()
    p = start("old-protocol")
    t.check(p.ready.get("protocol") == 99, "old-protocol %s" % p.ready)
    p.close()
    t0 = time.monotonic()
    o = outcome("slow", delay_ms="300")
    took = time.monotonic() - t0
    t.check(o[0] == "results" and took >= 0.6 and o[1][1]["verdict"] == "valid", "slow: %s %.2fs" % (o[:2], took))
    o[-1].close()
    o = outcome("spawn-child")
    text = o[-1].stderr_text()
    child = [int(w) for w in re.findall(r"grandchild pid (\d+)", text)]
    alive = bool(child) and os.path.exists("/proc/%d" % child[-1])
    o[-1].kill()
    time.sleep(0.2)
    gone = bool(child) and (not os.path.exists("/proc/%d" % child[-1])
                            or "Z" in open("/proc/%d/stat" % child[-1]).read().split()[2])
    t.check(o[0] == "failed" and alive and gone, "spawn-child: %s alive %s gone after killpg %s"
            % (o[:2], alive, gone))
    p = start("stderr-chatter")
    many = [{"key": GOOD, "context": CTX}] * 3
    res = [p.request("validate", many) for _ in range(20)]
    t.check(all(r[0]["verdict"] == "valid" for r in res) and len(p.stderr_text()) > 1000000,
            "stderr-chatter: %d bytes" % len(p.stderr_text()))
    p.close()
    day_after = dict(CTX, today="2028-01-01")
    for tz, want in (("UTC", "expired"), ("America/New_York", "valid"), ("Asia/Tokyo", "expired")):
        p = Plugin(cmd, {"secret": SECRET, "fault": "nondeterministic-env"}, env={"TZ": tz}, timeout=3)
        v = p.request("validate", [{"key": GOOD, "context": day_after}])[0]["verdict"]
        t.check(v == want, "nondeterministic-env TZ=%s: %s, want %s" % (tz, v, want))
        p.close()
    # `on`: the fault fires only on a matching item
    p = start("wrong-id", on="NOPE")
    t.check(p.request("validate", items)[1]["verdict"] == "valid", "on: no match, no fault")
    p.close()
    p = start("internal", on="\"C-000042\"")
    e = {"product": "acme-cad", "edition": "trial", "max_major": 1, "features": [], "seats": None,
         "issued": "2026-01-01", "expires": None, "maintenance_until": None, "serial": 7,
         "customer": {"id": "C-000042", "name": "X"}, "order_id": None, "host_id": None}
    res = p.request("generate", [e, dict(e, customer=None)])
    t.check("error" in res[0] and "key" in res[1], "on: customer as JSON %s" % res)
    p.close()
    return t.report()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keycompat", default=os.environ.get("KEYCOMPAT", "/work/targets/py/debug/keycompat"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--random", type=int, default=600, help="random entitlements (keys: about 2x)")
    ap.add_argument("--only", choices=["lk1", "ed1", "misbehave"], action="append")
    args = ap.parse_args()
    kc = Keycompat(args.keycompat)
    only = args.only or ["lk1", "ed1", "misbehave"]
    ok = True
    start = time.monotonic()
    if "lk1" in only:
        ok = run_lk1(kc, args) and ok
    if "ed1" in only:
        ok = run_ed1(kc, args) and ok
    if "misbehave" in only:
        ok = run_misbehave(args) and ok
    print("%s in %.1fs (%d keycompat calls)" % ("ALL AGREE" if ok else "DIFFERENCES",
                                                 time.monotonic() - start, kc.calls))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
