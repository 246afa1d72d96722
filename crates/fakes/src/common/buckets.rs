//! Time buckets of the usage and cost reports, and the proration that fills a bucket shorter
//! than a day from the fake's daily data.
//!
//! The fake's data is daily. A bucket never crosses a UTC midnight (day, hour and minute buckets
//! are all UTC-aligned, and OpenAI's partial first bucket ends at the next boundary), so every
//! bucket is a slice `[from, to)` of seconds within one day. A daily amount `v` is taken to accrue
//! evenly over the day: the slice holds `floor(v·to/86400) − floor(v·from/86400)`, so the slices
//! of a day always add up to exactly `v`.

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// `bucket_width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    Minute,
    Hour,
    Day,
}

impl Width {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "1m" => Some(Self::Minute),
            "1h" => Some(Self::Hour),
            "1d" => Some(Self::Day),
            _ => None,
        }
    }

    pub(crate) fn seconds(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::Hour => 3_600,
            Self::Day => SECONDS_PER_DAY,
        }
    }

    /// `(default, maximum)` buckets per page, the same at both providers' usage endpoints.
    pub(crate) fn usage_limits(self) -> (u32, u32) {
        match self {
            Self::Minute => (60, 1440),
            Self::Hour => (24, 168),
            Self::Day => (7, 31),
        }
    }
}

/// How the first bucket relates to a start time that is not on a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alignment {
    /// OpenAI: the first bucket runs from the start time itself to the next boundary, and the
    /// last one is cut at the (exclusive) end time.
    PartialEdges,
    /// Anthropic: only whole buckets that start on or after the start and end on or before the end.
    WholeOnly,
}

/// One bucket, Unix seconds, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// The part of one UTC day a bucket covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DaySlice {
    /// Days since 1970-01-01.
    pub(crate) day: i64,
    /// Seconds after that day's midnight, `from < to <= 86400`.
    pub(crate) from: i64,
    pub(crate) to: i64,
}

impl Bucket {
    pub(crate) fn day_slice(self) -> DaySlice {
        let day = self.start.div_euclid(SECONDS_PER_DAY);
        let midnight = day * SECONDS_PER_DAY;
        DaySlice {
            day,
            from: self.start - midnight,
            to: (self.end - midnight).min(SECONDS_PER_DAY),
        }
    }
}

impl DaySlice {
    pub(crate) fn is_whole_day(self) -> bool {
        self.from == 0 && self.to == SECONDS_PER_DAY
    }

    /// The share of a daily amount that accrues in this slice.
    pub(crate) fn prorate(self, daily: u64) -> u64 {
        if self.is_whole_day() {
            return daily;
        }
        let at = |offset: i64| u128::from(daily) * offset as u128 / SECONDS_PER_DAY as u128;
        u64::try_from(at(self.to) - at(self.from)).unwrap_or(u64::MAX)
    }
}

/// The bucket that begins at (OpenAI) or at the first boundary from (Anthropic) `position`.
pub(crate) fn bucket_at(
    position: i64,
    end: i64,
    width: Width,
    alignment: Alignment,
) -> Option<Bucket> {
    let w = width.seconds();
    match alignment {
        Alignment::PartialEdges => {
            if position >= end {
                return None;
            }
            let boundary = position.div_euclid(w) * w + w;
            Some(Bucket {
                start: position,
                end: boundary.min(end),
            })
        }
        Alignment::WholeOnly => {
            let start =
                position.div_euclid(w) * w + if position.rem_euclid(w) == 0 { 0 } else { w };
            (start + w <= end).then_some(Bucket {
                start,
                end: start + w,
            })
        }
    }
}

/// Up to `limit` buckets from `position`, and where the next page would begin (if anywhere).
pub(crate) fn page_of_buckets(
    position: i64,
    end: i64,
    width: Width,
    alignment: Alignment,
    limit: u32,
) -> (Vec<Bucket>, Option<i64>) {
    let mut buckets = Vec::new();
    let mut at = position;
    while buckets.len() < limit as usize {
        match bucket_at(at, end, width, alignment) {
            Some(b) => {
                at = b.end;
                buckets.push(b);
            }
            None => return (buckets, None),
        }
    }
    let next = bucket_at(at, end, width, alignment).map(|b| b.start);
    (buckets, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_first_bucket_is_partial_up_to_the_next_midnight() {
        // The cookbook's observation: 17:31 UTC → the next midnight.
        let b = bucket_at(
            1_736_616_660,
            1_740_000_000,
            Width::Day,
            Alignment::PartialEdges,
        );
        assert_eq!(
            b,
            Some(Bucket {
                start: 1_736_616_660,
                end: 1_736_640_000
            })
        );
    }

    #[test]
    fn anthropic_skips_to_the_first_whole_bucket() {
        let b = bucket_at(
            1_736_616_660,
            1_740_000_000,
            Width::Day,
            Alignment::WholeOnly,
        );
        assert_eq!(
            b,
            Some(Bucket {
                start: 1_736_640_000,
                end: 1_736_726_400
            })
        );
        assert_eq!(
            bucket_at(
                1_736_640_000,
                1_736_726_399,
                Width::Day,
                Alignment::WholeOnly
            ),
            None
        );
    }

    #[test]
    fn pages_report_where_the_next_begins() {
        let (buckets, next) =
            page_of_buckets(0, 10 * SECONDS_PER_DAY, Width::Day, Alignment::WholeOnly, 7);
        assert_eq!(buckets.len(), 7);
        assert_eq!(next, Some(7 * SECONDS_PER_DAY));
        let (rest, next) = page_of_buckets(
            7 * SECONDS_PER_DAY,
            10 * SECONDS_PER_DAY,
            Width::Day,
            Alignment::WholeOnly,
            7,
        );
        assert_eq!(rest.len(), 3);
        assert_eq!(next, None);
    }

    #[test]
    fn slices_of_a_day_add_up_to_the_day() {
        let daily = 1_000_003;
        let total: u64 = (0..24)
            .map(|h| {
                DaySlice {
                    day: 0,
                    from: h * 3600,
                    to: (h + 1) * 3600,
                }
                .prorate(daily)
            })
            .sum();
        assert_eq!(total, daily);
    }
}
