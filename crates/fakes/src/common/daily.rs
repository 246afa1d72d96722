//! Helpers for generating and reading daily data: rows stored in day order with an index of
//! each day's range, the weekend test, and exact per-mille scaling.

/// Rows generated day by day, readable by day.
#[derive(Debug, Clone)]
pub(crate) struct Daily<T> {
    first_day: i64,
    rows: Vec<T>,
    ranges: Vec<(usize, usize)>,
}

impl<T> Daily<T> {
    /// Empty; the first day closed with [`Daily::close_day`] is `first_day`.
    pub(crate) fn new(first_day: i64) -> Self {
        Self {
            first_day,
            rows: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// Adds a row to the day being generated.
    pub(crate) fn push(&mut self, row: T) {
        self.rows.push(row);
    }

    /// Ends the day being generated; the next push belongs to the following day.
    pub(crate) fn close_day(&mut self) {
        let start = self.ranges.last().map_or(0, |r| r.1);
        self.ranges.push((start, self.rows.len()));
    }

    /// The rows of `day` (a Unix day number); empty outside the data.
    pub(crate) fn on(&self, day: i64) -> &[T] {
        let range = usize::try_from(day - self.first_day)
            .ok()
            .and_then(|i| self.ranges.get(i))
            .copied()
            .unwrap_or((0, 0));
        &self.rows[range.0..range.1]
    }

    /// The rows from `from` to `to`, inclusive days.
    pub(crate) fn between(&self, from: i64, to: i64) -> impl Iterator<Item = &T> {
        let last = self.first_day + self.ranges.len() as i64 - 1;
        (from.max(self.first_day)..=to.min(last)).flat_map(|d| self.on(d))
    }

    pub(crate) fn all(&self) -> &[T] {
        &self.rows
    }
}

/// Saturday or Sunday? (1970-01-01, day 0, was a Thursday.)
pub(crate) fn is_weekend(day: i64) -> bool {
    (day + 3).rem_euclid(7) >= 5
}

/// `base × Π(factor / 1000)`, in exact integer arithmetic (rounded down at each step).
pub(crate) fn scaled(base: u64, per_mille_factors: &[u64]) -> u64 {
    let mut v = u128::from(base);
    for &f in per_mille_factors {
        v = v * u128::from(f) / 1000;
    }
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Growth over the window: 0.7× on the first day rising to about 1.3× on the last, per mille.
pub(crate) fn growth(day: i64, first_day: i64, days: i64) -> u64 {
    u64::try_from(700 + 600 * (day - first_day) / days.max(1)).unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_back_by_day() {
        let mut d = Daily::new(10);
        d.push("a");
        d.close_day();
        d.close_day();
        d.push("b");
        d.push("c");
        d.close_day();
        assert_eq!(d.on(10), &["a"]);
        assert!(d.on(11).is_empty());
        assert_eq!(d.on(12), &["b", "c"]);
        assert!(d.on(9).is_empty() && d.on(13).is_empty());
        assert_eq!(d.between(0, 100).count(), 3);
        assert_eq!(d.between(11, 12).count(), 2);
    }

    #[test]
    fn weekends_fall_on_saturday_and_sunday() {
        // 2025-08-02 was a Saturday (day 20302), 2025-08-04 a Monday.
        assert!(is_weekend(20_302) && is_weekend(20_303));
        assert!(!is_weekend(20_304) && !is_weekend(20_301));
    }
}
