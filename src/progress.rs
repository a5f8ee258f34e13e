//! Progress on long runs: a bar with rate and ETA on a terminal, nothing
//! otherwise (CI logs get the summary, not a thousand redraws). Drawn on
//! stderr so stdout stays data. Respects `NO_COLOR`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that may be disabled.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` cases, shown only when `enabled` and stderr is a terminal.
    pub fn new(total: u64, label: &str, enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let template = if colour {
            "{msg} {bar:40.cyan/blue} {pos}/{len} cases  {per_sec}  ETA {eta}"
        } else {
            "{msg} {bar:40} {pos}/{len} cases  {per_sec}  ETA {eta}"
        };
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Progress { bar: Some(bar) }
    }

    /// Adds `n` finished cases.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
