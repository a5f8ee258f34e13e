//! Seeded, portable, boundary-heavy random entitlements.
//!
//! Case `i` of seed `s` is drawn from its own ChaCha8 stream (`s`, stream
//! `i`), so it is the same on every machine, thread count and partition, and
//! any case can be regenerated alone from `(seed, index)`. Sampling helpers are
//! written here rather than taken from `rand`'s distributions, whose output
//! may change between versions: a seed printed today must replay next year.
//!
//! Values lean hard on edges (field maxima and maxima + 1, the last date a
//! legacy format can carry, leap days, 2038-01-19, empty and full feature
//! sets, unicode names), where real migrations break.

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::catalog::Catalog;
use crate::date::Day;
use crate::entitlement::{Customer, Entitlement};

/// A deterministic source of entitlements for one seed.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    catalog: Catalog,
    /// Major versions of shipped releases, to put `max_major` on their edges.
    release_majors: Vec<u8>,
}

/// Customer names chosen to break encoders: NFC accents, CJK, Greek, RTL,
/// emoji, markup characters, quotes, and a long one.
const NAMES: &[&str] = &[
    "Acme Test Customer",
    "Zoë Müller GmbH",
    "株式会社テスト",
    "Ελληνική Εταιρεία ΑΕ",
    "شركة الاختبار",
    "Smith & Sons <Ltd> 'quoted' \"double\"",
    "Émile Ørsted 🚀 Labs",
    "back\\slash, comma; semi",
];

/// Dates on the edges of what formats and systems can carry.
const EDGE_DATES: &[&str] = &[
    "2000-01-02",
    "2000-02-29",
    "2024-02-29",
    "2027-12-31",
    "2028-01-01",
    "2028-02-29",
    "2038-01-19",
    "2038-01-20",
    "2044-11-08",
    "2044-11-09",
    "2099-12-31",
    "2100-03-01",
];

/// Per-case random source with the sampling helpers this module needs.
struct Draw(ChaCha8Rng);

impl Draw {
    /// Uniform in `0..n` (n > 0), by rejection: no modulo bias, portable.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.0.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }
}

impl Generator {
    /// A generator over `catalog`, steering `max_major` around `release_majors`.
    pub fn new(seed: u64, catalog: Catalog, release_majors: Vec<u8>) -> Self {
        Generator {
            seed,
            catalog,
            release_majors,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Case `index`: always the same entitlement for the same seed and index,
    /// and always one that passes [`Entitlement::check`].
    pub fn entitlement(&self, index: u64) -> Entitlement {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(index);
        let mut d = Draw(rng);
        let product = d.pick(&self.catalog.products).slug.clone();
        let edition = d.pick(&self.catalog.editions).clone();
        let max_major = self.max_major(&mut d);
        let features = self.features(&mut d);
        let seats = match d.below(8) {
            0 | 1 => None,
            2 => Some(1),
            3 => Some(*d.pick(&[1023, 1024, 65535, u32::MAX])),
            _ => Some(d.range(1, 500) as u32),
        };
        let (issued, expires) = dates(&mut d);
        let maintenance_until = d
            .chance(30)
            .then(|| issued.add_days(d.range(0, 1500) as i64))
            .flatten();
        let serial = match d.below(12) {
            0 => *d.pick(&[0, (1 << 20) - 1, 1 << 20, u32::MAX]),
            1 => d.range(1 << 20, u64::from(u32::MAX)) as u32,
            _ => d.range(0, (1 << 20) - 1) as u32,
        };
        let customer = d.chance(60).then(|| Customer {
            id: format!("C-{:06}", d.below(1_000_000)),
            name: if d.chance(5) {
                "Very Long Customer Name ".repeat(10).trim_end().to_string()
            } else {
                (*d.pick(NAMES)).to_string()
            },
        });
        let order_id = d.chance(60).then(|| format!("SO-{}", d.range(1, 999_999)));
        let host_id = d.chance(15).then(|| format!("{:012X}", d.below(1 << 48)));
        Entitlement {
            product,
            edition,
            max_major,
            features,
            seats,
            issued,
            expires,
            maintenance_until,
            serial,
            customer,
            order_id,
            host_id,
        }
    }

    fn max_major(&self, d: &mut Draw) -> u8 {
        match d.below(6) {
            0 => *d.pick(&[0, 1, 254, 255]),
            1..=3 if !self.release_majors.is_empty() => {
                let m = i16::from(*d.pick(&self.release_majors));
                (m + d.range(0, 2) as i16 - 1).clamp(0, 255) as u8
            }
            _ => d.range(0, 20) as u8,
        }
    }

    fn features(&self, d: &mut Draw) -> BTreeSet<String> {
        let all = &self.catalog.features;
        match d.below(20) {
            0 | 1 => BTreeSet::new(),
            2 => all.iter().map(|f| f.slug.clone()).collect(),
            3 => all
                .iter()
                .filter(|f| f.legacy_bit.is_some())
                .map(|f| f.slug.clone())
                .collect(),
            4..=13 => all
                .iter()
                .filter(|f| f.legacy_bit.is_some())
                .filter(|_| d.chance(30))
                .map(|f| f.slug.clone())
                .collect(),
            _ => all
                .iter()
                .filter(|_| d.chance(20))
                .map(|f| f.slug.clone())
                .collect(),
        }
    }
}

/// Issue and expiry dates: expiry on an edge, a year or so after issue, or never.
fn dates(d: &mut Draw) -> (Day, Option<Day>) {
    let base = Day::from_ymd(2000, 1, 1).expect("valid date");
    let issued = base
        .add_days(d.range(0, 365 * 30) as i64)
        .expect("in range");
    let expires = match d.below(5) {
        0 => None,
        1 => Some(Day::parse(d.pick::<&str>(EDGE_DATES)).expect("edge dates are valid")),
        _ => issued.add_days(d.range(0, 3 * 366) as i64),
    };
    match expires {
        // Keep `issued <= expires`: move the issue date before an early edge.
        Some(e) if e < issued => (e.add_days(-(d.range(0, 400) as i64)).unwrap_or(e), Some(e)),
        _ => (issued, expires),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_index_give_the_same_case() {
        let g = Generator::new(42, Catalog::acme(), vec![5, 6, 7]);
        assert_eq!(g.entitlement(7), g.entitlement(7));
        assert_ne!(g.entitlement(7), g.entitlement(8));
        assert_ne!(
            g.entitlement(7),
            Generator::new(43, Catalog::acme(), vec![]).entitlement(7)
        );
    }

    #[test]
    fn every_case_is_a_valid_entitlement() {
        let c = Catalog::acme();
        let g = Generator::new(1, c.clone(), vec![5, 6, 7]);
        for i in 0..5000 {
            let e = g.entitlement(i);
            e.check(&c)
                .unwrap_or_else(|err| panic!("case {i}: {err}: {e}"));
        }
    }

    #[test]
    fn sequences_are_portable() {
        // Pinned literals, computed once: if any changes (rand_chacha's
        // stream, a sampling helper, the order of draws, the Acme catalog),
        // every seed printed before stops replaying its cases.
        let g = Generator::new(2026, Catalog::acme(), vec![5, 6, 7]);
        let pinned: [(u64, &str); 4] = [
            (
                0,
                r#"{"product":"acme-cloud","edition":"enterprise","max_major":254,"features":["electrical","export-pdf","offline-mode","piping","render-gpu","scripting"],"seats":131,"issued":"2016-09-26","expires":"2017-06-12","maintenance_until":"2017-10-04","serial":477848,"customer":{"id":"C-051734","name":"Acme Test Customer"},"order_id":"SO-521227","host_id":null}"#,
            ),
            (
                1,
                r#"{"product":"acme-cloud","edition":"professional","max_major":20,"features":["ai-assist","api-access","cam","cloud-sync","collaboration","electrical","export-dwg","export-pdf","export-step","offline-mode","pdm","piping","plugins-sdk","priority-support","render-gpu","scripting","sheet-metal","simulation","web-viewer"],"seats":21,"issued":"2006-01-01","expires":"2099-12-31","maintenance_until":"2006-04-04","serial":129630,"customer":null,"order_id":null,"host_id":null}"#,
            ),
            (
                41,
                r#"{"product":"acme-cloud","edition":"professional","max_major":7,"features":[],"seats":284,"issued":"2001-02-27","expires":"2027-12-31","maintenance_until":null,"serial":654260,"customer":{"id":"C-690614","name":"Ελληνική Εταιρεία ΑΕ"},"order_id":null,"host_id":null}"#,
            ),
            (
                999_999,
                r#"{"product":"acme-cloud","edition":"enterprise","max_major":0,"features":["cloud-sync","export-pdf","plugins-sdk","render-gpu","scripting","simulation"],"seats":414,"issued":"2013-10-28","expires":"2015-01-18","maintenance_until":"2017-03-04","serial":1048576,"customer":{"id":"C-620359","name":"Ελληνική Εταιρεία ΑΕ"},"order_id":"SO-518603","host_id":null}"#,
            ),
        ];
        for (index, json) in pinned {
            assert_eq!(
                g.entitlement(index).to_json(),
                json,
                "seed 2026, case {index}"
            );
        }
    }
}
