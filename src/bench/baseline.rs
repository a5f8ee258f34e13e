//! `keycompat bench --baseline`: every figure of this run against the same
//! figure of an earlier `bench.json`, judged improved, regressed or within
//! noise.
//!
//! Decided as criterion does in spirit, with what a few rounds allow: a
//! change is real only if it is larger than the noise threshold (a
//! percentage of the baseline's median) *and* the two runs' ranges
//! (min..max over their rounds) do not overlap. Either alone misleads on a
//! shared machine: ranges of single-round runs are points, and a threshold
//! alone calls every noisy figure a change. Only rates are compared (higher
//! is better); ratios are derived from them.

use std::collections::BTreeMap;
use std::fmt;

use super::result::{BenchResult, Hosting, Op, Stats, human_rate_stats};

/// One figure that can be compared across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum FigureId {
    /// A system's rate.
    Rate {
        /// The system's name.
        system: String,
        /// Generate or validate.
        op: Op,
        /// The key format.
        format: String,
        /// Where it ran.
        hosting: Hosting,
        /// Threads.
        threads: usize,
    },
    /// The check matrix's rate (`bare: false`) or its bare loop's.
    Matrix {
        /// Where the systems ran.
        hosting: Hosting,
        /// Threads.
        threads: usize,
        /// The bare loop rather than the matrix.
        bare: bool,
    },
}

impl fmt::Display for FigureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FigureId::Rate {
                system,
                op,
                format,
                hosting,
                threads,
            } => write!(
                f,
                "{system} {} {format} {} {threads} thr",
                op.as_str(),
                hosting.as_str()
            ),
            FigureId::Matrix {
                hosting,
                threads,
                bare,
            } => write!(
                f,
                "{} {} {threads} thr",
                if *bare { "bare loop" } else { "check matrix" },
                hosting.as_str()
            ),
        }
    }
}

/// Every comparable figure of a result.
fn figures(r: &BenchResult) -> BTreeMap<FigureId, Stats> {
    let rates = r.measurements.iter().map(|m| {
        let id = FigureId::Rate {
            system: m.system.clone(),
            op: m.op,
            format: m.format.clone(),
            hosting: m.hosting,
            threads: m.threads,
        };
        (id, m.per_second)
    });
    let matrix = r.matrix.iter().flat_map(|m| {
        let id = |bare| FigureId::Matrix {
            hosting: m.hosting,
            threads: m.threads,
            bare,
        };
        [
            (id(false), m.matrix_per_second),
            (id(true), m.bare_per_second),
        ]
    });
    rates.chain(matrix).collect()
}

/// What became of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Faster, beyond the noise.
    Improved,
    /// Slower, beyond the noise.
    Regressed,
    /// No change the measurements can tell from noise.
    WithinNoise,
}

impl Verdict {
    /// The words tables print.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::WithinNoise => "within noise",
        }
    }
}

/// One figure in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Which figure.
    pub figure: FigureId,
    /// In the baseline.
    pub baseline: Stats,
    /// In this run.
    pub now: Stats,
    /// Change of the median, in percent of the baseline's (`None` when the
    /// baseline's median is 0).
    pub percent: Option<f64>,
    /// What it amounts to.
    pub verdict: Verdict,
}

/// Decides whether `now` differs from `baseline` beyond the noise: by more
/// than `threshold_percent` of the baseline's median, with ranges that do not
/// overlap. Returns the change in percent and the verdict.
pub fn judge(baseline: &Stats, now: &Stats, threshold_percent: f64) -> (Option<f64>, Verdict) {
    let percent =
        (baseline.median > 0.0).then(|| (now.median - baseline.median) / baseline.median * 100.0);
    let beyond_threshold = percent.is_none_or(|p| p.abs() > threshold_percent);
    let verdict = if !beyond_threshold || baseline.overlaps(now) {
        Verdict::WithinNoise
    } else if now.median > baseline.median {
        Verdict::Improved
    } else {
        Verdict::Regressed
    };
    (percent, verdict)
}

/// This run against a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineReport {
    /// The noise threshold used, in percent.
    pub threshold_percent: f64,
    /// Figures in both runs.
    pub changes: Vec<Change>,
    /// Figures only this run has.
    pub new: Vec<FigureId>,
    /// Figures only the baseline has.
    pub gone: Vec<FigureId>,
    /// How the runs differ besides their figures (corpus, cores, rounds...),
    /// which may explain a change.
    pub notes: Vec<String>,
}

/// Compares every figure of `now` with the same figure of `baseline`.
pub fn compare(
    baseline: &BenchResult,
    now: &BenchResult,
    threshold_percent: f64,
) -> BaselineReport {
    let before = figures(baseline);
    let after = figures(now);
    let changes = after
        .iter()
        .filter_map(|(id, now)| {
            let base = before.get(id)?;
            let (percent, verdict) = judge(base, now, threshold_percent);
            Some(Change {
                figure: id.clone(),
                baseline: *base,
                now: *now,
                percent,
                verdict,
            })
        })
        .collect();
    BaselineReport {
        threshold_percent,
        changes,
        new: after
            .keys()
            .filter(|id| !before.contains_key(*id))
            .cloned()
            .collect(),
        gone: before
            .keys()
            .filter(|id| !after.contains_key(*id))
            .cloned()
            .collect(),
        notes: notes(baseline, now),
    }
}

/// How the two runs' settings differ.
fn notes(baseline: &BenchResult, now: &BenchResult) -> Vec<String> {
    let mut notes = Vec::new();
    let mut differs = |what: &str, before: String, after: String| {
        if before != after {
            notes.push(format!(
                "the baseline's {what} was {before}, this run's is {after}"
            ));
        }
    };
    differs(
        "keycompat version",
        baseline.keycompat_version.clone(),
        now.keycompat_version.clone(),
    );
    differs(
        "corpus",
        baseline.corpus.to_string(),
        now.corpus.to_string(),
    );
    differs("seed", baseline.seed.to_string(), now.seed.to_string());
    differs(
        "core count",
        baseline.cores.to_string(),
        now.cores.to_string(),
    );
    differs(
        "round count",
        baseline.rounds.to_string(),
        now.rounds.to_string(),
    );
    let cases = |r: &BenchResult| {
        r.matrix
            .first()
            .map_or("-".to_string(), |m| m.cases.to_string())
    };
    differs("matrix case count", cases(baseline), cases(now));
    notes
}

impl BaselineReport {
    /// Figures with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.changes.iter().filter(|c| c.verdict == verdict).count()
    }

    /// The table: one line per figure in both runs, then what is new or
    /// gone, then the tally. `name` names the baseline (its path).
    pub fn to_text(&self, name: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "against the baseline {name}: a change counts when it exceeds {}% and the two runs' min..max do not overlap",
            self.threshold_percent
        );
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        let labels: Vec<String> = self.changes.iter().map(|c| c.figure.to_string()).collect();
        let width = labels.iter().map(String::len).max().unwrap_or(0).max(6);
        let _ = writeln!(
            out,
            "{:<width$} {:>26} {:>26} {:>8}  verdict",
            "figure", "baseline", "now", "change"
        );
        for (c, label) in self.changes.iter().zip(&labels) {
            let _ = writeln!(
                out,
                "{label:<width$} {:>26} {:>26} {:>8}  {}",
                human_rate_stats(&c.baseline),
                human_rate_stats(&c.now),
                c.percent.map_or("-".to_string(), |p| format!("{p:+.1}%")),
                c.verdict.as_str()
            );
        }
        for (what, ids) in [
            ("new (not in the baseline)", &self.new),
            ("gone (only in the baseline)", &self.gone),
        ] {
            for id in ids {
                let _ = writeln!(out, "{what}: {id}");
            }
        }
        let _ = writeln!(
            out,
            "{} improved, {} regressed, {} within noise; {} new, {} gone",
            self.count(Verdict::Improved),
            self.count(Verdict::Regressed),
            self.count(Verdict::WithinNoise),
            self.new.len(),
            self.gone.len()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(median: f64, min: f64, max: f64) -> Stats {
        Stats { median, min, max }
    }

    #[test]
    fn a_change_counts_only_beyond_the_threshold_and_the_ranges() {
        let base = stats(100.0, 95.0, 105.0);
        // Far above, ranges apart.
        assert_eq!(
            judge(&base, &stats(150.0, 140.0, 160.0), 5.0).1,
            Verdict::Improved
        );
        assert_eq!(
            judge(&base, &stats(50.0, 45.0, 55.0), 5.0).1,
            Verdict::Regressed
        );
        // Far above, but this run's range reaches into the baseline's.
        assert_eq!(
            judge(&base, &stats(150.0, 100.0, 160.0), 5.0).1,
            Verdict::WithinNoise
        );
        // Ranges apart, but under the threshold.
        assert_eq!(
            judge(&base, &stats(108.0, 106.0, 110.0), 10.0).1,
            Verdict::WithinNoise
        );
        let (percent, verdict) = judge(&base, &stats(108.0, 106.0, 110.0), 5.0);
        assert_eq!(verdict, Verdict::Improved);
        assert!((percent.expect("percent") - 8.0).abs() < 1e-9);
    }

    #[test]
    fn a_zero_baseline_has_no_percentage() {
        let (percent, verdict) = judge(&stats(0.0, 0.0, 0.0), &stats(10.0, 9.0, 11.0), 5.0);
        assert_eq!((percent, verdict), (None, Verdict::Improved));
    }
}
