//! A finished run and its volume gates ([`RunResult::with_volume`]): whether
//! the figures it carries are evidence for its own new system, the gates
//! added, the verdict re-derived.

use super::judge::{self, Evidence, GATES, Given};
use crate::bench::result::BenchResult;
use crate::gate::Scope;
use crate::implementation::{ImplInfo, Origin};
use crate::run::RunResult;

/// The SHA-256 that identifies a build, when it has one (a builtin has none:
/// its name and version identify it).
fn sha256(info: &ImplInfo) -> Option<&str> {
    match &info.origin {
        Origin::Plugin { sha256, .. } => Some(sha256),
        Origin::Process { sha256, .. } => sha256.as_deref(),
        Origin::Builtin { .. } => None,
    }
}

/// `acme-ed1 1.0.0, sha256 3f1a2b4c5d6e...`.
fn describe(info: &ImplInfo) -> String {
    match sha256(info) {
        // A file's text: never sliced by bytes.
        Some(h) => format!(
            "{} {}, sha256 {}...",
            info.name,
            info.version,
            h.chars().take(12).collect::<String>()
        ),
        None => format!("{} {}", info.name, info.version),
    }
}

/// Whether two infos are the same build: the same SHA-256 where both have
/// one, else the same name and version.
fn same_build(a: &ImplInfo, b: &ImplInfo) -> bool {
    match (sha256(a), sha256(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.name == b.name && a.version == b.version,
        _ => false,
    }
}

/// Why `bench` is no evidence for the run's new system `new` (`info`, when
/// the run recorded it), if it is not: figures of another system, of
/// another build, or of a build the file does not record.
pub fn refused(
    bench: &BenchResult,
    evidence: &Evidence,
    new: &str,
    info: Option<&ImplInfo>,
) -> Option<String> {
    let source = match evidence {
        Evidence::Measured => "the figures measured in this run".to_string(),
        Evidence::File { path } => path.clone(),
    };
    if bench.new != new {
        return Some(format!(
            "refused as evidence: {source} measured the new system `{}`; this run's new system \
             is `{new}`; hint: keycompat bench -j N with this run's config",
            bench.new
        ));
    }
    let info = info?;
    let Some(measured) = bench.systems.get(new) else {
        return Some(format!(
            "refused as evidence: {source} does not record which build of `{new}` it measured \
             (written by keycompat {} before bench.json named its systems); hint: re-run \
             `keycompat bench` with this build",
            bench.keycompat_version
        ));
    };
    if !same_build(measured, info) {
        return Some(format!(
            "refused as evidence: {source} measured another build of `{new}` ({}); this run's \
             is {}; hint: re-run `keycompat bench` with this build",
            describe(measured),
            describe(info)
        ));
    }
    None
}

impl RunResult {
    /// Judges the run's go-live volume (`[gates.volume]`) on the figures it
    /// carries ([`RunResult::throughput`]), which came from `evidence`
    /// (`None`: the run has none): adds the volume gates and the `volume`
    /// section, and re-derives the verdict. A full run only (a data run
    /// sets out to prove the exports alone); judged afresh if judged before.
    pub fn with_volume(mut self, evidence: Option<Evidence>) -> Self {
        // Judged afresh in the same place among the gates.
        let at = self
            .gates
            .iter()
            .position(|g| GATES.contains(&g.name.as_str()))
            .unwrap_or(self.gates.len());
        self.gates.retain(|g| !GATES.contains(&g.name.as_str()));
        self.volume = None;
        let config = self.meta.gates_config.volume.clone();
        if !config.is_empty() && self.meta.scope == Scope::Full {
            let evidence = evidence.filter(|_| self.throughput.is_some());
            let given = self
                .throughput
                .as_ref()
                .zip(evidence.as_ref())
                .map(|(bench, evidence)| Given {
                    bench,
                    evidence,
                    refused: refused(
                        bench,
                        evidence,
                        &self.meta.new,
                        self.meta.systems.get(&self.meta.new),
                    ),
                });
            let (gates, volume) = judge::judge(&config, given.as_ref());
            let at = at.min(self.gates.len());
            self.gates.splice(at..at, gates);
            self.volume = Some(volume);
        }
        self.verdict = self.meta.verdict(&self.gates);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(sha: &str) -> ImplInfo {
        ImplInfo {
            name: "acme-ed1".into(),
            version: "1.0.0".into(),
            origin: Origin::Plugin {
                path: "/x/libacme_ed1.so".into(),
                sha256: sha.into(),
                abi: "1.0".into(),
                flags: 0,
            },
            can_generate: true,
            can_validate: true,
        }
    }

    fn bench(new: &str, info: Option<ImplInfo>) -> BenchResult {
        BenchResult {
            schema: crate::bench::result::SCHEMA_VERSION.into(),
            keycompat_version: "0.1.0".into(),
            seed: 1,
            corpus: 1,
            cores: 2,
            rounds: 1,
            old: "old".into(),
            new: new.into(),
            systems: info.map(|i| (new.to_string(), i)).into_iter().collect(),
            measurements: Vec::new(),
            comparisons: Vec::new(),
            matrix: Vec::new(),
        }
    }

    #[test]
    fn only_figures_of_this_build_of_this_new_system_are_evidence() {
        let file = Evidence::File {
            path: "b.json".into(),
        };
        let this = plugin("aaaaaaaaaaaaaaaa");
        let ok = bench("new", Some(this.clone()));
        assert_eq!(refused(&ok, &file, "new", Some(&this)), None);
        // Another path to the same file is the same build.
        let mut moved = this.clone();
        if let Origin::Plugin { path, .. } = &mut moved.origin {
            *path = "/elsewhere/libacme_ed1.so".into();
        }
        assert_eq!(refused(&ok, &file, "new", Some(&moved)), None);

        let other_system = refused(
            &bench("ems2", Some(this.clone())),
            &file,
            "new",
            Some(&this),
        );
        assert!(other_system.is_some_and(|m| m.contains("measured the new system `ems2`")));
        let rebuilt = refused(
            &bench("new", Some(plugin("bbbbbbbbbbbbbbbb"))),
            &file,
            "new",
            Some(&this),
        )
        .expect("refused");
        assert!(
            rebuilt.contains(
                "another build of `new` (acme-ed1 1.0.0, sha256 bbbbbbbbbbbb...); this run's is \
                 acme-ed1 1.0.0, sha256 aaaaaaaaaaaa..."
            ),
            "{rebuilt}"
        );
        let unrecorded = refused(&bench("new", None), &file, "new", Some(&this)).expect("refused");
        assert!(
            unrecorded.contains("does not record which build"),
            "{unrecorded}"
        );
    }
}
