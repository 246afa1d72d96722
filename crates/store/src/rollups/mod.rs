//! The rollup engine: per-series cumulative sums, so that a period total of N entities is read
//! with O(N) index seeks whatever the period's length, and current + previous come from one read.
//!
//! # Model
//! - A [`RollupKind`] names a family of series: its dimensions (ids or text, at most
//!   [`MAX_DIMS`]), its bucket size (day or hour) and the extra metrics it keeps beyond the
//!   standard ones (at most [`MAX_EXTRA`], stored in the generic columns `x0…x5`).
//! - A series is one (organization, kind, connection or none, dimension values): a row of
//!   `rollup_series`. Its facts are summed per bucket into [`Metrics`].
//! - `rollup_cum` holds, per series and per bucket *with activity*, the running total of every
//!   metric from the series' first bucket. PRIMARY KEY (series_id, bucket).
//! - The total of buckets `[a, b]` is `cum(latest bucket ≤ b) − cum(latest bucket ≤ a−1)`: two
//!   `MAX(bucket)` seeks on the primary key plus two row lookups, on SQLite and PostgreSQL alike.
//!
//! # API
//! - [`Store::read_period`]`(org, kind, filter, current, previous)`: one row per active series
//!   ([`PeriodRow`]) with the current and previous periods' [`Metrics`] (three or four seeks per
//!   series, one statement). [`SeriesFilter`] narrows by connection and by dimension values.
//! - [`Store::read_days`]`(org, kind, filter, days)`: each series' metrics per bucket of a range
//!   (differences of consecutive running totals), for charts over time.
//! - [`RollupWrite::replace_rollup_window`] (inside the caller's transaction): the series of one
//!   kind and connection get exactly the given facts for the buckets of a window; rows after the
//!   window are shifted by the window's change. Used by sync's window replacement.
//! - [`RollupWrite::add_rollup_deltas`] / [`Store::add_deltas`]: adds deltas at buckets (and to
//!   every later row of the series). On PostgreSQL the touched series rows are locked
//!   `FOR UPDATE` in id order first, so concurrent writers never lose a delta nor deadlock; on
//!   SQLite the transaction holds the one writer lock from its first statement.
//!   [`RollupWrite::add_rollup_deltas_of`] / [`Store::add_deltas_of`] do several kinds in one
//!   go: every kind's series are found first, then all are locked in one statement, in id
//!   order (metered ingest writes its four kinds so). Statements per batch: three per kind and
//!   chunk, whatever the number of series and buckets (`delta`).
//! - [`RollupWrite::delete_connection_rollups`]: every series (of every kind) of a connection.
//!
//! Facts for one kind should be fed by one path (window replacement *or* deltas): a window
//! replacement rewrites its buckets from the facts it is given.

mod cost;
mod coverage;
mod days;
mod delta;
mod grouped_days;
mod memo;
mod read;
mod revision;
mod series_days;
mod units;
mod write;

use spendlens_domain::{DayRange, Money, Quantity};

use crate::{ConnectionId, StoreError, StoreResult};

pub(crate) use cost::cost_facts;
pub use cost::{
    ConnectionTotals, ImageTotals, KeyTotals, ModelTotals, Prior, RollupFilter, Totals,
    WorkspaceTotals,
};
pub(crate) use coverage::{KEY_MODEL, key_model_facts};
pub use coverage::{KeyModelTotals, MeteredKeyModel};
pub use days::{BucketRow, DailyBy, DailyCost};
pub use grouped_days::{GroupDays, GroupedRead};
pub(crate) use memo::PeriodMemo;
pub(crate) use revision::BUMP_ORG as BUMP_REVISION;
pub use series_days::{BilledDays, MeteredDays, MeteredSpend, SeriesDays};
pub use units::UnitTotals;
pub(crate) use units::{KEY_UNIT, key_unit_facts};
pub use write::RollupWrite;
pub(crate) use write::{read_dims, read_metrics};

/// The most dimensions a kind may have (columns `d0…d7` of `rollup_series`).
pub const MAX_DIMS: usize = 8;
/// The most extra metrics a kind may declare (columns `x0…x5` of `rollup_cum`).
pub const MAX_EXTRA: usize = 6;

/// The standard metric columns, in [`Metrics::to_array`] order, then the extras.
pub(crate) const METRIC_COLUMNS: [&str; 11 + MAX_EXTRA] = [
    "cost_nanos",
    "credits_nanos",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "requests",
    "requests_unknown",
    "quantity_micros",
    "lines",
    "allocated_lines",
    "x0",
    "x1",
    "x2",
    "x3",
    "x4",
    "x5",
];
const BASE_METRICS: usize = 11;
pub(crate) const DIM_COLUMNS: [&str; MAX_DIMS] = ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"];

/// How long a bucket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketSize {
    /// Day numbers (days since 1970-01-01).
    Day,
    /// Hour numbers (hours since 1970-01-01 00:00 UTC).
    Hour,
}

/// What a dimension holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimType {
    /// A stored id, possibly absent.
    Id,
    /// Text (a model name, a size, a customer id…).
    Text,
}

/// A family of series: its stored name, dimensions, bucket size and extra metrics.
#[derive(Debug)]
pub struct RollupKind {
    /// Stored in `rollup_series.kind`; never rename one that has data.
    pub name: &'static str,
    pub bucket: BucketSize,
    /// Dimension names and types, stored in `d0…` in this order.
    pub dims: &'static [(&'static str, DimType)],
    /// Names of the extra metrics, stored in `x0…` in this order (read from [`Metrics::extra`]).
    pub extra: &'static [&'static str],
}

impl RollupKind {
    /// The buckets of a range of days.
    pub fn buckets(&self, days: DayRange) -> BucketRange {
        let (from, to) = (
            i64::from(days.from().number()),
            i64::from(days.to().number()),
        );
        match self.bucket {
            BucketSize::Day => BucketRange {
                first: from,
                last: to,
            },
            BucketSize::Hour => BucketRange {
                first: from * 24,
                last: to * 24 + 23,
            },
        }
    }

    /// The metric columns this kind stores (the standard ones and its extras).
    pub(crate) fn metric_columns(&self) -> &'static [&'static str] {
        &METRIC_COLUMNS[..BASE_METRICS + self.extra.len().min(MAX_EXTRA)]
    }

    pub(crate) fn check(&self) -> StoreResult<()> {
        if self.dims.len() > MAX_DIMS || self.extra.len() > MAX_EXTRA {
            return Err(StoreError::Invalid(format!(
                "rollup kind {} declares {} dimensions and {} extra metrics; at most {MAX_DIMS} and {MAX_EXTRA} are stored",
                self.name,
                self.dims.len(),
                self.extra.len()
            )));
        }
        Ok(())
    }

    /// Checks that `key` fits this kind.
    pub(crate) fn check_key(&self, key: &SeriesKey) -> StoreResult<()> {
        let fits = key.dims.len() == self.dims.len()
            && key.dims.iter().zip(self.dims).all(|(value, (_, ty))| {
                matches!(
                    (value, ty),
                    (DimValue::Id(_), DimType::Id) | (DimValue::Text(_), DimType::Text)
                )
            });
        if fits {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "a series of rollup kind {} has dimensions {:?}, which do not match {:?}",
                self.name, key.dims, self.dims
            )))
        }
    }
}

/// An inclusive range of buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRange {
    pub first: i64,
    pub last: i64,
}

impl BucketRange {
    /// Refuses an anchor ("active before this bucket") after the range's first bucket.
    pub(crate) fn check_anchor(&self, anchor: i64) -> StoreResult<()> {
        if anchor > self.first {
            return Err(StoreError::Invalid(format!(
                "the anchor {anchor} lies after the range's first bucket {}",
                self.first
            )));
        }
        Ok(())
    }
}

/// One dimension value of a series.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DimValue {
    Id(Option<i64>),
    Text(String),
}

impl DimValue {
    /// As stored in a `d` column: ids in decimal, no id as the empty string, text as is (the
    /// kind says which, so the encoding cannot be ambiguous).
    pub(crate) fn encode(&self) -> String {
        match self {
            DimValue::Id(Some(id)) => id.to_string(),
            DimValue::Id(None) => String::new(),
            DimValue::Text(text) => text.clone(),
        }
    }

    pub(crate) fn decode(text: String, ty: DimType) -> StoreResult<DimValue> {
        match ty {
            DimType::Text => Ok(DimValue::Text(text)),
            DimType::Id if text.is_empty() => Ok(DimValue::Id(None)),
            DimType::Id => text.parse().map(|id| DimValue::Id(Some(id))).map_err(|_| {
                StoreError::Corrupt(format!("rollup dimension \"{text}\" is not an id"))
            }),
        }
    }

    /// The id, when this is an id dimension.
    pub fn id(&self) -> Option<i64> {
        match self {
            DimValue::Id(id) => *id,
            DimValue::Text(_) => None,
        }
    }

    /// The text, when this is a text dimension.
    pub fn text(&self) -> Option<&str> {
        match self {
            DimValue::Text(text) => Some(text),
            DimValue::Id(_) => None,
        }
    }
}

/// Which series: its connection (`None` for kinds fed without one; stored as 0) and dimension
/// values in the kind's order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub connection: Option<ConnectionId>,
    pub dims: Vec<DimValue>,
}

pub(crate) fn connection_column(connection: Option<ConnectionId>) -> i64 {
    connection.map_or(0, |c| c.0)
}

/// Sums of one series over some buckets: the standard totals and the kind's extras.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    pub totals: Totals,
    pub extra: [i64; MAX_EXTRA],
}

impl Metrics {
    pub(crate) fn to_array(self) -> [i64; BASE_METRICS + MAX_EXTRA] {
        let t = self.totals;
        let mut out = [0; BASE_METRICS + MAX_EXTRA];
        out[..BASE_METRICS].copy_from_slice(&[
            t.cost.nanos(),
            t.credits.nanos(),
            t.input_tokens,
            t.output_tokens,
            t.cache_read_tokens,
            t.cache_write_tokens,
            t.requests,
            t.requests_unknown,
            t.quantity.micros(),
            t.lines,
            t.allocated_lines,
        ]);
        out[BASE_METRICS..].copy_from_slice(&self.extra);
        out
    }

    pub(crate) fn from_array(a: [i64; BASE_METRICS + MAX_EXTRA]) -> Metrics {
        let mut extra = [0; MAX_EXTRA];
        extra.copy_from_slice(&a[BASE_METRICS..]);
        Metrics {
            totals: Totals {
                cost: Money::from_nanos(a[0]),
                credits: Money::from_nanos(a[1]),
                input_tokens: a[2],
                output_tokens: a[3],
                cache_read_tokens: a[4],
                cache_write_tokens: a[5],
                requests: a[6],
                requests_unknown: a[7],
                quantity: Quantity::from_micros(a[8]),
                lines: a[9],
                allocated_lines: a[10],
                // A cost kind keeps these in its extras (`cost::totals_of`).
                unpriced_lines: 0,
                unpriced_requests: 0,
            },
            extra,
        }
    }

    fn zip(self, other: Metrics, op: impl Fn(i64, i64) -> i64) -> Metrics {
        let (a, b) = (self.to_array(), other.to_array());
        Metrics::from_array(std::array::from_fn(|i| op(a[i], b[i])))
    }

    pub fn plus(self, other: Metrics) -> Metrics {
        self.zip(other, i64::wrapping_add)
    }

    pub fn minus(self, other: Metrics) -> Metrics {
        self.zip(other, i64::wrapping_sub)
    }

    pub fn is_zero(&self) -> bool {
        *self == Metrics::default()
    }
}

/// Facts of one series at one bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub series: SeriesKey,
    pub bucket: i64,
    pub metrics: Metrics,
}

/// Which series a read returns.
#[derive(Clone, Debug, Default)]
pub struct SeriesFilter {
    /// Only these connections (`None`: any).
    pub connections: Option<Vec<ConnectionId>>,
    /// Per dimension index: only these values.
    pub dims: Vec<(usize, Vec<DimValue>)>,
}

/// One series' totals over the current and previous periods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodRow {
    pub series: SeriesKey,
    pub current: Metrics,
    /// Zero when no previous period was asked for.
    pub previous: Metrics,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_round_trip_through_arrays() {
        let mut m = Metrics::default();
        m.totals.cost = Money::from_nanos(5);
        m.totals.allocated_lines = 2;
        m.extra[3] = 7;
        assert_eq!(Metrics::from_array(m.to_array()), m);
        assert_eq!(m.plus(m).minus(m), m);
        assert!(m.minus(m).is_zero());
    }

    #[test]
    fn dimension_values_decode_as_encoded() {
        for (value, ty) in [
            (DimValue::Id(None), DimType::Id),
            (DimValue::Id(Some(-3)), DimType::Id),
            (DimValue::Text(String::new()), DimType::Text),
            (DimValue::Text("12".into()), DimType::Text),
        ] {
            assert_eq!(DimValue::decode(value.encode(), ty).unwrap(), value);
        }
        assert!(DimValue::decode("x".into(), DimType::Id).is_err());
    }
}
