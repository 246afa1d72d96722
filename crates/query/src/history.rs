//! Where comparable history starts: a previous period is only compared with the current one
//! where every connection behind a row had data for all of it. Before a connection's first
//! synced day, or outside its provider's history limit, the previous period is unknown — not
//! zero — and its trend is "no comparable history" instead of a rise of thousands of percent.

use std::collections::HashMap;

use spendlens_domain::{Day, DayRange, ProviderKind};
use spendlens_store::{ConnectionId, HistoryStart};

/// Days of history a provider's API serves back from the day it is asked (OpenRouter's
/// `/activity` serves the last 30 completed UTC days; see shared/providers/openrouter.md).
/// `None`: as far back as a backfill asks.
pub fn history_limit_days(provider: ProviderKind) -> Option<i64> {
    match provider {
        ProviderKind::OpenRouter => Some(30),
        _ => None,
    }
}

/// The first day a connection's data covers: the first day its backfill covered (clipped to
/// what the provider serves back from that sync), or, for data without a recorded sync, its
/// first day with a cost line — whichever is earlier.
pub fn history_from(start: &HistoryStart, provider: ProviderKind) -> Option<Day> {
    let synced = match (start.first_window_from, start.first_sync_at) {
        (Some(from), Some(at)) => Some(match history_limit_days(provider) {
            Some(limit) => Day::of(at)
                .add_days(-limit)
                .map_or(from, |edge| from.max(edge)),
            None => from,
        }),
        (Some(from), None) => Some(from),
        _ => None,
    };
    match (synced, start.first_line_day) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Each connection's "history from" day.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    from: HashMap<ConnectionId, Option<Day>>,
}

impl Coverage {
    pub fn new(
        starts: &[HistoryStart],
        provider: impl Fn(ConnectionId) -> Option<ProviderKind>,
    ) -> Coverage {
        Coverage {
            from: starts
                .iter()
                .filter_map(|s| {
                    provider(s.connection_id).map(|p| (s.connection_id, history_from(s, p)))
                })
                .collect(),
        }
    }

    /// The latest history start among the connections (`None` when one has no data at all).
    pub fn history_from(&self, connections: impl IntoIterator<Item = ConnectionId>) -> Option<Day> {
        let mut latest: Option<Day> = None;
        for connection in connections {
            let from = self.from.get(&connection).copied().flatten()?;
            latest = Some(latest.map_or(from, |l| l.max(from)));
        }
        latest
    }

    /// Whether the connections' data covers all of `previous`.
    pub fn covers(
        &self,
        connections: impl IntoIterator<Item = ConnectionId>,
        previous: DayRange,
    ) -> bool {
        let mut any = false;
        for connection in connections {
            any = true;
            match self.from.get(&connection).copied().flatten() {
                Some(from) if from <= previous.from() => {}
                _ => return false,
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn openrouter_history_starts_thirty_days_before_its_first_sync() {
        let start = HistoryStart {
            connection_id: ConnectionId(1),
            first_window_from: Some(day("2026-08-24")),
            first_sync_at: Some(datetime!(2026-11-22 10:00 UTC)),
            first_line_day: Some(day("2026-10-25")),
        };
        assert_eq!(
            history_from(&start, ProviderKind::OpenRouter),
            Some(day("2026-10-23"))
        );
        assert_eq!(
            history_from(&start, ProviderKind::OpenAi),
            Some(day("2026-08-24"))
        );
    }

    #[test]
    fn a_previous_period_before_the_history_is_not_covered() {
        let starts = [HistoryStart {
            connection_id: ConnectionId(1),
            first_window_from: None,
            first_sync_at: None,
            first_line_day: Some(day("2026-10-01")),
        }];
        let coverage = Coverage::new(&starts, |_| Some(ProviderKind::OpenAi));
        let covered = DayRange::new(day("2026-10-01"), day("2026-10-07")).unwrap();
        let uncovered = DayRange::new(day("2026-09-30"), day("2026-10-07")).unwrap();
        assert!(coverage.covers([ConnectionId(1)], covered));
        assert!(!coverage.covers([ConnectionId(1)], uncovered));
        assert!(
            !coverage.covers([ConnectionId(2)], covered),
            "unknown connection"
        );
        assert!(!coverage.covers([], covered), "no connection, no history");
    }
}
