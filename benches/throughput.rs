//! Criterion benches: each Acme scheme's generate and validate as a builtin
//! and through the plugin ABI (in-process), acme-ed1 validation against its
//! floor (one `verify_strict`), each demo plugin's validate in-process
//! against isolated in worker processes, and the per-case cost of the check
//! matrix (without TAMPER and TIME) against a bare loop of the same calls.
//!
//! Run with `cargo bench --bench throughput`; BENCHMARKS.md records the
//! figures. Builtins and plugins share one corpus of 64 random entitlements
//! (seed 1), so every pair in a group does the same work.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use base64::Engine;
use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signature, VerifyingKey};
use keycompat::catalog::Catalog;
use keycompat::check::{Case, Matrix, own_context};
use keycompat::config::Config;
use keycompat::entitlement::Entitlement;
use keycompat::finding::{Check, Source};
use keycompat::implementation::Implementation;
use keycompat::plugin::WorkerOptions;
use keycompat::random::Generator;
use keycompat::run::{RunOptions, Runner, case_id};
use keycompat::settings::Settings;
use keycompat::system::{self, Hosting, SystemRef};
use keycompat::verdict::{Context, Verdict};

const BATCH: usize = 64;

/// Where `cargo bench` puts the workspace's plugin libraries.
fn profile_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("release")
}

/// Builds the plugin libraries and the binary the workers run (cargo bench
/// builds only this crate). `--examples` (there are none) resolves features
/// as `cargo bench` does, dev-dependencies included, so the dependencies it
/// just built are reused instead of compiled again with other features.
fn build_plugins() {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--workspace",
            "--lib",
            "--bins",
            "--examples",
            "--quiet",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --release --workspace failed");
}

/// The demo config, its `${exe_dir}` pointing at the plugins just built.
fn demo_config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("keycompat.toml");
    let text = std::fs::read_to_string(&path)
        .expect("read keycompat.toml")
        .replace("${exe_dir}", &profile_dir().to_string_lossy());
    Config::parse(&text, &path).expect("keycompat.toml parses")
}

fn open(config: &Config, reference: &str) -> Box<dyn Implementation> {
    open_hosted(config, reference, &Hosting::InProcess)
}

/// A plugin system of the config, called as a host of ABI 1.`minor` calls
/// it (1: batches, not typed; 0: one single call per item).
fn open_as_minor(config: &Config, name: &str, minor: u16) -> Box<dyn Implementation> {
    let system = &config.systems[name];
    let path = config.plugin_path(system.plugin.as_ref().expect("a plugin system"));
    let mut loaded = keycompat::plugin::load(&path).unwrap_or_else(|e| panic!("load {name}: {e}"));
    loaded.limit_to_minor(minor);
    Box::new(
        keycompat::plugin::PluginImpl::new(loaded, &system.settings)
            .unwrap_or_else(|e| panic!("open {name}: {e}")),
    )
}

fn open_hosted(config: &Config, reference: &str, hosting: &Hosting) -> Box<dyn Implementation> {
    system::open(
        &SystemRef::parse(reference),
        Some(config),
        &Settings::new(),
        hosting,
    )
    .unwrap_or_else(|e| panic!("open {reference}: {e}"))
}

/// Corpus entitlements `issuer` issues `format` keys for, with those keys.
fn corpus(
    issuer: &dyn Implementation,
    format: &str,
) -> (Vec<Entitlement>, Vec<(Vec<u8>, Context)>) {
    let generator = Generator::new(1, Catalog::acme(), vec![1, 2, 3, 5, 6, 7]);
    let mut ents = Vec::new();
    let mut keys = Vec::new();
    for i in 0.. {
        if ents.len() == BATCH {
            break;
        }
        let e = generator.entitlement(i);
        let Ok(key) = issuer.generate(&e) else {
            continue;
        };
        let ctx = own_context(&e);
        let v = issuer.validate(key.as_bytes(), &ctx).expect("validates");
        if v.verdict == Verdict::Valid && v.format.as_deref() == Some(format) {
            keys.push((key.into_bytes(), ctx));
            ents.push(e);
        }
    }
    (ents, keys)
}

fn schemes(c: &mut Criterion) {
    build_plugins();
    let config = demo_config();
    // (format, [(label, system reference)]): the builtin first, then plugins.
    let pairs = [
        (
            "acme-lk1",
            vec![
                ("builtin", "builtin:acme-lk1"),
                ("plugin-rust", "legacy-emitter"),
                ("plugin-c", "old"),
            ],
        ),
        (
            "acme-ed1",
            vec![("builtin", "builtin:acme-ed1"), ("plugin-rust", "new")],
        ),
    ];
    for (format, systems) in pairs {
        // Plugins three times: through the ABI 1.2 typed entry points (what
        // a run uses), as an ABI 1.1 host calls them (`/batch`), and as an
        // ABI 1.0 host does (`/single`, one call per item).
        let opened: Vec<(String, Box<dyn Implementation>)> = systems
            .iter()
            .flat_map(|(l, r)| {
                let mut v = vec![(l.to_string(), open(&config, r))];
                if l.starts_with("plugin") {
                    v.push((format!("{l}/batch"), open_as_minor(&config, r, 1)));
                    v.push((format!("{l}/single"), open_as_minor(&config, r, 0)));
                }
                v
            })
            .collect();
        let (ents, keys) = corpus(opened[0].1.as_ref(), format);
        let refs: Vec<&Entitlement> = ents.iter().collect();
        let requests: Vec<(&[u8], &Context)> =
            keys.iter().map(|(k, c)| (k.as_slice(), c)).collect();
        // A batch call for each (one call per item for `/single`, which
        // the host turns into single calls). First their ratios to the
        // builtin, interleaved in CPU time.
        let gen_routines: Vec<(String, Box<dyn Fn() + '_>)> = opened
            .iter()
            .map(|(label, imp)| -> (String, Box<dyn Fn()>) {
                (
                    label.clone(),
                    Box::new(|| drop(black_box(imp.generate_batch(black_box(&refs))))),
                )
            })
            .collect();
        let val_routines: Vec<(String, Box<dyn Fn() + '_>)> = opened
            .iter()
            .map(|(label, imp)| -> (String, Box<dyn Fn()>) {
                (
                    label.clone(),
                    Box::new(|| drop(black_box(imp.validate_batch(black_box(&requests))))),
                )
            })
            .collect();
        // Then criterion, one routine after the other.
        for (op, routines) in [("generate", &gen_routines), ("validate", &val_routines)] {
            let borrowed: Vec<(&str, &dyn Fn())> = routines
                .iter()
                .map(|(l, r)| (l.as_str(), r.as_ref()))
                .collect();
            let name = format!("{format}/{op}");
            interleaved(&name, BATCH, &borrowed);
            let mut g = c.benchmark_group(name);
            g.throughput(Throughput::Elements(BATCH as u64));
            for (label, routine) in borrowed {
                g.bench_function(BenchmarkId::from_parameter(label), |b| b.iter(routine));
            }
            g.finish();
        }
    }
}

/// RFC 8032 TEST 2, the demo's older trusted key `acme-demo-2025` (a public
/// test key, as in keycompat.toml): keys issued before the rotation to
/// `acme-demo-2026` are signed with it.
const TEST2_SECRET: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

/// The trusted keys of a system's `trusted_keys` setting (`kid:hex,...`).
fn trusted_keys(config: &Config, system: &str) -> Vec<VerifyingKey> {
    config.systems[system].settings["trusted_keys"]
        .split(',')
        .map(|entry| {
            let (_, hex_key) = entry.split_once(':').expect("kid:hex");
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex_key.trim(), &mut bytes).expect("64 hex digits");
            VerifyingKey::from_bytes(&bytes).expect("an Ed25519 public key")
        })
        .collect()
}

/// What the validator has in hand when it checks a signature: the signed
/// bytes (everything before the `.`), the decoded signature and the parsed
/// public key that made it.
fn floor_inputs<'k>(
    keys: &'k [(Vec<u8>, Context)],
    trusted: &[VerifyingKey],
) -> Vec<(&'k [u8], Signature, VerifyingKey)> {
    keys.iter()
        .map(|(key, _)| {
            let dot = key.iter().position(|&b| b == b'.').expect("a dot");
            let bytes = base64::engine::general_purpose::URL_SAFE
                .decode(&key[dot + 1..])
                .expect("base64url");
            let signature = Signature::from_slice(&bytes).expect("64 bytes");
            let signed = &key[..dot];
            let signer = trusted
                .iter()
                .find(|k| k.verify_strict(signed, &signature).is_ok())
                .expect("a trusted key verifies");
            (signed, signature, *signer)
        })
        .collect()
}

/// acme-ed1 validation against its floor (issue 17, target 2: at least
/// 0.8x): `verify_strict` alone, once per key with the key that signed it,
/// the signature and the signed bytes parsed before the clock starts, and
/// the builtin's and the Rust plugin's (in-process, through the C ABI) whole
/// validation of the same keys in the contexts they were issued for. Two key
/// sets of the same entitlements: signed by the first trusted key
/// (`current`, acme-demo-2026) and by the second (`rotated`,
/// acme-demo-2025), which a validator trying its keys in turn pays twice.
/// Measured twice: [`interleaved`] (their ratios, the figure BENCHMARKS.md
/// records), then criterion, one function after the other, each in the
/// calling thread's CPU time ([`cpu_timed`]).
fn ed1_floor(c: &mut Criterion) {
    build_plugins();
    let config = demo_config();
    let builtin = open(&config, "builtin:acme-ed1");
    let plugin = open(&config, "new");
    let trusted = trusted_keys(&config, "new");
    let current = open(&config, "new-rust");
    let rotation: Settings = [("signing_key", TEST2_SECRET), ("kid", "acme-demo-2025")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let rotated = system::open(
        &SystemRef::parse("new-rust"),
        Some(&config),
        &rotation,
        &Hosting::InProcess,
    )
    .expect("open new-rust signing with acme-demo-2025");
    for (label, issuer) in [("current", &current), ("rotated", &rotated)] {
        let (_, keys) = corpus(issuer.as_ref(), "acme-ed1");
        let floor = floor_inputs(&keys, &trusted);
        let requests: Vec<(&[u8], &Context)> =
            keys.iter().map(|(k, c)| (k.as_slice(), c)).collect();
        let floor_batch = || {
            for (signed, signature, key) in black_box(&floor) {
                black_box(key.verify_strict(signed, signature).is_ok());
            }
        };
        let builtin_batch = || drop(black_box(builtin.validate_batch(black_box(&requests))));
        let plugin_batch = || drop(black_box(plugin.validate_batch(black_box(&requests))));
        let routines: [(&str, &dyn Fn()); 3] = [
            ("verify_strict", &floor_batch),
            ("builtin", &builtin_batch),
            ("plugin-rust", &plugin_batch),
        ];
        let name = format!("acme-ed1/floor/{label}");
        interleaved(&name, keys.len(), &routines);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(keys.len() as u64));
        for (label, routine) in routines {
            g.bench_function(label, |b| cpu_timed(b, routine));
        }
        g.finish();
    }
}

/// Rounds of [`interleaved`].
const INTERLEAVED_ROUNDS: usize = 5;
/// Batches of each routine per round of [`interleaved`].
const INTERLEAVED_BATCHES: usize = 40;

/// Each routine's rate against the first's, measured batch by batch in turn
/// (each batch `items` calls, timed in the thread's CPU time), so that the
/// load of a shared machine falls on all alike; printed per round and as the
/// median with the range of the rounds, like `keycompat bench` does. Criterion
/// measures one function after the other, seconds apart: on the project's
/// loaded 2-core machines their ratios moved by 0.2 from run to run.
fn interleaved(name: &str, items: usize, routines: &[(&str, &dyn Fn())]) {
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); routines.len()];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); routines.len()];
    for round in 0..INTERLEAVED_ROUNDS {
        let mut cpu = vec![std::time::Duration::ZERO; routines.len()];
        for batch in 0..INTERLEAVED_BATCHES {
            for k in 0..routines.len() {
                // Each batch starts at another routine: none always runs first.
                let i = (batch + k) % routines.len();
                let start = thread_cpu();
                (routines[i].1)();
                cpu[i] += thread_cpu().saturating_sub(start);
            }
        }
        let rate = |i: usize| (INTERLEAVED_BATCHES * items) as f64 / cpu[i].as_secs_f64();
        for i in 0..routines.len() {
            rates[i].push(rate(i));
            ratios[i].push(rate(i) / rate(0));
        }
        let line: Vec<String> = routines
            .iter()
            .enumerate()
            .map(|(i, (label, _))| format!("{label} {:.0}/s ({:.3}x)", rate(i), ratios[i][round]))
            .collect();
        println!(
            "{name}, interleaved round {}: {}",
            round + 1,
            line.join(", ")
        );
    }
    let stats = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let line: Vec<String> = routines
        .iter()
        .enumerate()
        .map(|(i, (label, _))| {
            let (rate, _, _) = stats(&rates[i]);
            let (median, min, max) = stats(&ratios[i]);
            format!("{label} {rate:.0}/s, {median:.3}x ({min:.3}..{max:.3})")
        })
        .collect();
    println!(
        "{name}, interleaved, median of {INTERLEAVED_ROUNDS} rounds (CPU time): {}",
        line.join("; ")
    );
}

/// Keys per isolated request: one frame to the worker carries a whole batch.
const ISOLATED_BATCH: usize = 256;

/// Validate through each demo plugin in-process and isolated in one worker
/// process (batches of 256 over a pipe), with the same keys: the cost of
/// isolation (target: isolated at least 0.8x in-process).
fn isolation(c: &mut Criterion) {
    build_plugins();
    let config = demo_config();
    let workers = Hosting::Workers(WorkerOptions {
        exe: profile_dir().join("keycompat"),
        ..WorkerOptions::default()
    });
    for (format, system) in [("acme-lk1", "old"), ("acme-ed1", "new")] {
        let in_process = open(&config, system);
        let isolated = open_hosted(&config, system, &workers);
        let (_, keys) = corpus(in_process.as_ref(), format);
        let requests: Vec<(&[u8], &Context)> = (0..ISOLATED_BATCH)
            .map(|i| {
                let (k, ctx) = &keys[i % keys.len()];
                (k.as_slice(), ctx)
            })
            .collect();
        assert_eq!(
            in_process.validate_batch(&requests),
            isolated.validate_batch(&requests),
            "{system}: isolated answers differ from in-process ones"
        );
        let mut g = c.benchmark_group(format!("isolation/{format}/validate"));
        g.throughput(Throughput::Elements(ISOLATED_BATCH as u64));
        for (label, imp) in [("in-process", &in_process), ("isolated", &isolated)] {
            g.bench_function(BenchmarkId::from_parameter(label), |b| {
                b.iter(|| black_box(imp.validate_batch(black_box(&requests))))
            });
        }
        g.finish();
    }
}

/// The process protocol's own cost on keycompat's side: validate batches of
/// 256 acme-ed1 keys through `kc_echo`, a process plugin that answers without
/// reading the items (target: at most 2 us per item), in wall-clock time and
/// in keycompat's CPU time.
fn process(c: &mut Criterion) {
    build_plugins();
    let config = demo_config();
    let echo = keycompat::plugin::WorkerImpl::spawn_command(
        &keycompat::plugin::worker::ProcessCommand::new(
            vec![profile_dir().join("kc_echo").to_string_lossy().into_owned()],
            profile_dir(),
        ),
        &Settings::new(),
        &Default::default(),
        WorkerOptions::default(),
    )
    .expect("start kc_echo (built by cargo build --release --workspace --bins)");
    let new = open(&config, "new");
    let (_, keys) = corpus(new.as_ref(), "acme-ed1");
    let requests: Vec<(&[u8], &Context)> = (0..ISOLATED_BATCH)
        .map(|i| {
            let (k, ctx) = &keys[i % keys.len()];
            (k.as_slice(), ctx)
        })
        .collect();
    assert!(
        echo.validate_batch(&requests)
            .iter()
            .all(|a| a.as_ref().is_ok_and(|v| v.verdict == Verdict::Malformed)),
        "kc_echo answers every item malformed"
    );
    let mut g = c.benchmark_group("process/echo/validate");
    g.throughput(Throughput::Elements(ISOLATED_BATCH as u64));
    g.bench_function("process-protocol", |b| {
        b.iter(|| black_box(echo.validate_batch(black_box(&requests))))
    });
    // The same batches, timed by the CPU keycompat's calling thread spent
    // (encoding, writing, polling, reading, decoding): the protocol's cost
    // on keycompat's side, without kc_echo's own work and the scheduler's
    // wake-up latency, which the wall-clock figure above also holds.
    g.bench_function("keycompat-cpu", |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu();
            for _ in 0..iters {
                black_box(echo.validate_batch(black_box(&requests)));
            }
            thread_cpu().saturating_sub(start)
        })
    });
    g.finish();
}

/// Times `routine` by the CPU time the calling thread spends in it
/// ([`thread_cpu`]) instead of the wall clock, so that time the scheduler
/// gives other processes on a loaded machine is not counted.
fn cpu_timed(b: &mut Bencher<'_, WallTime>, routine: &dyn Fn()) {
    b.iter_custom(|iters| {
        let start = thread_cpu();
        for _ in 0..iters {
            routine();
        }
        thread_cpu().saturating_sub(start)
    })
}

/// CPU time of the calling thread so far (`CLOCK_THREAD_CPUTIME_ID`, exact
/// to the nanosecond: `/proc/thread-self/schedstat`, read before, lags by up
/// to a scheduler tick, as much as a batch of 64 acme-ed1 validations takes).
fn thread_cpu() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(t.tv_sec.unsigned_abs(), t.tv_nsec.unsigned_abs() as u32)
}

fn matrix(c: &mut Criterion) {
    build_plugins();
    let config = demo_config();
    let checks: BTreeSet<Check> = [
        Check::Roundtrip,
        Check::Backward,
        Check::Forward,
        Check::Rollback,
        Check::Parity,
    ]
    .into();
    let m = Matrix::open(&config, checks, &Hosting::InProcess).expect("open the demo systems");
    let generator = Generator::new(1, config.catalog.clone(), vec![1, 2, 3, 5, 6, 7]);
    let cases: Vec<Case> = (0..BATCH as u64)
        .map(|index| {
            let e = generator.entitlement(index);
            Case {
                id: case_id(&e),
                source: Source::Random { seed: 1, index },
                entitlement: e,
            }
        })
        .collect();
    let calls = m.calls(&cases);
    let options = RunOptions {
        seed: 1,
        cases: 0,
        threads: 1,
        batch: BATCH,
        partition: None,
        today: cases[0].entitlement.issued,
    };
    let stop = AtomicBool::new(false);
    let runner = Runner {
        matrix: &m,
        waivers: &[],
        options: &options,
        stop: &stop,
        coverage: None,
        events: None,
    };
    let mut g = c.benchmark_group("matrix/per-case");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("bare-loop", |b| b.iter(|| black_box(calls.replay(&m))));
    g.bench_function("check-matrix", |b| {
        b.iter(|| black_box(runner.run_cases(black_box(&cases), &|_| {})))
    });
    g.finish();
}

criterion_group!(benches, schemes, ed1_floor, isolation, process, matrix);
criterion_main!(benches);
