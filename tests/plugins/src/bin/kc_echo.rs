//! `kc_echo`: the cheapest possible process plugin (`plugins/PROTOCOL.md`).
//! It answers every validate item `malformed` and every generate item with
//! a fixed key, reading no more of a request than its id and item count, so
//! that what a run through it costs is the process protocol's own cost on
//! keycompat's side (encoding, pipes, decoding): `benches/process.rs`.

use std::io::{BufRead, BufReader, BufWriter, Write};

use serde::de::IgnoredAny;

#[derive(serde::Deserialize)]
struct Request {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: u64,
    #[serde(default)]
    items: Vec<IgnoredAny>,
    #[serde(default)]
    entitlements: Vec<IgnoredAny>,
}

fn main() {
    // A request of 256 items is some 64 KiB: read it in one or two calls,
    // into one buffer reused for every line.
    let mut stdin = BufReader::with_capacity(1 << 20, std::io::stdin().lock());
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Ok(req) = serde_json::from_slice::<Request>(&line) else {
            eprintln!("kc_echo: not a request: {}", String::from_utf8_lossy(&line));
            std::process::exit(2);
        };
        let (n, answer) = match req.kind.as_str() {
            "hello" => {
                let _ = writeln!(
                    out,
                    r#"{{"type":"ready","protocol":1,"name":"kc_echo","version":"1.0.0","capabilities":{{"generate":true,"validate":true,"formats":[]}}}}"#
                );
                let _ = out.flush();
                continue;
            }
            "validate" => (req.items.len(), r#"{"verdict":"malformed"}"#),
            "generate" => (req.entitlements.len(), r#"{"key":"ECHO"}"#),
            other => {
                let _ = writeln!(
                    out,
                    r#"{{"type":"error","message":"unknown type {other}"}}"#
                );
                let _ = out.flush();
                continue;
            }
        };
        let _ = write!(out, r#"{{"type":"results","id":{},"results":["#, req.id);
        for i in 0..n {
            if i > 0 {
                let _ = out.write_all(b",");
            }
            let _ = out.write_all(answer.as_bytes());
        }
        let _ = out.write_all(b"]}\n");
        let _ = out.flush();
    }
}
