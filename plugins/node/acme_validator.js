#!/usr/bin/env node
// acme_validator.js: the Acme new system's key validator (acme-ed1 and
// acme-lk1, vectors/acme/SCHEMES.md) as an Electron app would embed it, run as
// a keycompat process plugin (plugins/PROTOCOL.md, protocol 1).
//
//   node plugins/node/acme_validator.js
//
// keycompat.toml:
//   [systems.electron-app]
//   command = ["node", "plugins/node/acme_validator.js"]
//   [systems.electron-app.settings]
//   lk1_secret = "..."
//   trusted_keys = "acme-demo-2026:d75a...511a,acme-demo-2025:3d40...660c"
//
// Node.js 18+, standard library only. Validate only: generate requests are
// answered `unsupported`. Settings (the new system's, [systems.new.settings]):
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
// stdout carries the protocol only; diagnostics go to stderr.

'use strict';

const crypto = require('node:crypto');

const NAME = 'acme-validator-node';
const VERSION = '1.0.0';
const PROTOCOL = 1;

// ------------------------------------------------------------------ catalog
// The Acme catalog (SCHEMES.md, keycompat.toml [catalog]), as shipped in the app.

const EDITIONS = ['trial', 'standard', 'professional', 'enterprise'];
const PRODUCT_BY_LEGACY_ID = new Map([[17, 'acme-cad'], [18, 'acme-viewer'], [21, 'acme-sim']]);
const LEGACY_ID_BY_PRODUCT = new Map([...PRODUCT_BY_LEGACY_ID].map(([id, slug]) => [slug, id]));
const FEATURE_BITS = [
  'export-dwg', 'export-step', 'export-pdf', 'render-gpu', 'scripting', 'plugins-sdk',
  'cloud-sync', 'collaboration', 'pdm', 'simulation', 'cam', 'sheet-metal',
  'electrical', 'piping', 'offline-mode', 'priority-support',
];

// ------------------------------------------------------------------ helpers

class Reject {
  constructor(verdict, format, reason) {
    this.verdict = verdict;
    this.format = format;
    this.reason = reason;
  }
}

function answer(verdict, format, reason, decoded) {
  const out = { verdict };
  if (format !== null) out.format = format;
  if (reason !== null) out.reason = reason;
  if (decoded !== null) out.decoded = decoded;
  return out;
}

// Compares strings by Unicode code point, which is UTF-8 byte order (the
// order of Rust's BTreeSet<String>); JavaScript's default sort compares UTF-16
// code units, which differs for characters above U+FFFF.
function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

function sortedSet(names) {
  return [...new Set(names)].sort(compareCodePoints);
}

// ------------------------------------------------------------------ dates
// Proleptic Gregorian days, integer arithmetic only (no Date, no time zone).

function isLeap(y) {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y, m) {
  return [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

const DATE_SHAPE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

// `YYYY-MM-DD`, years 0000-9999, a real calendar date; else null.
function parseDay(s) {
  if (typeof s !== 'string' || !DATE_SHAPE.test(s)) return null;
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return s;
}

// Days since 0000-03-01 style civil conversion (H. Hinnant's algorithms).
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z) {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return String(y).padStart(4, '0') + '-' + String(m).padStart(2, '0') + '-' + String(d).padStart(2, '0');
}

const LK1_EPOCH = daysFromCivil(2000, 1, 1);

// ------------------------------------------------------------------ payload JSON
// A reader that accepts exactly what serde_json 1.x (`from_slice::<Value>`,
// without float_roundtrip) accepts: RFC 8259 with a nesting limit of 127,
// paired surrogate escapes only, and numbers that overflow f64 rejected, as
// serde_json computes them. Numbers keep whether they are a u64 (an integer
// with no sign, fraction or exponent that fits 64 bits), which is all the
// payload rules ask of them.

class JsonError extends Error {}

class JNum {
  constructor(u64, text) {
    this.u64 = u64; // a BigInt when the number is a u64, else null
    this.text = text;
  }
}

const U64_MAX = (1n << 64n) - 1n;
const U64_MAX_DIV10 = U64_MAX / 10n;
const U64_MAX_MOD10 = U64_MAX % 10n;
const I32_MAX = 2147483647;
const I32_MIN = -2147483648;
const POW10 = Array.from({ length: 309 }, (_, i) => Number('1e' + i));

class PayloadReader {
  constructor(text) {
    this.s = text;
    this.i = 0;
    this.depth = 128;
  }

  fail(what) {
    throw new JsonError(`${what} at offset ${this.i}`);
  }

  peek() {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }

  skipWs() {
    for (;;) {
      const c = this.peek();
      if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) this.i++;
      else return;
    }
  }

  document() {
    this.skipWs();
    const v = this.value();
    this.skipWs();
    if (this.i !== this.s.length) this.fail('trailing characters');
    return v;
  }

  value() {
    this.skipWs();
    const c = this.peek();
    switch (c) {
      case -1: return this.fail('EOF while parsing a value');
      case 0x6e: this.ident('null'); return null;
      case 0x74: this.ident('true'); return true;
      case 0x66: this.ident('false'); return false;
      case 0x22: this.i++; return this.string();
      case 0x5b: return this.nested(() => this.array());
      case 0x7b: return this.nested(() => this.object());
      case 0x2d: this.i++; return this.number(false);
      default:
        if (c >= 0x30 && c <= 0x39) return this.number(true);
        return this.fail('expected value');
    }
  }

  nested(read) {
    this.depth -= 1;
    if (this.depth === 0) this.fail('recursion limit exceeded');
    this.i++;
    const v = read();
    this.depth += 1;
    return v;
  }

  ident(word) {
    if (this.s.startsWith(word, this.i)) this.i += word.length;
    else this.fail('expected ident');
  }

  array() {
    const out = [];
    this.skipWs();
    if (this.peek() === 0x5d) { this.i++; return out; }
    for (;;) {
      out.push(this.value());
      this.skipWs();
      const c = this.peek();
      if (c === 0x2c) { this.i++; continue; }
      if (c === 0x5d) { this.i++; return out; }
      this.fail('expected `,` or `]`');
    }
  }

  object() {
    const out = new Map();
    this.skipWs();
    if (this.peek() === 0x7d) { this.i++; return out; }
    for (;;) {
      this.skipWs();
      if (this.peek() !== 0x22) this.fail('key must be a string');
      this.i++;
      const key = this.string();
      this.skipWs();
      if (this.peek() !== 0x3a) this.fail('expected `:`');
      this.i++;
      out.set(key, this.value()); // a repeated key: the last one wins, as in serde_json
      this.skipWs();
      const c = this.peek();
      if (c === 0x2c) { this.i++; continue; }
      if (c === 0x7d) { this.i++; return out; }
      this.fail('expected `,` or `}`');
    }
  }

  hex4() {
    if (this.i + 4 > this.s.length) this.fail('EOF while parsing a string');
    let n = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(this.i++);
      let d;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else this.fail('invalid escape');
      n = n * 16 + d;
    }
    return n;
  }

  string() {
    let out = '';
    let start = this.i;
    for (;;) {
      if (this.i >= this.s.length) this.fail('EOF while parsing a string');
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        out += this.s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('control character while parsing a string');
      if (c !== 0x5c) { this.i++; continue; }
      out += this.s.slice(start, this.i);
      this.i++;
      if (this.i >= this.s.length) this.fail('EOF while parsing a string');
      const e = this.s.charCodeAt(this.i++);
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const n = this.hex4();
          if (n >= 0xdc00 && n <= 0xdfff) this.fail('lone trailing surrogate in hex escape');
          if (n >= 0xd800 && n <= 0xdbff) {
            if (this.s.charCodeAt(this.i) !== 0x5c) this.fail('unexpected end of hex escape');
            this.i++;
            if (this.s.charCodeAt(this.i) !== 0x75) this.fail('unexpected end of hex escape');
            this.i++;
            const n2 = this.hex4();
            if (n2 < 0xdc00 || n2 > 0xdfff) this.fail('lone leading surrogate in hex escape');
            out += String.fromCharCode(n, n2);
          } else {
            out += String.fromCharCode(n);
          }
          break;
        }
        default: this.fail('invalid escape');
      }
      start = this.i;
    }
  }

  isDigit(c) {
    return c >= 0x30 && c <= 0x39;
  }

  // serde_json's parse_integer and what follows it, step for step.
  number(positive) {
    const from = positive ? this.i : this.i - 1;
    const c = this.peek();
    if (c === -1) this.fail('EOF while parsing a value');
    this.i++;
    let u64 = null;
    if (c === 0x30) {
      if (this.isDigit(this.peek())) this.fail('invalid number');
      u64 = this.afterInteger(positive, 0n);
    } else if (c >= 0x31 && c <= 0x39) {
      let sig = BigInt(c - 0x30);
      for (;;) {
        const d = this.peek();
        if (!this.isDigit(d)) { u64 = this.afterInteger(positive, sig); break; }
        const digit = BigInt(d - 0x30);
        if (sig >= U64_MAX_DIV10 && (sig > U64_MAX_DIV10 || digit > U64_MAX_MOD10)) {
          this.longInteger(positive, sig);
          break;
        }
        this.i++;
        sig = sig * 10n + digit;
      }
    } else {
      this.fail('invalid number');
    }
    return new JNum(u64, this.s.slice(from, this.i));
  }

  // parse_number: a u64 when positive and nothing follows, else a float.
  afterInteger(positive, sig) {
    const c = this.peek();
    if (c === 0x2e) { this.decimal(positive, sig, 0); return null; }
    if (c === 0x65 || c === 0x45) { this.exponent(positive, sig, 0); return null; }
    return positive ? sig : null;
  }

  longInteger(positive, sig) {
    let exponent = 0;
    for (;;) {
      const c = this.peek();
      if (this.isDigit(c)) { this.i++; exponent++; continue; }
      if (c === 0x2e) return this.decimal(positive, sig, exponent);
      if (c === 0x65 || c === 0x45) return this.exponent(positive, sig, exponent);
      return this.f64FromParts(sig, exponent);
    }
  }

  decimal(positive, sig, expBefore) {
    this.i++; // '.'
    let expAfter = 0;
    for (;;) {
      const c = this.peek();
      if (!this.isDigit(c)) break;
      const digit = BigInt(c - 0x30);
      if (sig >= U64_MAX_DIV10 && (sig > U64_MAX_DIV10 || digit > U64_MAX_MOD10)) {
        while (this.isDigit(this.peek())) this.i++;
        const e = this.peek();
        if (e === 0x65 || e === 0x45) return this.exponent(positive, sig, expBefore + expAfter);
        return this.f64FromParts(sig, expBefore + expAfter);
      }
      this.i++;
      sig = sig * 10n + digit;
      expAfter -= 1;
    }
    if (expAfter === 0) this.fail('invalid number');
    const exp = expBefore + expAfter;
    const c = this.peek();
    if (c === 0x65 || c === 0x45) return this.exponent(positive, sig, exp);
    return this.f64FromParts(sig, exp);
  }

  exponent(positive, sig, startExp) {
    this.i++; // 'e'
    let positiveExp = true;
    const s = this.peek();
    if (s === 0x2b) this.i++;
    else if (s === 0x2d) { this.i++; positiveExp = false; }
    const first = this.peek();
    if (first === -1) this.fail('EOF while parsing a value');
    this.i++;
    if (!this.isDigit(first)) this.fail('invalid number');
    let exp = first - 0x30;
    for (;;) {
      const c = this.peek();
      if (!this.isDigit(c)) break;
      this.i++;
      const digit = c - 0x30;
      if (exp >= Math.trunc(I32_MAX / 10) && (exp > Math.trunc(I32_MAX / 10) || digit > I32_MAX % 10)) {
        if (sig !== 0n && positiveExp) this.fail('number out of range');
        while (this.isDigit(this.peek())) this.i++;
        return 0;
      }
      exp = exp * 10 + digit;
    }
    let final = positiveExp ? startExp + exp : startExp - exp;
    if (final > I32_MAX) final = I32_MAX;
    if (final < I32_MIN) final = I32_MIN;
    return this.f64FromParts(sig, final);
  }

  // f64_from_parts without float_roundtrip: only whether it overflows matters.
  f64FromParts(sig, exponent) {
    let f = Number(sig);
    for (;;) {
      const idx = Math.abs(exponent);
      if (idx <= 308) {
        if (exponent >= 0) {
          f *= POW10[idx];
          if (!Number.isFinite(f)) this.fail('number out of range');
        } else {
          f /= POW10[idx];
        }
        return f;
      }
      if (f === 0) return f;
      if (exponent >= 0) this.fail('number out of range');
      f /= 1e308;
      exponent += 308;
    }
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  if (v instanceof JNum) return 'a number';
  if (typeof v === 'string') return 'a string';
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}

// ------------------------------------------------------------------ acme-ed1

const ED1 = 'acme-ed1';
const ED1_PREFIX = Buffer.from('key/');
const MAX_KEY_BYTES = 16 * 1024;
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// The group order L of Ed25519, little-endian bytes compared from the top.
const ED25519_L = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');
// The canonical encodings of the eight points of small order, which
// verify_strict refuses as R.
const SMALL_ORDER = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
]);

function isSpace(b) {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
}

const B64URL_SHAPE = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

// Canonical padded base64url (no trailing bits), or null.
function decodeB64url(text) {
  if (!B64URL_SHAPE.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  const again = bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  return again === text ? bytes : null;
}

function scalarIsCanonical(s) {
  for (let i = 31; i >= 0; i--) {
    if (s[i] !== ED25519_L[i]) return s[i] < ED25519_L[i];
  }
  return false; // s == L
}

// ed25519-dalek's verify_strict: s < L, R not of small order, then the
// cofactorless equation (OpenSSL's check), over the exact bytes received.
function verifyStrict(publicKey, message, signature) {
  if (!scalarIsCanonical(signature.subarray(32, 64))) return false;
  if (SMALL_ORDER.has(signature.subarray(0, 32).toString('hex'))) return false;
  return crypto.verify(null, message, publicKey, signature);
}

function validateEd1(key, ctx, trusted) {
  // 1. trim surrounding whitespace
  let start = 0;
  let end = key.length;
  while (start < end && isSpace(key[start])) start++;
  while (end > start && isSpace(key[end - 1])) end--;
  const k = key.subarray(start, end);
  // 2. the wire form
  if (k.length > MAX_KEY_BYTES) {
    throw new Reject('malformed', null, `${k.length} bytes, more than the ${MAX_KEY_BYTES} an acme-ed1 key may have`);
  }
  if (k.length < 4 || !k.subarray(0, 4).equals(ED1_PREFIX)) throw new Reject('malformed', null, 'no `key/` prefix');
  const rest = k.subarray(4);
  let dots = 0;
  let dot = -1;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === 0x2e) {
      if (dot < 0) dot = i;
      dots++;
    }
  }
  if (dots !== 1) throw new Reject('malformed', null, `${dots} dots after \`key/\`, expected exactly one`);
  const payload = decodeB64url(rest.subarray(0, dot).toString('latin1'));
  if (payload === null) throw new Reject('malformed', null, 'payload is not canonical padded base64url');
  const signature = decodeB64url(rest.subarray(dot + 1).toString('latin1'));
  if (signature === null) throw new Reject('malformed', null, 'signature is not canonical padded base64url');
  if (signature.length !== 64) throw new Reject('malformed', null, `signature is ${signature.length} bytes, expected 64`);
  // 3. the signature, over everything before the '.'
  const signed = k.subarray(0, 4 + dot);
  let kid = null;
  for (const t of trusted) {
    if (verifyStrict(t.key, signed, signature)) { kid = t.kid; break; }
  }
  if (kid === null) throw new Reject('bad_signature', ED1, 'no trusted key verifies the signature');
  // 4. a JSON object
  let object;
  try {
    object = new PayloadReader(UTF8.decode(payload)).document();
  } catch (e) {
    if (e instanceof JsonError || e instanceof TypeError) {
      throw new Reject('malformed', ED1, `payload is not JSON: ${e.message}`);
    }
    throw e;
  }
  if (!(object instanceof Map)) throw new Reject('malformed', ED1, `payload is ${describe(object)}, not a JSON object`);
  // 5. the header
  const v = object.get('v');
  if (!(v instanceof JNum && v.u64 === 1n)) {
    throw new Reject('unsupported_format', ED1, v === undefined ? 'format version `v` is missing, expected 1' : `format version \`v\` is ${show(v)}, expected 1`);
  }
  const k2 = object.get('kid');
  if (k2 !== kid) {
    throw new Reject('unsupported_format', ED1, k2 === undefined ? `\`kid\` is missing; the key that verified is \`${kid}\`` : `\`kid\` is ${show(k2)}, but the key that verified is \`${kid}\``);
  }
  // 6. the entitlement
  let decoded;
  try {
    decoded = readPayload(object);
  } catch (e) {
    if (e instanceof PayloadError) throw new Reject('malformed', ED1, `payload: ${e.message}`);
    throw e;
  }
  // 7. the context
  return judgeEd1(decoded, ctx);
}

// A payload value as compact JSON text, for reasons.
function show(v) {
  if (v instanceof JNum) return v.text;
  if (Array.isArray(v)) return '[' + v.map(show).join(',') + ']';
  if (v instanceof Map) return '{' + [...v].map(([k, x]) => JSON.stringify(k) + ':' + show(x)).join(',') + '}';
  return JSON.stringify(v);
}

class PayloadError extends Error {}

function field(o, key) {
  if (!o.has(key)) throw new PayloadError(`\`${key}\` is missing`);
  return o.get(key);
}

function string(o, key) {
  const v = field(o, key);
  if (typeof v !== 'string') throw new PayloadError(`\`${key}\` is ${describe(v)}, expected a string`);
  return v;
}

function integer(o, key, max) {
  const v = field(o, key);
  if (!(v instanceof JNum)) throw new PayloadError(`\`${key}\` is ${describe(v)}, expected a number`);
  if (v.u64 === null || v.u64 > max) throw new PayloadError(`\`${key}\` is ${v.text}, expected an integer from 0 to ${max}`);
  return Number(v.u64);
}

function date(o, key) {
  const text = string(o, key);
  if (parseDay(text) === null) throw new PayloadError(`\`${key}\`: ${JSON.stringify(text)} is not a real calendar date`);
  return text;
}

function nullable(o, key, read) {
  return field(o, key) === null ? null : read(o, key);
}

function features(o) {
  const v = field(o, 'feat');
  if (!Array.isArray(v)) throw new PayloadError('`feat` is not an array');
  for (const item of v) {
    if (typeof item !== 'string') throw new PayloadError(`\`feat\` holds ${describe(item)}, expected strings`);
  }
  return sortedSet(v);
}

function customer(o, key) {
  const c = field(o, key);
  if (!(c instanceof Map)) throw new PayloadError(`\`${key}\` is not null or an object`);
  const part = (k) => {
    try {
      return string(c, k);
    } catch (e) {
      if (e instanceof PayloadError) throw new PayloadError(`\`${key}\`: ${e.message}`);
      throw e;
    }
  };
  return { id: part('id'), name: part('name') };
}

const U32_MAX = 4294967295n;

// Step 6, in the builtin's order (each failure is `malformed` whatever the order).
function readPayload(o) {
  const edition = string(o, 'ed');
  if (!EDITIONS.includes(edition)) throw new PayloadError(`\`ed\` is ${JSON.stringify(edition)}, not an edition of the catalog`);
  let seats = null;
  if (field(o, 'seats') !== null) {
    seats = integer(o, 'seats', U32_MAX);
    if (seats === 0) throw new PayloadError('`seats` is 0, expected null or 1 or more');
  }
  return {
    product: string(o, 'prod'),
    edition,
    max_major: integer(o, 'maxv', 255n),
    features: features(o),
    seats,
    issued: date(o, 'iat'),
    expires: nullable(o, 'exp', date),
    maintenance_until: nullable(o, 'maint', date),
    serial: integer(o, 'serial', U32_MAX),
    customer: nullable(o, 'cust', customer),
    order_id: nullable(o, 'order', string),
    host_id: nullable(o, 'host', string),
  };
}

function judgeEd1(d, ctx) {
  if (d.product !== ctx.product) {
    return answer('wrong_product', ED1, `key is for ${d.product}, not ${ctx.product}`, d);
  }
  if (ctx.major > d.max_major) {
    return answer('version_not_covered', ED1, `key covers up to major ${d.max_major}, not ${ctx.version}`, d);
  }
  if (d.expires !== null && ctx.today > d.expires) {
    return answer('expired', ED1, `expired after ${d.expires}`, d);
  }
  if (d.host_id !== null && ctx.host_id !== d.host_id) {
    const reason = ctx.host_id === null
      ? `key is locked to host ${JSON.stringify(d.host_id)} and the context has no host id`
      : `key is locked to host ${JSON.stringify(d.host_id)}, not ${JSON.stringify(ctx.host_id)}`;
    return answer('host_mismatch', ED1, reason, d);
  }
  return answer('valid', ED1, null, d);
}

// ------------------------------------------------------------------ acme-lk1

const LK1 = 'acme-lk1';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const SEPARATOR = 0xfe;
const INVALID = 0xff;
const SYMBOL_VALUES = (() => {
  const t = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < 32; i++) {
    t[CROCKFORD.charCodeAt(i)] = i;
    t[CROCKFORD.toLowerCase().charCodeAt(i)] = i;
  }
  for (const [c, v] of [['O', 0], ['I', 1], ['L', 1]]) {
    t[c.charCodeAt(0)] = v;
    t[c.toLowerCase().charCodeAt(0)] = v;
  }
  for (const c of ' \t\r\n-') t[c.charCodeAt(0)] = SEPARATOR;
  return t;
})();
const MAC_DOMAIN = Buffer.from('ACME-LK1');
const WIDTHS = [4, 8, 3, 8, 16, 10, 14, 20, 2];

function validateLk1(key, ctx, secret) {
  // Normalise: delete separators, fold case and look-alikes, nothing else.
  const symbols = [];
  let count = 0;
  for (let offset = 0; offset < key.length; offset++) {
    const b = key[offset];
    const v = SYMBOL_VALUES[b];
    if (v === SEPARATOR) continue;
    if (v === INVALID) {
      const hex = b.toString(16).toUpperCase().padStart(2, '0');
      throw new Reject('malformed', null, `byte 0x${hex} at offset ${offset} is not a Crockford base32 symbol`);
    }
    if (count < 25) symbols.push(v);
    count++;
  }
  if (count !== 25) throw new Reject('malformed', null, `${count} symbols after normalisation, expected 25`);
  let value = 0n;
  for (const s of symbols) value = (value << 5n) | BigInt(s);
  const bits = value >> 40n;
  const tag = Buffer.alloc(8);
  tag.writeBigUInt64BE(value & ((1n << 40n) - 1n));
  const payload = Buffer.alloc(16);
  payload.writeBigUInt64BE(bits >> 64n, 0);
  payload.writeBigUInt64BE(bits & ((1n << 64n) - 1n), 8);
  const mac = crypto.createHmac('sha256', secret).update(MAC_DOMAIN).update(payload.subarray(5)).digest();
  if (!crypto.timingSafeEqual(mac.subarray(0, 5), tag.subarray(3))) {
    throw new Reject('bad_signature', null, 'MAC does not match');
  }
  const f = [];
  let rest = bits;
  for (let i = WIDTHS.length - 1; i >= 0; i--) {
    f[i] = Number(rest & ((1n << BigInt(WIDTHS[i])) - 1n));
    rest >>= BigInt(WIDTHS[i]);
  }
  const [ver, product, edition, maxMajor, featureBits, seats, expiryDays, serial, reserved] = f;
  if (ver !== 1) throw new Reject('unsupported_format', null, `format version ${ver}, expected 1`);
  if (reserved !== 0) throw new Reject('malformed', LK1, `reserved bits are ${reserved}, expected 0`);
  if (edition >= EDITIONS.length) throw new Reject('malformed', LK1, `edition code ${edition} is not defined`);
  const names = [];
  for (let bit = 0; bit < 16; bit++) if (featureBits & (1 << bit)) names.push(FEATURE_BITS[bit]);
  const decoded = {
    product: PRODUCT_BY_LEGACY_ID.get(product) ?? `legacy-id-${product}`,
    edition: EDITIONS[edition],
    max_major: maxMajor,
    features: sortedSet(names),
    seats: seats === 0 ? null : seats,
    expires: expiryDays === 0 ? null : civilFromDays(LK1_EPOCH + expiryDays),
    serial,
    host_id: null,
  };
  // The context checks (acme-lk1 keys are never node-locked).
  const contextId = LEGACY_ID_BY_PRODUCT.get(ctx.product);
  if (contextId !== product) {
    const reason = contextId === undefined
      ? `${ctx.product} has no legacy product id`
      : `key is for ${decoded.product}, not ${ctx.product}`;
    return answer('wrong_product', LK1, reason, decoded);
  }
  if (ctx.major > maxMajor) {
    return answer('version_not_covered', LK1, `key covers up to major ${maxMajor}, not ${ctx.version}`, decoded);
  }
  if (decoded.expires !== null && ctx.today > decoded.expires) {
    return answer('expired', LK1, `expired after ${decoded.expires}`, decoded);
  }
  return answer('valid', LK1, null, decoded);
}

// ------------------------------------------------------------------ the validator

class Validator {
  // From the hello's settings; throws an Error naming the setting.
  constructor(settings) {
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
      throw new Error('settings: not an object');
    }
    const secret = settings.lk1_secret;
    if (typeof secret !== 'string') throw new Error('settings: lk1_secret: missing');
    if (secret === '') throw new Error('settings: lk1_secret: must not be empty');
    this.secret = Buffer.from(secret, 'utf8');
    const text = settings.trusted_keys;
    if (typeof text !== 'string') throw new Error('settings: trusted_keys: missing');
    this.trusted = parseTrusted(text);
  }

  validate(key, ctx) {
    let start = 0;
    while (start < key.length && isSpace(key[start])) start++;
    const ed1 = key.length - start >= 4 && key.subarray(start, start + 4).equals(ED1_PREFIX);
    try {
      return ed1 ? validateEd1(key, ctx, this.trusted) : validateLk1(key, ctx, this.secret);
    } catch (e) {
      if (e instanceof Reject) return answer(e.verdict, e.format, e.reason, null);
      throw e;
    }
  }
}

// Rust's str::trim: strips Unicode White_Space (String.prototype.trim's set differs:
// it strips U+FEFF and keeps U+0085).
const RUST_WHITE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

function rustTrim(s) {
  return s.replace(RUST_WHITE_SPACE, '');
}

function parseTrusted(text) {
  const keys = [];
  const entries = text.split(',').map(rustTrim);
  entries.forEach((entry, i) => {
    const n = i + 1;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`settings: trusted_keys: entry ${n} (${JSON.stringify(entry)}) is not \`kid:64-hex-public-key\``);
    const kid = rustTrim(entry.slice(0, colon));
    const hex = rustTrim(entry.slice(colon + 1));
    if (kid === '') throw new Error(`settings: trusted_keys: entry ${n} has an empty kid`);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new Error(`settings: trusted_keys: key \`${kid}\`: expected 64 hex digits (an Ed25519 public key)`);
    }
    const raw = Buffer.from(hex, 'hex');
    let key;
    try {
      key = crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    } catch (e) {
      throw new Error(`settings: trusted_keys: key \`${kid}\`: not a valid Ed25519 public key`);
    }
    const other = keys.find((k) => k.kid === kid || k.raw.equals(raw));
    if (other) throw new Error(`settings: trusted_keys: key \`${kid}\`: the kid or the key repeats \`${other.kid}\``);
    keys.push({ kid, raw, key });
  });
  return keys;
}

// ------------------------------------------------------------------ protocol

// After refusing the hello the plugin exits (PROTOCOL.md): once the answer is written.
function refuse(message) {
  process.stdout.write(JSON.stringify({ type: 'error', message }) + '\n', () => process.exit(0));
  refused = true;
}

let refused = false;

class BadArgument extends Error {}

// MAJOR.MINOR: two decimal numbers below 2^32, no signs or spaces (PROTOCOL.md).
const VERSION_SHAPE = /^([0-9]+)\.([0-9]+)$/;
const U32_LIMIT = 2 ** 32;

function readContext(c) {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new BadArgument('context: not an object');
  if (typeof c.product !== 'string') throw new BadArgument('context: product: expected a string');
  const m = typeof c.version === 'string' ? VERSION_SHAPE.exec(c.version) : null;
  if (m === null || !(Number(m[1]) < U32_LIMIT && Number(m[2]) < U32_LIMIT)) {
    throw new BadArgument(`context: version: ${JSON.stringify(c.version)} is not MAJOR.MINOR`);
  }
  if (parseDay(c.today) === null) throw new BadArgument(`context: today: ${JSON.stringify(c.today)} is not a date`);
  const host = c.host_id === undefined ? null : c.host_id;
  if (host !== null && typeof host !== 'string') throw new BadArgument('context: host_id: expected a string or null');
  return {
    product: c.product,
    version: `${Number(m[1])}.${Number(m[2])}`,
    major: Number(m[1]),
    today: c.today,
    host_id: host,
  };
}

function keyBytes(item) {
  if (typeof item.key === 'string') return Buffer.from(item.key, 'utf8');
  if (typeof item.key_base64 === 'string') return Buffer.from(item.key_base64, 'base64');
  throw new BadArgument('item has neither `key` nor `key_base64`');
}

function validateItem(validator, item) {
  try {
    if (item === null || typeof item !== 'object') throw new BadArgument('item is not an object');
    const ctx = readContext(item.context);
    return validator.validate(keyBytes(item), ctx);
  } catch (e) {
    const kind = e instanceof BadArgument ? 'bad_argument' : 'internal';
    return { error: { kind, message: String(e && e.stack ? e.stack.split('\n')[0] : e) } };
  }
}

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

let validator = null;

function handle(line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    send({ type: 'error', message: `not a JSON line: ${e.message}` });
    return;
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
    send({ type: 'error', message: 'a message must be a JSON object' });
    return;
  }
  switch (msg.type) {
    case 'hello': {
      if (msg.protocol !== PROTOCOL) {
        refuse(`protocol ${JSON.stringify(msg.protocol)} is not supported; I speak ${PROTOCOL}`);
        return;
      }
      try {
        validator = new Validator(msg.settings === undefined ? {} : msg.settings);
      } catch (e) {
        validator = null;
        refuse(e.message);
        return;
      }
      process.stderr.write(`${NAME} ${VERSION}: ready (node ${process.version}; trusted kids: ${validator.trusted.map((t) => t.kid).join(', ')})\n`);
      send({
        type: 'ready', protocol: PROTOCOL, name: NAME, version: VERSION,
        capabilities: { generate: false, validate: true, formats: [ED1, LK1] },
        max_in_flight: 1,
      });
      return;
    }
    case 'validate': {
      if (validator === null) {
        send({ type: 'error', message: 'validate before a successful hello' });
        return;
      }
      const items = Array.isArray(msg.items) ? msg.items : [];
      send({ type: 'results', id: msg.id, results: items.map((item) => validateItem(validator, item)) });
      return;
    }
    case 'generate': {
      const n = Array.isArray(msg.entitlements) ? msg.entitlements.length : 0;
      const results = Array.from({ length: n }, () => ({
        error: { kind: 'unsupported', message: `${NAME} validates only; it issues no keys` },
      }));
      send({ type: 'results', id: msg.id, results });
      return;
    }
    default:
      send({ type: 'error', message: `unknown message type ${JSON.stringify(msg.type)}` });
  }
}

function main() {
  let pending = [];
  let pendingBytes = 0;
  process.stdout.on('error', (e) => {
    process.stderr.write(`${NAME}: stdout: ${e.message}\n`);
    process.exit(1);
  });
  process.stdin.on('data', (chunk) => {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      pending.push(chunk.subarray(from, nl));
      const line = Buffer.concat(pending).toString('utf8');
      pending = [];
      pendingBytes = 0;
      from = nl + 1;
      if (refused) return;
      if (line.trim() !== '') handle(line);
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from));
      pendingBytes += chunk.length - from;
    }
  });
  process.stdin.on('end', () => {
    if (pendingBytes > 0) {
      const line = Buffer.concat(pending).toString('utf8');
      if (line.trim() !== '') handle(line);
    }
    // Nothing else keeps the event loop alive: the process exits once stdout is written.
  });
}

module.exports = { Validator, PayloadReader, JsonError, parseDay, civilFromDays, daysFromCivil, compareCodePoints };

if (require.main === module) main();
