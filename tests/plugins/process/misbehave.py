#!/usr/bin/env python3
"""A deliberately faulty process plugin, for keycompat's tests of its host side.

Underneath it is the correct acme-lk1 generator and validator of
plugins/python/acme_lk1.py (settings: `secret`, as that plugin's). On top of
it, the hello settings choose one fault:

* `fault`: the mode below (absent or empty: no fault, a correct plugin);
* `on`: a substring. The fault fires only on an item whose key (validate), or
  whose entitlement's serial or customer as JSON (generate; the customer both
  as compact JSON and its id and name), contains it. Absent: every request and
  every item. Faults of the whole request (wrong-id, garbage, ...) fire on a
  request with at least one such item; faults mid-request (exit, kill, segv,
  hang, spawn-child) fire when the loop reaches the first such item, after the
  items before it were computed (but never sent);
* `delay_ms`: for `slow`, the sleep per item (default 1000).

Modes:

| fault | what the plugin does |
|---|---|
| `exit` | prints a traceback-like line to stderr, exits with status 3 mid-request |
| `kill` | SIGKILLs itself mid-request |
| `segv` | SIGSEGVs itself mid-request (os.kill(os.getpid(), SIGSEGV)) |
| `hang` | sleeps forever mid-request |
| `garbage` | prints a line that is not JSON on stdout instead of the results |
| `banner` | prints a non-JSON log line on stdout BEFORE the ready message (`on` is not used), then works correctly |
| `wrong-id` | answers with id + 1 |
| `wrong-count` | answers with one result too few |
| `too-many` | answers with one result too many (the last one twice) |
| `short-batch` | answers a request of more than one item with one result too few; a request of one item correctly (a batching bug no single item reproduces) |
| `error-message` | answers `{"type":"error","message":...}` instead of the results |
| `internal` | answers `{"error":{"kind":"internal",...}}` for each matching item (a per-item crash); the other items get their real answers |
| `bad-settings` | answers the hello with `{"type":"error","message":"settings: fault: ..."}` |
| `old-protocol` | answers the hello with a ready of protocol 99 |
| `slow` | sleeps `delay_ms` per matching item, then answers correctly |
| `spawn-child` | starts a grandchild `sleep 1000` (its pid on stderr), then hangs: the whole process group must be killed |
| `stderr-chatter` | writes about 64 KiB to stderr on every request (whatever `on` says), and answers correctly: stderr must be drained |
| `daemon` | starts a grandchild `sleep 1000` in a session of its own (`setsid`, as a daemon does: out of the plugin's process group; its pid on stderr), then exits with status 3 mid-request: keycompat must still end it before it exits itself |
| `empty-more` | answers a request with a matching item by empty results marked `"more":true`, one every 0.2 s, for ever (never silent, never answering: a hang the timeout alone cannot see) |
| `no-decode` | answers each matching validate item `valid` without the `decoded` entitlement PROTOCOL.md requires |
| `crlf-key` | answers each matching generate item with its real key followed by `\r\n` (a writer that ends every key with a Windows line break) |
| `exit-next` | answers a request with a matching item in full and correctly, then exits with status 0 on reading the next request, whatever it holds (a plugin ending between requests: no item of the next request is to blame) |
| `no-seats` | validates matching items correctly but leaves `seats` out of every decode (a validator that does not read a field its format carries: it decodes as if the format had none) |
| `flaky-once` | answers the first validation of each matching key `bad_signature`, and every later one correctly (a nondeterministic validator: a finding its replay does not show) |
| `thai-locale-refused` | answers the hello with an error when `LC_ALL` or `LANG` starts with `th_TH` (a library that cannot load a locale's data), and works correctly elsewhere. For the ENV check |
| `drops-features` | generates matching items with the features that have no legacy bit (`ai-assist`, `web-viewer`, `api-access`) silently left out instead of refusing the entitlement (a field mapper that copies what the format has): its key validates, without them |
| `nondeterministic-env` | validates matching items with a "today" computed through local time: the context's day at 00:00 UTC converted with time.localtime, which is the day before when TZ is west of UTC (a realistic bug: keys are valid one day past expiry there). Same answers as the correct plugin under TZ=UTC. For the ENV check |

Every mode writes a line to stderr naming itself when it fires.
"""

import calendar
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "plugins", "python"))

import acme_lk1  # noqa: E402

MODES = ("exit", "kill", "segv", "hang", "garbage", "banner", "wrong-id", "wrong-count",
         "too-many", "error-message", "internal", "bad-settings", "old-protocol", "slow",
         "spawn-child", "stderr-chatter", "nondeterministic-env", "short-batch", "empty-more",
         "no-decode", "daemon", "crlf-key", "exit-next", "flaky-once", "no-seats",
         "thai-locale-refused", "drops-features")


def log(text):
    sys.stderr.write("misbehave[%d]: %s\n" % (os.getpid(), text))
    sys.stderr.flush()


def write(out, message):
    out.write(json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n")
    out.flush()


def hang():
    while True:
        time.sleep(3600)


class Plugin(object):
    def __init__(self, settings):
        self.fault = settings.get("fault") or ""
        self.on = settings.get("on")
        self.delay = int(settings.get("delay_ms") or 1000) / 1000.0
        self.lk1 = acme_lk1.make_codec(settings)
        self.armed = False
        self.seen = set()

    def matches(self, kind, item):
        """Whether the fault fires on this item."""
        if self.on is None:
            return True
        if not isinstance(item, dict):
            return False
        if kind == "validate":
            key = item.get("key")
            if key is None:
                key = item.get("key_base64", "")
            return isinstance(key, str) and self.on in key
        texts = [json.dumps(item.get("serial"))]
        customer = item.get("customer")
        texts.append(json.dumps(customer, ensure_ascii=False, separators=(",", ":")))
        texts.append(json.dumps(customer, ensure_ascii=False))
        if isinstance(customer, dict):
            texts.extend(str(v) for v in customer.values())
        return any(self.on in t for t in texts)

    def one(self, kind, item, fire):
        """The real answer to one item, or the fault's."""
        fault = self.fault
        if fire and fault in ("exit", "kill", "segv", "hang", "spawn-child", "daemon"):
            self.crash()
        if fire and fault == "internal":
            log("internal: a per-item crash")
            return {"error": {"kind": "internal",
                              "message": "Traceback (most recent call last): ZeroDivisionError: "
                                         "division by zero (planted by misbehave.py)"}}
        if fire and fault == "slow":
            time.sleep(self.delay)
        if kind == "validate":
            if fire and fault == "no-decode":
                log("no-decode: valid without the decoded entitlement")
                return {"verdict": "valid", "format": "acme-lk1"}
            if fire and fault == "no-seats":
                answer = acme_lk1.validate_item(item, self.lk1)
                decoded = answer.get("decoded")
                if isinstance(decoded, dict) and "seats" in decoded:
                    log("no-seats: a decode without seats")
                    del decoded["seats"]
                return answer
            if fire and fault == "flaky-once":
                key = item.get("key", item.get("key_base64"))
                if key not in self.seen:
                    self.seen.add(key)
                    log("flaky-once: bad_signature the first time")
                    return {"verdict": "bad_signature", "format": "acme-lk1"}
            if fire and fault == "nondeterministic-env":
                return self.validate_through_local_time(item)
            return acme_lk1.validate_item(item, self.lk1)
        if fire and fault == "drops-features" and isinstance(item.get("features"), list):
            kept = [f for f in item["features"] if acme_lk1.FEATURES.get(f) is not None]
            if len(kept) < len(item["features"]):
                log("drops-features: issuing without the features acme-lk1 cannot carry")
                item = dict(item, features=kept)
        answer = self.lk1.generate(item)
        if fire and fault == "crlf-key" and "key" in answer:
            log("crlf-key: a key ending in a line break")
            answer["key"] += "\r\n"
        return answer

    def validate_through_local_time(self, item):
        """THE BUG: "today" as a local date. The context's day at midnight UTC,
        converted to local time, is the day before west of UTC."""
        context = dict(item.get("context") or {})
        y, m, d = (int(p) for p in context["today"].split("-"))
        local = time.localtime(calendar.timegm((y, m, d, 0, 0, 0, 0, 0, 0)))
        context["today"] = "%04d-%02d-%02d" % (local.tm_year, local.tm_mon, local.tm_mday)
        return acme_lk1.validate_item(dict(item, context=context), self.lk1)

    def crash(self):
        fault = self.fault
        if fault == "exit":
            sys.stderr.write("Traceback (most recent call last):\n"
                             "  File \"misbehave.py\", line 1, in <module>\n"
                             "RuntimeError: planted fault: exit with status 3\n")
            sys.stderr.flush()
            os._exit(3)
        if fault == "kill":
            log("kill: SIGKILL myself")
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "segv":
            log("segv: SIGSEGV myself")
            signal.signal(signal.SIGSEGV, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGSEGV)
        if fault == "daemon":
            child = subprocess.Popen(["sleep", "1000"], start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            log("daemon: grandchild pid %d in a session of its own, now exiting" % child.pid)
            os._exit(3)
        if fault == "spawn-child":
            child = subprocess.Popen(["sleep", "1000"])
            log("spawn-child: grandchild pid %d, now hanging" % child.pid)
        else:
            log("hang: sleeping forever")
        hang()

    def request(self, out, request):
        if self.armed:
            log("exit-next: exiting with status 0 before answering this request")
            os._exit(0)
        kind = request.get("type")
        rid = request.get("id")
        items = request.get("items" if kind == "validate" else "entitlements")
        if kind not in ("validate", "generate") or not isinstance(items, list):
            write(out, {"type": "error", "message": "not a request: %s" % json.dumps(request)[:200]})
            return
        fault = self.fault
        if fault == "stderr-chatter":
            line = "chatter " + "x" * 120 + "\n"
            for i in range(512):
                sys.stderr.write("%d %s" % (i, line))
            sys.stderr.flush()
        fires = [self.matches(kind, item) for item in items]
        results = []
        for item, fire in zip(items, fires):
            try:
                results.append(self.one(kind, item, fire))
            except Exception as err:
                results.append({"error": {"kind": "internal", "message": "%s: %s"
                                          % (type(err).__name__, err)}})
        if fault == "short-batch" and len(results) > 1 and any(fires):
            log("short-batch: one result too few for %d items" % len(results))
            results = results[:-1]
        if any(fires):
            if fault == "exit-next":
                self.armed = True
            if fault == "garbage":
                log("garbage on stdout")
                out.write(b"Segmentation fault? no: this line is not JSON\n")
                out.flush()
                return
            if fault == "empty-more":
                log("empty-more: empty results marked more, for ever")
                while True:
                    write(out, {"type": "results", "id": rid, "results": [], "more": True})
                    time.sleep(0.2)
            if fault == "error-message":
                log("error-message")
                write(out, {"type": "error", "message": "planted fault: cannot go on"})
                return
            if fault == "wrong-id":
                log("wrong-id: answering %s as %s" % (rid, rid + 1))
                rid = rid + 1
            if fault == "wrong-count":
                log("wrong-count: one result too few")
                results = results[:-1]
            if fault == "too-many":
                log("too-many: one result too many")
                results = results + results[-1:]
        write(out, {"type": "results", "id": rid, "results": results})


def main():
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    line = stdin.readline()
    if not line:
        return 0
    settings, problem = acme_lk1.hello_settings(line)
    plugin = None
    if problem is None:
        fault = settings.get("fault") or ""
        if fault not in MODES and fault != "":
            problem = "settings: fault: %s is not one of %s" % (json.dumps(fault), ", ".join(MODES))
        elif fault == "bad-settings":
            log("bad-settings: refusing the hello")
            problem = "settings: fault: bad-settings (planted by misbehave.py)"
        elif fault == "thai-locale-refused" and any(
                os.environ.get(v, "").startswith("th_TH") for v in ("LC_ALL", "LANG")):
            log("thai-locale-refused: refusing the hello")
            problem = "cannot load the calendar of locale th_TH (planted by misbehave.py)"
        else:
            try:
                plugin = Plugin(settings)
            except ValueError as err:
                problem = str(err)
    if problem is not None:
        write(out, {"type": "error", "message": problem})
        return 1
    ready = dict(acme_lk1.READY, name="misbehave", version="0.0.1")
    if plugin.fault == "banner":
        out.write(b"misbehave 0.0.1 starting up (a banner on stdout, where it must not be)\n")
        out.flush()
    if plugin.fault == "old-protocol":
        log("old-protocol: ready with protocol 99")
        ready["protocol"] = 99
    write(out, ready)
    for request in acme_lk1.requests(stdin, out):
        plugin.request(out, request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
