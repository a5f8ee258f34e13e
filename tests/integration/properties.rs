//! Property tests of the parts that read untrusted input: the validators of
//! both formats (builtin and C plugin, in-process) and the vector parser.
//! Inputs come from a seeded ChaCha stream, so a failure reproduces from the
//! printed seed and iteration. Properties: never a panic, never a crash of
//! the C plugin, never an accepted key that was not issued, and builtin and C
//! original agree on every input.

use crate::common::*;
use keycompat::catalog::Catalog;
use keycompat::random::Generator;
use keycompat::settings::Settings;
use keycompat::system::{self, Hosting, SystemRef};
use keycompat::verdict::{Context, Verdict, Version};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const SEED: u64 = 0x6b63_7072_6f70;

fn open(reference: &str) -> Box<dyn keycompat::implementation::Implementation> {
    let s: Settings = if reference.ends_with(".so") {
        [(
            "secret".to_string(),
            "acme-legacy-demo-secret-DO-NOT-SHIP".to_string(),
        )]
        .into()
    } else {
        Settings::new()
    };
    system::open(&SystemRef::parse(reference), None, &s, &Hosting::InProcess).unwrap()
}

/// Mutates `key` with 1-4 random byte edits (replace, insert, delete, flip).
fn mutate(rng: &mut ChaCha8Rng, key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    for _ in 0..1 + rng.next_u32() % 4 {
        let pos = if k.is_empty() {
            0
        } else {
            rng.next_u32() as usize % k.len()
        };
        match rng.next_u32() % 4 {
            0 if !k.is_empty() => k[pos] = rng.next_u32() as u8,
            1 => k.insert(pos, rng.next_u32() as u8),
            2 if !k.is_empty() => {
                k.remove(pos);
            }
            _ if !k.is_empty() => k[pos] ^= 1 << (rng.next_u32() % 8),
            _ => k.push(b'A'),
        }
    }
    k
}

#[test]
fn validators_never_panic_never_accept_forgeries_and_agree_with_the_c_original() {
    let c = open(&lk1_c().to_string_lossy());
    let rust = open("builtin:acme-lk1");
    let new = open("builtin:acme-ed1");
    let generator = Generator::new(SEED, Catalog::acme(), vec![5, 6, 7]);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut checked = 0;
    for i in 0..3000u64 {
        let e = generator.entitlement(i);
        let ctx = Context {
            product: e.product.clone(),
            version: Version {
                major: u32::from(e.max_major),
                minor: 0,
            },
            today: e.issued,
            host_id: e.host_id.clone(),
        };
        let issued: Vec<Vec<u8>> = [rust.generate(&e), new.generate(&e)]
            .into_iter()
            .filter_map(Result::ok)
            .map(String::into_bytes)
            .collect();
        for key in issued {
            for _ in 0..4 {
                let m = mutate(&mut rng, &key);
                let folded = |k: &[u8]| -> Vec<u8> {
                    k.iter()
                        .filter(|b| !b" \t\r\n-".contains(b))
                        .map(|b| match b.to_ascii_uppercase() {
                            b'O' => b'0',
                            b'I' | b'L' => b'1',
                            x => x,
                        })
                        .collect()
                };
                let same_key = folded(&m) == folded(&key) || m.trim_ascii() == key.as_slice();
                let a = c
                    .validate(&m, &ctx)
                    .unwrap_or_else(|f| panic!("iteration {i}: C plugin failed on {m:?}: {f}"));
                let b = rust.validate(&m, &ctx).unwrap();
                let n = new.validate(&m, &ctx).unwrap();
                assert_eq!(a.verdict, b.verdict, "iteration {i}: C vs Rust on {m:?}");
                assert_eq!(
                    a.decoded, b.decoded,
                    "iteration {i}: C vs Rust decode on {m:?}"
                );
                if !same_key {
                    assert_ne!(
                        n.verdict,
                        Verdict::Valid,
                        "iteration {i}: forged key accepted: {:?}",
                        String::from_utf8_lossy(&m)
                    );
                    assert_ne!(
                        a.verdict,
                        Verdict::Valid,
                        "iteration {i}: forged key accepted by C: {:?}",
                        String::from_utf8_lossy(&m)
                    );
                }
                checked += 1;
            }
        }
        let mut noise = vec![0u8; (rng.next_u32() % 200) as usize];
        rng.fill_bytes(&mut noise);
        for v in [&c, &rust, &new] {
            let r = v.validate(&noise, &ctx).unwrap();
            assert_ne!(r.verdict, Verdict::Valid);
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn the_vector_parser_survives_mutated_files() {
    let catalog = Catalog::acme();
    let sources: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo().join("vectors/acme"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        let (name, text) = &sources[i % sources.len()];
        let broken = mutate(&mut rng, text);
        let path = dir.path().join(name);
        std::fs::write(&path, &broken).unwrap();
        // Must return (Ok or a list of positioned errors), never panic.
        if let Err(errors) = keycompat::vectors::load_dir(dir.path(), &catalog) {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(!e.message.is_empty(), "iteration {i}: empty message");
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
}
