//! Markdown for CI job summaries (`$GITHUB_STEP_SUMMARY`, GitLab) and pull
//! request comments: verdict first, then the gates, the compatibility grid
//! (every pair of systems over every check), the matrix by check, the top
//! findings with their replay commands, the waivers and the run's identity.
//!
//! GitHub-flavoured, and readable as raw text in a log: tables stay narrow,
//! long evidence (entitlements, keys) goes in code spans in lists, and user
//! text (customer names, waiver reasons) is escaped so it can neither break
//! a table nor inject markup.

use std::fmt::Write;

use super::grid::{self, PairState};
use super::model::{self, CellState};
use crate::finding::Severity;
use crate::gate::Status;
use crate::history::trend::Trend;
use crate::implementation::{ImplInfo, Origin};
use crate::run::RunResult;
use crate::run::changes::{Change, Changes, colour};
use crate::words::{count, counted};

/// How many finding groups the Markdown lists.
const TOP: usize = 20;

/// The Markdown report.
pub fn render(r: &RunResult) -> String {
    let mut s = String::new();
    verdict(&mut s, r);
    gates(&mut s, r);
    if let Some(c) = &r.changes {
        changes(&mut s, c);
    }
    if let Some(t) = &r.history {
        trend(&mut s, t);
    }
    if let Some(d) = &r.detection {
        detection(&mut s, d);
    }
    compatibility_grid(&mut s, r);
    matrix(&mut s, r);
    findings(&mut s, r);
    data(&mut s, r);
    if let Some(c) = &r.coverage {
        let _ = writeln!(s, "## Scenario coverage\n");
        s.push_str(&crate::coverage::render_markdown(c));
        s.push('\n');
    }
    waivers(&mut s, r);
    throughput(&mut s, r);
    metadata(&mut s, r);
    s
}

fn verdict(s: &mut String, r: &RunResult) {
    let m = &r.meta;
    let _ = writeln!(s, "# keycompat: **{}**\n", text(&model::verdict_heading(r)));
    let mut reason = text(&capitalised(&model::verdict_reason(r)));
    // The reason names the red gates already.
    let yellow = model::gate_names(r, Status::Yellow);
    if !yellow.is_empty() {
        let list: Vec<String> = yellow.iter().map(|n| format!("**{}**", text(n))).collect();
        let _ = write!(reason, "; yellow: {}", list.join(", "));
    }
    let _ = writeln!(s, "{reason}.\n");
    let c = r.aggregate.counts();
    let _ = writeln!(
        s,
        "Migration {} -> {}; seed {}, {} ({} with unwaived findings), {}, {}; waivers judged on {}.{}\n",
        code(&m.old),
        code(&m.new),
        m.seed,
        counted(c.random_cases, "random case"),
        count(c.random_cases_failing),
        counted(c.vector_cases, "vector case"),
        counted(c.vector_checks, "vector check"),
        m.today,
        if m.interrupted {
            " **Interrupted: partial results.**"
        } else {
            ""
        }
    );
    incomplete(s, r);
}

/// Which systems gave up, when and why: the run stopped there.
fn incomplete(s: &mut String, r: &RunResult) {
    if r.meta.gave_up.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "> **Incomplete:** a system gave up (it failed every call until its restarts ran out), \
         so the run stopped there. Everything found until then is in this report; the cases \
         after it never ran, so it can never be GO.\n>"
    );
    for g in &r.meta.gave_up {
        let _ = writeln!(s, "> - {}: {}", text(&g.headline()), code(&g.message));
    }
    s.push('\n');
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Red => "**RED**",
        Status::Yellow => "**YELLOW**",
        Status::Green => "green",
        Status::Interrupted => "**INTERRUPTED**",
    }
}

fn gates(s: &mut String, r: &RunResult) {
    let _ = writeln!(s, "## Gates\n");
    let _ = writeln!(s, "| status | gate | criterion | measured |");
    let _ = writeln!(s, "|---|---|---|---|");
    for g in &r.gates {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            status_word(g.status),
            text(&g.name),
            text(&g.criterion),
            text(&g.measured)
        );
    }
    s.push('\n');
}

/// The square GitHub renders for a state: the HTML report's colours.
fn symbol(state: PairState) -> &'static str {
    match state {
        PairState::Unwaived { worst, .. } => match worst {
            Some(Severity::Outage) | None => "🟥",
            Some(Severity::Leak) => "🟪",
            Some(Severity::Crash) => "🟧",
            Some(Severity::Error) => "⬛",
            Some(Severity::Drift) => "🟫",
        },
        PairState::Waived { .. } => "🟨",
        PairState::Pass { .. } => "🟩",
        PairState::NotExercised => "—",
    }
}

/// Every pair of systems over every check, one cell each: the same cells
/// as the matrix by check below, summed by [`grid`].
fn compatibility_grid(s: &mut String, r: &RunResult) {
    let cells = model::cells(r);
    let g = grid::grid(r, &cells);
    if g.rows.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Compatibility grid\n");
    let _ = writeln!(
        s,
        "Rows issued keys, columns validated them; each cell is the worst unwaived finding over every check, with how many findings have it (+N: unwaived findings of lesser severities), then the checks behind it. \
         🟥 outage · 🟪 leak · 🟧 crash · ⬛ error · 🟫 drift (unwaived) · 🟨 waived (every finding) · 🟩 pass (observations) · — not exercised.\n"
    );
    let mut header = String::from("| issued by ↓ / validated by → |");
    let mut rule = String::from("|---|");
    for v in &g.validators {
        let _ = write!(header, " {} |", text(v.unwrap_or("no validation")));
        rule.push_str("---|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for (generator, pairs) in g.generators.iter().zip(&g.rows) {
        let _ = write!(s, "| **{}** |", text(generator));
        for pair in pairs {
            let _ = write!(s, " {} |", grid_cell(pair));
        }
        s.push('\n');
    }
    s.push('\n');
}

/// `🟥 outage 2 (+3 other) BACKWARD, TIME`, `🟨 waived 1,920 ROLLBACK`, `—`.
fn grid_cell(pair: &grid::Pair<'_, '_>) -> String {
    let state = pair.state;
    if state == PairState::NotExercised {
        return symbol(state).to_string();
    }
    let mut out = format!("{} {}", symbol(state), state.label());
    if pair.other_unwaived > 0 {
        let _ = write!(out, " (+{} other)", model::count(pair.other_unwaived));
    }
    let checks: Vec<String> = pair
        .deciding_checks()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let _ = write!(out, " {}", checks.join(", "));
    out
}

fn matrix(s: &mut String, r: &RunResult) {
    let _ = writeln!(s, "## Matrix by check\n");
    let _ = writeln!(s, "| check | pair | pass | fail | skipped | result |");
    let _ = writeln!(s, "|---|---|--:|--:|--:|---|");
    for cell in model::cells(r) {
        let t = &cell.tally;
        let result = match cell.state() {
            CellState::Fail => "**FAIL**".to_string(),
            CellState::Waived => {
                let tickets: Vec<&str> = cell
                    .waived
                    .iter()
                    .filter_map(|g| g.waived_by.as_deref())
                    .collect();
                format!("waived ({})", text(&dedup(tickets).join(", ")))
            }
            CellState::Pass => "pass".into(),
            CellState::Idle => "not exercised".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {result} |",
            cell.check,
            text(&cell.pair()),
            t.pass,
            t.fail,
            t.skipped
        );
    }
    s.push('\n');
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

fn findings(s: &mut String, r: &RunResult) {
    let groups = r.groups_by_importance();
    let unwaived = groups.iter().filter(|g| g.waived_by.is_none()).count();
    let _ = writeln!(s, "## Findings\n");
    if groups.is_empty() {
        let _ = writeln!(s, "No findings.\n");
        return;
    }
    let _ = write!(
        s,
        "{} groups: {unwaived} unwaived, {} waived",
        groups.len(),
        groups.len() - unwaived
    );
    if groups.len() > TOP {
        let _ = write!(
            s,
            "; the {TOP} most severe (all in report.json and report.html)"
        );
    }
    let _ = writeln!(s, ".\n");
    for (i, g) in groups.iter().take(TOP).enumerate() {
        let ex = model::example(g);
        let waived = g
            .waived_by
            .as_ref()
            .map(|w| format!(" (waived: {})", text(w)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{}. **{}** {} {}, {}: {}{waived}",
            i + 1,
            g.key.severity,
            g.key.check,
            code(&model::pair(&g.key.generator, g.key.validator.as_deref())),
            counted(g.count, "finding"),
            text(&g.key.cause)
        );
        if let Some(e) = &ex.entitlement {
            let label = if g.shrunk.is_some() {
                "shrunk example"
            } else {
                "example"
            };
            let _ = writeln!(s, "    - {label}: {}", code(&e.to_json()));
        }
        if g.unreproduced {
            let _ = writeln!(s, "    - **{}**", crate::words::UNREPRODUCED);
        }
        if let Some(k) = &ex.license_key {
            let _ = writeln!(s, "    - key: {}", code(&abbreviate(&model::shown_key(k))));
        }
        let _ = writeln!(
            s,
            "    - expected {}, found {}",
            text(&ex.expected),
            text(&ex.found)
        );
        let _ = writeln!(s, "    - replay: {} (finding `{}`)", code(&g.replay), g.id);
    }
    s.push('\n');
}

fn waivers(s: &mut String, r: &RunResult) {
    let _ = writeln!(s, "## Waivers\n");
    if r.waivers.is_empty() {
        let _ = writeln!(s, "No waivers.\n");
        return;
    }
    let _ = writeln!(
        s,
        "| cell | reason | owner | ticket | expires | status | matched |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|--:|");
    for w in &r.waivers {
        let status = match w.status.as_str() {
            "active" => "active".to_string(),
            other => format!("**{}**", text(other)),
        };
        let matched = if w.expired_matches > 0 {
            format!(
                "{} (+{} after expiry)",
                count(w.matched),
                count(w.expired_matches)
            )
        } else {
            count(w.matched)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {status} | {matched} |",
            text(&w.waiver.cell()),
            text(&w.waiver.reason),
            text(&w.waiver.owner),
            text(&w.waiver.ticket),
            w.waiver.expires,
        );
    }
    s.push('\n');
}

fn data(s: &mut String, r: &RunResult) {
    let Some(d) = &r.data else { return };
    let _ = writeln!(s, "## Migration data\n");
    let _ = writeln!(
        s,
        "| export | rows | sampled | did not fit | run through both | with findings | share run | share clean |"
    );
    let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|");
    let sources = [("field keys", &d.field_keys), ("orders", &d.orders)];
    for (what, src) in sources {
        if let Some(x) = src {
            let _ = writeln!(
                s,
                "| {what} ({}) | {} | {} | {} | {} | {} | {:.1} % | {:.1} % |",
                cell_code(&x.file),
                count(x.rows),
                count(x.sampled),
                count(x.row_errors),
                count(x.run),
                count(x.with_findings),
                x.run_percent(),
                x.clean_percent()
            );
        }
    }
    for (what, src) in sources {
        let Some(x) = src.as_ref().filter(|x| !x.problems.is_empty()) else {
            continue;
        };
        let _ = writeln!(s, "\nRows of the {what} export that did not fit:\n");
        let _ = writeln!(s, "| line | column | value | problem |");
        let _ = writeln!(s, "|--:|---|---|---|");
        for p in &x.problems {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                p.line,
                p.column.as_deref().map(text).unwrap_or_default(),
                p.value.as_deref().map(cell_code).unwrap_or_default(),
                text(&p.message)
            );
        }
        if x.row_errors > x.problems.len() as u64 {
            let _ = writeln!(
                s,
                "\n... and {} more.",
                x.row_errors - x.problems.len() as u64
            );
        }
    }
    if !d.failing_orders.is_empty() {
        let _ = writeln!(s, "\nOrders with unwaived findings:\n");
        let _ = writeln!(s, "| order | line | checks |");
        let _ = writeln!(s, "|---|--:|---|");
        for o in &d.failing_orders {
            let checks: Vec<&str> = o.checks.iter().map(|c| c.as_str()).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                cell_code(&o.order_id),
                o.line,
                checks.join(", ")
            );
        }
    }
    s.push('\n');
}

fn throughput(s: &mut String, r: &RunResult) {
    let Some(t) = &r.throughput else { return };
    let _ = writeln!(s, "## Throughput\n");
    let measured = matches!(
        r.volume.as_ref().and_then(|v| v.evidence.as_ref()),
        Some(crate::volume::judge::Evidence::Measured)
    );
    let rounds = format!(
        "keys per second, median of {} interleaved rounds (min..max across rounds)",
        t.rounds
    );
    let _ = if measured {
        writeln!(
            s,
            "Measured in this run for the volume gates (seed {}, {} cores): the new system `{}` \
             only, {rounds}.\n",
            t.seed, t.cores, t.new
        )
    } else {
        writeln!(
            s,
            "From `keycompat bench` (seed {}, {} cores): old `{}` vs new `{}`, {rounds}; new/old \
             is taken within each round.\n",
            t.seed, t.cores, t.old, t.new
        )
    };
    let _ = writeln!(
        s,
        "| operation | format | hosting | threads | old | new | new/old |"
    );
    let _ = writeln!(s, "|---|---|---|--:|--:|--:|--:|");
    let rate = |x: &Option<crate::bench::Stats>| {
        x.as_ref()
            .map_or("-".to_string(), crate::bench::human_rate_stats)
    };
    for c in &t.comparisons {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.op.as_str(),
            c.format,
            c.hosting.as_str(),
            c.threads,
            rate(&c.old),
            rate(&c.new),
            c.ratio
                .as_ref()
                .map_or("-".to_string(), crate::bench::human_ratio_stats)
        );
    }
    if !t.matrix.is_empty() {
        let _ = writeln!(
            s,
            "\n| check matrix | threads | cases/s | bare loop cases/s | overhead |"
        );
        let _ = writeln!(s, "|---|--:|--:|--:|--:|");
        for m in &t.matrix {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                m.hosting.as_str(),
                m.threads,
                crate::bench::human_rate_stats(&m.matrix_per_second),
                crate::bench::human_rate_stats(&m.bare_per_second),
                crate::bench::human_ratio_stats(&m.overhead)
            );
        }
    }
    s.push('\n');
}

fn metadata(s: &mut String, r: &RunResult) {
    let m = &r.meta;
    let _ = writeln!(s, "## Run\n");
    let _ = writeln!(s, "- keycompat {}", text(&m.keycompat_version));
    let _ = writeln!(
        s,
        "- config {} (SHA-256 {})",
        code(&m.config),
        code(&m.config_sha256)
    );
    match m.scope {
        crate::gate::Scope::Full => {
            let _ = writeln!(s, "- seed {}, {} random cases asked for", m.seed, m.cases);
        }
        crate::gate::Scope::Data => {
            let _ = writeln!(
                s,
                "- seed {}; data only (`keycompat data`): the exports, no vectors or random cases",
                m.seed
            );
        }
    }
    if !m.partitions.is_empty() {
        let parts: Vec<String> = m.partitions.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(s, "- partitions {}", parts.join(", "));
    }
    let checks: Vec<String> = m.checks.iter().map(|c| c.to_string()).collect();
    let _ = writeln!(s, "- checks {}", checks.join(", "));
    if let Some(env) = &m.env {
        let _ = writeln!(s, "- ENV {}", text(&env.describe()));
    }
    let _ = writeln!(s, "- waivers judged on {}", m.today);
    let _ = writeln!(
        s,
        "- old system {}, new system {}",
        code(&m.old),
        code(&m.new)
    );
    if !m.releases.is_empty() {
        let rel: Vec<String> = m
            .releases
            .iter()
            .map(|(name, v)| format!("{} ({})", text(name), code(v)))
            .collect();
        let _ = writeln!(s, "- shipped releases: {}", rel.join(", "));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| system | implementation | version | origin | plugin path | SHA-256 |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for (name, info) in &m.systems {
        let (origin, path, sha) = origin_cells(info);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {origin} | {path} | {sha} |",
            cell_code(name),
            text(&info.name),
            text(&info.version),
        );
    }
}

fn origin_cells(info: &ImplInfo) -> (String, String, String) {
    match &info.origin {
        Origin::Builtin { scheme } => (
            format!("builtin {}", cell_code(scheme)),
            String::new(),
            String::new(),
        ),
        Origin::Plugin {
            path,
            sha256,
            abi,
            flags,
        } => (
            format!("plugin, ABI {}, flags 0x{flags:x}", text(abi)),
            cell_code(&path.display().to_string()),
            cell_code(sha256),
        ),
        Origin::Process {
            command,
            file,
            sha256,
            protocol,
            ..
        } => (
            format!(
                "process plugin, protocol {protocol}: {}",
                cell_code(&command.join(" "))
            ),
            file.as_ref()
                .map(|f| cell_code(&f.display().to_string()))
                .unwrap_or_default(),
            sha256.as_deref().map(cell_code).unwrap_or_default(),
        ),
    }
}

/// Long keys (signed formats run to hundreds of characters) shortened to
/// their ends: the full key is in report.json and report.html.
fn abbreviate(key: &str) -> String {
    const MAX: usize = 96;
    let n = key.chars().count();
    if n <= MAX {
        return key.to_string();
    }
    let head: String = key.chars().take(48).collect();
    let tail: String = key.chars().skip(n - 16).collect();
    format!("{head}...{tail} ({n} characters)")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// User text for prose and table cells: one line, with Markdown and HTML
/// syntax escaped.
/// What changed since the baseline: every changed group and gate.
fn changes(s: &mut String, c: &Changes) {
    let _ = writeln!(s, "## Changes since baseline\n");
    let _ = writeln!(
        s,
        "Compared with {}: {}.\n",
        text(&c.against()),
        text(&c.headline())
    );
    for note in &c.notes {
        let _ = writeln!(s, "> {}\n", text(note));
    }
    if !c.groups.is_empty() {
        let _ = writeln!(
            s,
            "| change | finding | check | severity | generator -> validator | cause | was | now | waiver |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|--:|--:|---|");
        for g in &c.groups {
            let change = match g.change {
                Change::New | Change::Unwaived | Change::Grew => {
                    format!("**{}**", g.change.as_str())
                }
                other => other.as_str().into(),
            };
            let _ = writeln!(
                s,
                "| {change} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell_code(&g.id),
                g.key.check,
                g.key.severity,
                text(&model::pair(&g.key.generator, g.key.validator.as_deref())),
                text(&g.key.cause),
                count(g.was.findings),
                count(g.now.findings),
                text(g.waived_by.as_deref().unwrap_or(""))
            );
        }
        s.push('\n');
    }
    if !c.gates.is_empty() {
        let _ = writeln!(s, "| gate | was | now |");
        let _ = writeln!(s, "|---|---|---|");
        for g in &c.gates {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                text(&g.name),
                colour(g.was),
                colour(g.now)
            );
        }
        s.push('\n');
    }
}

/// Days of the trend the Markdown lists (the HTML draws them all).
const TREND_DAYS: usize = 31;

/// Go-live over time: one row per day of the history, this run's last.
fn trend(s: &mut String, t: &Trend) {
    let _ = writeln!(
        s,
        "## Go-live over time
"
    );
    let _ = writeln!(
        s,
        "History {}: {} read, {}; this run's record {}.\n",
        code(&t.file),
        counted(t.records, "earlier record"),
        counted(t.days.len() as u64, "day"),
        if t.appended {
            "appended"
        } else {
            "not appended"
        }
    );
    let mut targets = format!(
        "Targets: at least {} % of the orders clean each day",
        t.orders_target_percent
    );
    if let Some(days) = t.dual_run_days {
        let _ = write!(targets, ", {} in a row", counted(u64::from(days), "day"));
    }
    if let Some(p) = t.field_keys_target_percent {
        let _ = write!(targets, "; {p} % of the field keys validated across runs");
    }
    let _ = writeln!(s, "{targets}.\n");
    for n in &t.notes {
        let _ = writeln!(s, "> {}\n", text(&capitalised(n)));
    }
    for p in &t.skipped {
        let _ = writeln!(s, "> History {}\n", text(&p.to_string()));
    }
    let _ = writeln!(
        s,
        "| day | verdict | gates | groups new / fixed | unwaived findings | waived | orders clean | cumulative | field keys | cumulative |"
    );
    let _ = writeln!(s, "|---|---|---|--:|---|--:|--:|--:|--:|--:|");
    let skip = t.days.len().saturating_sub(TREND_DAYS);
    let pct = |p: Option<f64>| p.map(crate::words::percent).unwrap_or_else(|| "-".into());
    for d in &t.days[skip..] {
        let restarted = if d.restarted {
            " (clock restarted)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "| {}{restarted} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            d.date,
            status_word(d.verdict),
            text(&crate::history::render::gates(d)),
            count(d.new_groups.len() as u64),
            count(d.fixed_groups.len() as u64),
            crate::history::render::findings(d),
            count(d.waived),
            pct(d.orders_percent),
            pct(d.orders_cumulative_percent),
            pct(d.field_keys_percent),
            pct(d.field_keys_cumulative_percent)
        );
    }
    if skip > 0 {
        let _ = writeln!(
            s,
            "\n{} earlier days in the HTML report and `keycompat history`.",
            count(skip as u64)
        );
    }
    s.push('\n');
}

/// A selftest's detection power: the score, then one row per injector.
fn detection(s: &mut String, d: &crate::detection::Detection) {
    use crate::detection::Outcome;
    let _ = writeln!(s, "## Detection power\n");
    let _ = writeln!(s, "{}.", text(&d.headline()));
    let _ = writeln!(
        s,
        "\n| injector | system | outcome | how | smallest example |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for m in &d.mutants {
        let outcome = match m.outcome {
            Outcome::Missed => "**missed**",
            o => o.as_str(),
        };
        let example = m.example_text().map(|e| cell_code(&e)).unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {} | {outcome} | {} | {example} |",
            cell_code(&m.injector),
            text(&m.system),
            text(&m.how()),
        );
    }
    s.push('\n');
}

fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for ch in word.chars() {
            if matches!(
                ch,
                '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '|' | '&' | '#' | '!' | '~'
            ) {
                out.push('\\');
            }
            out.push(ch);
        }
    }
    out
}

/// A code span in a table cell: GFM splits cells on `|` even inside code
/// spans, so it is escaped there (and only there: elsewhere the backslash
/// would show).
fn cell_code(s: &str) -> String {
    code(s).replace('|', "\\|")
}

/// A code span that holds any text: one line, fenced by more backticks than
/// it contains in a row.
fn code(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    let longest = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_break_a_table_or_inject_markup() {
        assert_eq!(
            text("A|B <script> & [x](y)\nnext"),
            "A\\|B \\<script> \\& \\[x\\](y) next"
        );
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
        assert_eq!(code("x|y"), "`x|y`");
        assert_eq!(cell_code("x|y"), "`x\\|y`");
    }
}
