//! Rounds: every figure is measured once per round, round after round, so
//! that a burst of load on a shared machine falls on all figures alike
//! instead of on whichever was being measured at the time. Each round starts
//! at another figure, so none is always measured first (just after the
//! corpus was issued, or just after the slowest figure).
//!
//! This module only decides the order; what a figure measures is
//! [`super::figures`]' business.

/// The figures in the order round `round` (of `rounds`) measures them: all
/// `n`, starting at `round * n / rounds` and wrapping around, so the starts
/// of the rounds are spread over the figures.
pub(crate) fn order(round: usize, rounds: usize, n: usize) -> impl Iterator<Item = usize> {
    let start = if n == 0 {
        0
    } else {
        (round * n / rounds.max(1)) % n
    };
    (0..n).map(move |i| (start + i) % n)
}

/// Calls `measure(figure, round)` for every figure once per round, in
/// [`order`].
pub(crate) fn interleave<F>(
    figures: &mut [F],
    rounds: usize,
    mut measure: impl FnMut(&mut F, usize),
) {
    let n = figures.len();
    for round in 0..rounds {
        for i in order(round, rounds, n) {
            measure(&mut figures[i], round);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_measures_every_figure_once() {
        for (rounds, n) in [(1, 1), (5, 12), (5, 3), (3, 62), (7, 0)] {
            for round in 0..rounds {
                let mut seen: Vec<usize> = order(round, rounds, n).collect();
                seen.sort_unstable();
                assert_eq!(
                    seen,
                    (0..n).collect::<Vec<_>>(),
                    "round {round} of {rounds}, {n}"
                );
            }
        }
    }

    #[test]
    fn rounds_start_at_different_figures() {
        let firsts: Vec<usize> = (0..5)
            .map(|r| order(r, 5, 62).next().unwrap_or(99))
            .collect();
        assert_eq!(firsts, [0, 12, 24, 37, 49]);
        // Fewer figures than rounds: each still gets a turn at the front.
        let firsts: Vec<usize> = (0..4)
            .map(|r| order(r, 4, 2).next().unwrap_or(99))
            .collect();
        assert_eq!(firsts, [0, 0, 1, 1]);
    }

    #[test]
    fn interleave_measures_round_by_round() {
        let mut figures = vec![Vec::new(), Vec::new(), Vec::new()];
        let mut log = Vec::new();
        let mut i = 0;
        interleave(&mut figures, 2, |samples: &mut Vec<usize>, round| {
            samples.push(round);
            log.push(i);
            i += 1;
        });
        assert!(figures.iter().all(|s| s == &[0, 1]));
        assert_eq!(log.len(), 6);
    }
}
