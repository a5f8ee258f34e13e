//! The volume gates judged: which measured figure stands for production,
//! the arithmetic of the margin and the headroom, and the words every
//! report shows.
//!
//! Which figure: the new system's, at exactly the production thread count,
//! hosted as production hosts it (in-process, or its own process for a
//! process plugin; a figure measured in worker processes only when there is
//! no other, since it includes keycompat's pipe and so understates the
//! system), and of its slowest key format: a migration issues and reads
//! several formats, and the peak may be all of one. How: on the median of
//! the rounds, which one burst of load on a shared machine does not move;
//! a round below the required rate while the median clears it is a warning
//! (yellow), since the headroom is then not shown in every round.
//!
//! Nothing here reads files or measures; [`super::apply`] hands in the
//! figures and says whether they are evidence for this run's new system.

use serde::{Deserialize, Serialize};

use super::config::VolumeGates;
use crate::bench::result::{
    BenchResult, Hosting, Measurement, Op, Stats, human_number, human_rate,
};
use crate::gate::{Gate, Status};
use crate::history::config::Level;
use crate::words::count;

/// The name of the gate on [`VolumeGates::issue_per_second`].
pub const ISSUE_GATE: &str = "issue volume";
/// The name of the gate on [`VolumeGates::validate_per_second`].
pub const VALIDATE_GATE: &str = "validate volume";
/// Every volume gate.
pub const GATES: [&str; 2] = [ISSUE_GATE, VALIDATE_GATE];

/// Where the figures the volume gates judge came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Evidence {
    /// Measured by the run itself, after its cases (`[gates.volume]
    /// measure = true`, `--measure-volume`).
    Measured,
    /// A `keycompat bench` result given with `--throughput`.
    File {
        /// The file, as given.
        path: String,
    },
}

impl Evidence {
    /// In words, for the gates: `measured in this run`, `from bench.json`.
    pub fn describe(&self) -> String {
        match self {
            Evidence::Measured => "measured in this run".into(),
            Evidence::File { path } => format!("from {path}"),
        }
    }
}

/// The go-live volume as judged, for the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// Where the figures came from; absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The production thread count the figures were judged at.
    pub threads: u32,
    /// The margin required above each rate, in percent.
    pub margin_percent: u32,
    /// One entry per configured rate.
    pub ops: Vec<OpVolume>,
}

/// One configured rate, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpVolume {
    /// Issuing (`generate`) or validating keys.
    pub op: Op,
    /// The go-live peak, keys per second.
    pub expected_per_second: u64,
    /// The peak with the margin: what the figure must reach.
    pub required_per_second: f64,
    /// The gate's colour.
    pub status: Status,
    /// The figure judged, when one stands for production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figure: Option<Figure>,
    /// Why no figure was judged (no figures, another system's, no figure at
    /// the production thread count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The measured figure a volume gate judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The system, as the bench named it.
    pub system: String,
    /// The key format: the slowest of those measured.
    pub format: String,
    /// Where it ran.
    pub hosting: Hosting,
    /// Threads calling at once.
    pub threads: usize,
    /// Rounds measured.
    pub rounds: usize,
    /// Keys per second over the rounds: median and range.
    pub per_second: Stats,
    /// The median over the required rate: 1.0 and above meets the gate.
    pub headroom: f64,
    /// The other formats' medians at the same threads and hosting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_formats: Vec<(String, f64)>,
}

/// The figures to judge, where they came from, and why they are no
/// evidence for this run's new system, if they are not.
pub struct Given<'a> {
    /// The figures.
    pub bench: &'a BenchResult,
    /// Where they came from.
    pub evidence: &'a Evidence,
    /// Why they cannot stand for this run's new system (another system,
    /// another build, no record of which), if they cannot.
    pub refused: Option<String>,
}

/// Judges every configured rate: its gate, and the same in numbers.
/// `given` is `None` when the run has no figures at all.
pub fn judge(config: &VolumeGates, given: Option<&Given>) -> (Vec<Gate>, Volume) {
    let threads = config.threads.unwrap_or(1);
    let mut gates = Vec::new();
    let mut ops = Vec::new();
    for (op, rate, name) in [
        (Op::Generate, config.issue_per_second, ISSUE_GATE),
        (Op::Validate, config.validate_per_second, VALIDATE_GATE),
    ] {
        let Some(rate) = rate else { continue };
        let judged = judge_op(config, op, rate, threads, given);
        gates.push(Gate {
            name: name.into(),
            status: judged.status,
            criterion: criterion(config, op, rate, threads),
            measured: measured(config, &judged, given),
        });
        ops.push(judged);
    }
    let volume = Volume {
        evidence: given.map(|g| g.evidence.clone()),
        threads,
        margin_percent: config.margin_percent,
        ops,
    };
    (gates, volume)
}

fn level(config: &VolumeGates) -> Status {
    match config.level {
        Level::Red => Status::Red,
        Level::Yellow => Status::Yellow,
    }
}

fn verb(op: Op) -> &'static str {
    match op {
        Op::Generate => "issues",
        Op::Validate => "validates",
    }
}

/// `3,000/s`, or `3,750.5/s` when the margin leaves a fraction (to one
/// decimal).
fn rate_words(r: f64) -> String {
    let tenths = (r * 10.0).round().max(0.0) as u64;
    match tenths % 10 {
        0 => format!("{}/s", count(tenths / 10)),
        d => format!("{}.{d}/s", count(tenths / 10)),
    }
}

fn margin_words(config: &VolumeGates) -> String {
    match config.margin_percent {
        0 => "no margin".into(),
        m => format!("{m} % margin"),
    }
}

fn criterion(config: &VolumeGates, op: Op, rate: u64, threads: u32) -> String {
    format!(
        "the new system {} at least {} keys/s (the go-live peak) + {} = {}, at {} (production), \
         in its slowest key format",
        verb(op),
        count(rate),
        margin_words(config),
        rate_words(config.required(rate)),
        threads_words(threads as usize)
    )
}

fn threads_words(n: usize) -> String {
    if n == 1 {
        "1 thread".into()
    } else {
        format!("{n} threads")
    }
}

fn judge_op(
    config: &VolumeGates,
    op: Op,
    rate: u64,
    threads: u32,
    given: Option<&Given>,
) -> OpVolume {
    let required = config.required(rate);
    let not_met = |problem: String| OpVolume {
        op,
        expected_per_second: rate,
        required_per_second: required,
        status: level(config),
        figure: None,
        problem: Some(problem),
    };
    let Some(given) = given else {
        return not_met(format!(
            "no throughput figures: run with --throughput FILE (a bench.json of `keycompat \
             bench -j {threads}`), or set `[gates.volume] measure = true` (or pass \
             --measure-volume) to measure them in the run"
        ));
    };
    if let Some(why) = &given.refused {
        return not_met(why.clone());
    }
    let figure = match pick(given.bench, op, threads as usize) {
        Ok(f) => f,
        Err(problem) => return not_met(problem),
    };
    let status = if figure.per_second.median < required {
        level(config)
    } else if figure.per_second.min < required {
        Status::Yellow
    } else {
        Status::Green
    };
    OpVolume {
        op,
        expected_per_second: rate,
        required_per_second: required,
        status,
        figure: Some(Figure {
            // Rates are at least 1/s (`VolumeGates::check`): finite.
            headroom: figure.per_second.median / required.max(1.0),
            ..figure
        }),
        problem: None,
    }
}

/// Whether a figure runs as production runs the system (not behind
/// keycompat's own worker pipe).
fn as_production(h: Hosting) -> bool {
    matches!(h, Hosting::InProcess | Hosting::Process)
}

/// The figure that stands for production: the new system's `op` at
/// `threads`, hosted as production hosts it when measured so, of its
/// slowest format. The error says what is missing and how to get it.
fn pick(bench: &BenchResult, op: Op, threads: usize) -> Result<Figure, String> {
    let new = &bench.new;
    let of_new: Vec<&Measurement> = bench
        .measurements
        .iter()
        .filter(|m| &m.system == new && m.op == op)
        .collect();
    if of_new.is_empty() {
        return Err(format!(
            "no {} figure of the new system `{new}` (is it a {}?); hint: keycompat bench \
             --systems {new} -j {threads}",
            op.as_str(),
            match op {
                Op::Generate => "generator",
                Op::Validate => "validator",
            }
        ));
    }
    let at: Vec<&Measurement> = of_new
        .iter()
        .copied()
        .filter(|m| m.threads == threads)
        .collect();
    if at.is_empty() {
        let mut measured: Vec<usize> = of_new.iter().map(|m| m.threads).collect();
        measured.sort_unstable();
        measured.dedup();
        let list: Vec<String> = measured.iter().map(usize::to_string).collect();
        return Err(format!(
            "no {} figure at the production {} (the new system was measured at {}); hint: \
             keycompat bench -j {threads}",
            op.as_str(),
            threads_words(threads),
            threads_words_list(&list)
        ));
    }
    let production: Vec<&Measurement> = at
        .iter()
        .copied()
        .filter(|m| as_production(m.hosting))
        .collect();
    let candidates = if production.is_empty() {
        at
    } else {
        production
    };
    let slowest = candidates
        .iter()
        .copied()
        .min_by(|a, b| a.per_second.median.total_cmp(&b.per_second.median))
        .ok_or_else(|| "no figure".to_string())?;
    let mut other_formats: Vec<(String, f64)> = candidates
        .iter()
        .filter(|m| m.format != slowest.format)
        .map(|m| (m.format.clone(), m.per_second.median))
        .collect();
    other_formats.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Figure {
        system: slowest.system.clone(),
        format: slowest.format.clone(),
        hosting: slowest.hosting,
        threads: slowest.threads,
        rounds: bench.rounds,
        per_second: slowest.per_second,
        headroom: 0.0,
        other_formats,
    })
}

fn threads_words_list(list: &[String]) -> String {
    match list {
        [one] if one == "1" => "1 thread".into(),
        _ => format!("{} threads", list.join(", ")),
    }
}

/// A factor as the gates print it: `3.20x` near the threshold, `38x` far
/// above it.
fn times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}x")
    } else {
        format!("{x:.2}x")
    }
}

/// The gate's measured line: the figure, where it came from, against what.
fn measured(config: &VolumeGates, v: &OpVolume, given: Option<&Given>) -> String {
    let Some(f) = &v.figure else {
        return v.problem.clone().unwrap_or_default();
    };
    let formats = if f.other_formats.is_empty() {
        f.format.clone()
    } else {
        let others: Vec<String> = f
            .other_formats
            .iter()
            .map(|(format, median)| format!("{format} {}", human_rate(*median)))
            .collect();
        format!(
            "{}, the slowest of {} formats; {}",
            f.format,
            f.other_formats.len() + 1,
            others.join(", ")
        )
    };
    let hosting = match f.hosting {
        Hosting::Isolated => "in worker processes (with keycompat's pipe: a lower bound)",
        h => h.as_str(),
    };
    let cores = given.map_or(0, |g| g.bench.cores);
    let on_cores = if cores > 0 && cores < f.threads {
        format!(" on {cores} cores (a lower bound)")
    } else {
        String::new()
    };
    let source = given.map(|g| g.evidence.describe()).unwrap_or_default();
    let mut line = format!(
        "{} measured ({formats}; {hosting}, {}{on_cores}, median of {} rounds, range {}..{}; {source}) \
         vs {} expected + {} = {}: ",
        human_rate(f.per_second.median),
        threads_words(f.threads),
        f.rounds,
        human_number(f.per_second.min),
        human_number(f.per_second.max),
        rate_words(v.expected_per_second as f64),
        margin_words(config),
        rate_words(v.required_per_second),
    );
    if f.headroom >= 1.0 {
        line.push_str(&format!("{} headroom", times(f.headroom)));
        if f.per_second.min < v.required_per_second {
            line.push_str(&format!(
                "; but its slowest round ({}) is below {}: re-measure on a quieter machine \
                 or with more rounds",
                human_rate(f.per_second.min),
                rate_words(v.required_per_second)
            ));
        }
    } else {
        line.push_str(&format!(
            "{:.2}x of the required rate, {} short",
            f.headroom,
            rate_words((v.required_per_second - f.per_second.median).ceil())
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::result::SCHEMA_VERSION;

    fn stats(samples: &[f64]) -> Stats {
        Stats::of(samples).expect("stats")
    }

    fn m(op: Op, format: &str, hosting: Hosting, threads: usize, samples: &[f64]) -> Measurement {
        Measurement {
            op,
            system: "new".into(),
            format: format.into(),
            hosting,
            threads,
            calls: 0,
            seconds: 0.0,
            per_second: stats(samples),
            samples: samples.to_vec(),
        }
    }

    fn bench(measurements: Vec<Measurement>) -> BenchResult {
        BenchResult {
            schema: SCHEMA_VERSION.into(),
            keycompat_version: "test".into(),
            seed: 1,
            corpus: 10,
            cores: 2,
            rounds: 3,
            old: "old".into(),
            new: "new".into(),
            systems: Default::default(),
            measurements,
            comparisons: Vec::new(),
            matrix: Vec::new(),
        }
    }

    fn config(validate: u64, margin: u32) -> VolumeGates {
        VolumeGates {
            validate_per_second: Some(validate),
            threads: Some(2),
            margin_percent: margin,
            ..VolumeGates::default()
        }
    }

    fn judged(config: &VolumeGates, b: &BenchResult) -> (Gate, OpVolume) {
        let evidence = Evidence::File {
            path: "bench.json".into(),
        };
        let given = Given {
            bench: b,
            evidence: &evidence,
            refused: None,
        };
        let (gates, volume) = judge(config, Some(&given));
        (gates[0].clone(), volume.ops[0].clone())
    }

    fn demo() -> BenchResult {
        bench(vec![
            m(
                Op::Validate,
                "acme-ed1",
                Hosting::InProcess,
                2,
                &[22_100.0, 24_000.0, 25_300.0],
            ),
            m(
                Op::Validate,
                "acme-lk1",
                Hosting::InProcess,
                2,
                &[130_000.0, 131_000.0, 129_000.0],
            ),
            m(
                Op::Validate,
                "acme-ed1",
                Hosting::Isolated,
                2,
                &[1_000.0, 1_000.0, 1_000.0],
            ),
            m(
                Op::Validate,
                "acme-ed1",
                Hosting::InProcess,
                1,
                &[12_000.0, 12_000.0, 12_000.0],
            ),
        ])
    }

    #[test]
    fn the_slowest_format_at_production_threads_in_process_is_judged_on_its_median() {
        let (gate, v) = judged(&config(5_000, 50), &demo());
        assert_eq!(gate.status, Status::Green);
        let f = v.figure.expect("a figure");
        assert_eq!((f.format.as_str(), f.threads), ("acme-ed1", 2));
        assert_eq!(f.hosting, Hosting::InProcess, "not the isolated figure");
        assert_eq!(v.required_per_second, 7_500.0);
        assert!((f.headroom - 3.2).abs() < 1e-9, "{}", f.headroom);
        assert_eq!(
            gate.measured,
            "24.0k/s measured (acme-ed1, the slowest of 2 formats; acme-lk1 130.0k/s; \
             in-process, 2 threads, median of 3 rounds, range 22.1k..25.3k; from bench.json) \
             vs 5,000/s expected + 50 % margin = 7,500/s: 3.20x headroom"
        );
        assert_eq!(
            gate.criterion,
            "the new system validates at least 5,000 keys/s (the go-live peak) + 50 % margin = \
             7,500/s, at 2 threads (production), in its slowest key format"
        );
    }

    #[test]
    fn below_the_margin_is_the_configured_level_and_says_how_short() {
        // 24,000/s meets 20,000/s but not 20,000/s + 50 %.
        let (gate, v) = judged(&config(20_000, 50), &demo());
        assert_eq!(gate.status, Status::Red);
        assert!((v.figure.expect("figure").headroom - 0.8).abs() < 1e-9);
        assert!(
            gate.measured.ends_with(
                "vs 20,000/s expected + 50 % margin = 30,000/s: 0.80x of the required rate, \
                     6,000/s short"
            ),
            "{}",
            gate.measured
        );
        let mut yellow = config(20_000, 50);
        yellow.level = Level::Yellow;
        assert_eq!(judged(&yellow, &demo()).0.status, Status::Yellow);
        // Without the margin the same figure passes.
        assert_eq!(judged(&config(20_000, 0), &demo()).0.status, Status::Green);
    }

    #[test]
    fn a_round_below_the_required_rate_is_a_warning_when_the_median_clears_it() {
        // Required 23,000/s: the median (24,000) clears it, the slowest round
        // (22,100) does not.
        let (gate, _) = judged(&config(23_000, 0), &demo());
        assert_eq!(gate.status, Status::Yellow);
        assert!(
            gate.measured
                .contains("1.04x headroom; but its slowest round (22.1k/s) is below 23,000/s"),
            "{}",
            gate.measured
        );
        // Exactly the required rate in every round meets it.
        let exact = bench(vec![m(
            Op::Validate,
            "f",
            Hosting::InProcess,
            2,
            &[300.0, 300.0, 300.0],
        )]);
        assert_eq!(judged(&config(200, 50), &exact).0.status, Status::Green);
    }

    #[test]
    fn the_isolated_figure_counts_only_when_nothing_ran_as_production_runs() {
        let b = bench(vec![m(
            Op::Validate,
            "acme-ed1",
            Hosting::Isolated,
            2,
            &[9_000.0, 9_000.0, 9_000.0],
        )]);
        let (gate, v) = judged(&config(3_000, 50), &b);
        assert_eq!(gate.status, Status::Green);
        assert_eq!(v.figure.expect("figure").hosting, Hosting::Isolated);
        assert!(
            gate.measured.contains("in worker processes"),
            "{}",
            gate.measured
        );
    }

    #[test]
    fn a_missing_thread_count_or_op_is_not_met_and_says_what_to_run() {
        let mut eight = config(10, 0);
        eight.threads = Some(8);
        let (gate, v) = judged(&eight, &demo());
        assert_eq!(gate.status, Status::Red);
        assert!(v.figure.is_none());
        assert_eq!(
            gate.measured,
            "no validate figure at the production 8 threads (the new system was measured at \
             1, 2 threads); hint: keycompat bench -j 8"
        );
        let issue = VolumeGates {
            issue_per_second: Some(10),
            threads: Some(2),
            ..VolumeGates::default()
        };
        let evidence = Evidence::Measured;
        let b = demo();
        let (gates, _) = judge(
            &issue,
            Some(&Given {
                bench: &b,
                evidence: &evidence,
                refused: None,
            }),
        );
        assert_eq!(gates[0].name, ISSUE_GATE);
        assert!(
            gates[0]
                .measured
                .starts_with("no generate figure of the new system `new`")
        );
    }

    #[test]
    fn no_figures_or_refused_figures_are_never_green() {
        let (gates, volume) = judge(&config(10, 0), None);
        assert_eq!(gates[0].status, Status::Red);
        assert!(
            gates[0]
                .measured
                .starts_with("no throughput figures: run with --throughput FILE")
        );
        assert!(volume.evidence.is_none());
        let b = demo();
        let evidence = Evidence::File {
            path: "b.json".into(),
        };
        let (gates, _) = judge(
            &config(10, 0),
            Some(&Given {
                bench: &b,
                evidence: &evidence,
                refused: Some("another build".into()),
            }),
        );
        assert_eq!(
            (gates[0].status, gates[0].measured.as_str()),
            (Status::Red, "another build")
        );
    }

    #[test]
    fn rates_read_as_written() {
        assert_eq!(rate_words(3000.0), "3,000/s");
        assert_eq!(rate_words(3750.5), "3,750.5/s");
        assert_eq!(rate_words(1.25), "1.3/s");
        assert_eq!(rate_words(2.96), "3/s");
        assert_eq!(
            (times(3.2), times(38.51), times(0.8)),
            ("3.20x".into(), "39x".into(), "0.80x".into())
        );
    }
}
