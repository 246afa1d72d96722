//! Which days a sync fetches, and where its watermark moves: pure functions of the
//! connection's state and today's date.
//!
//! - Never synced: the initial backfill, the last `backfill_days` days through today.
//! - Synced through day W: from the look-back's start through today, because providers keep
//!   changing recent days (costs settle, exports lag, Cost Explorer estimates): the provider's
//!   own policy (`ProviderKind::lookback`: trailing days, the open month, the previous month
//!   until it is final) or the connection's own number of days.
//! - A re-read pending (the services that count changed): from the earlier of the look-back's
//!   start and the re-read's first day, so every stored day follows the same choice.
//! - An explicit `--from/--to`: exactly that window (not in the future).

use spendlens_domain::{CalendarError, Day, DayRange, Lookback, SyncRequest, SyncTrigger};

/// The longest window one sync fetches; a longer gap is closed over several syncs.
pub const MAX_WINDOW_DAYS: i64 = 400;

/// A connection's sync state, as planning needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncState {
    pub synced_through: Option<Day>,
    pub backfill_days: i64,
    pub lookback: Lookback,
    /// A re-read asked for from this day (`connections.reread_from`).
    pub reread_from: Option<Day>,
}

/// What one sync will do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    pub window: DayRange,
    pub trigger: SyncTrigger,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the window ends on {to}, after today ({today}, UTC); providers have no data for the future"
    )]
    Future { to: Day, today: Day },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// Plans a sync. `requested` is an explicit window; `request` says who asked for it.
pub fn plan(
    state: SyncState,
    today: Day,
    requested: Option<DayRange>,
    request: SyncRequest,
) -> Result<SyncPlan, PlanError> {
    if let Some(window) = requested {
        if window.to() > today {
            return Err(PlanError::Future {
                to: window.to(),
                today,
            });
        }
        return Ok(SyncPlan {
            window,
            trigger: SyncTrigger::Manual,
        });
    }
    match state.synced_through {
        None => {
            let days = state.backfill_days.clamp(1, MAX_WINDOW_DAYS);
            Ok(SyncPlan {
                window: DayRange::new(today.add_days(1 - days)?, today)?,
                trigger: SyncTrigger::Initial,
            })
        }
        Some(through) => {
            let mut from = state.lookback.start(through, today)?;
            if let Some(reread) = state.reread_from {
                from = from.min(reread);
            }
            let from = from.max(today.add_days(1 - MAX_WINDOW_DAYS)?);
            Ok(SyncPlan {
                window: DayRange::new(from, today)?,
                trigger: match request {
                    SyncRequest::Manual => SyncTrigger::Manual,
                    SyncRequest::Scheduled => SyncTrigger::Scheduled,
                },
            })
        }
    }
}

/// The watermark after a successful sync of `window`: it moves forward only when the window
/// joins or overlaps what was already synced, so a backfill of old days leaves no gap unseen.
pub fn next_watermark(previous: Option<Day>, window: DayRange) -> Option<Day> {
    match previous {
        None => Some(window.to()),
        Some(through) => {
            let joins = window
                .from()
                .add_days(-1)
                .map(|before| before <= through)
                .unwrap_or(false);
            if joins {
                Some(through.max(window.to()))
            } else {
                Some(through)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn state(through: Option<&str>) -> SyncState {
        SyncState {
            synced_through: through.map(day),
            backfill_days: 90,
            lookback: Lookback::days(3),
            reread_from: None,
        }
    }

    #[test]
    fn a_pending_re_read_starts_the_window_at_its_day() {
        let mut state = state(Some("2026-11-21"));
        state.reread_from = Some(day("2026-09-01"));
        let plan = plan(state, day("2026-11-22"), None, SyncRequest::Scheduled).unwrap();
        assert_eq!(plan.window.from(), day("2026-09-01"));
        assert_eq!(plan.window.to(), day("2026-11-22"));
        // A re-read from within the look-back changes nothing.
        state.reread_from = Some(day("2026-11-20"));
        let plan = plan_of(state);
        assert_eq!(plan.window.from(), day("2026-11-18"));
    }

    fn plan_of(state: SyncState) -> SyncPlan {
        plan(state, day("2026-11-22"), None, SyncRequest::Scheduled).unwrap()
    }

    #[test]
    fn the_first_sync_backfills_ninety_days_through_today() {
        let plan = plan(state(None), day("2026-11-22"), None, SyncRequest::Scheduled).unwrap();
        assert_eq!(plan.trigger, SyncTrigger::Initial);
        assert_eq!(plan.window.len_days(), 90);
        assert_eq!(plan.window.from(), day("2026-08-25"));
        assert_eq!(plan.window.to(), day("2026-11-22"));
    }

    #[test]
    fn later_syncs_look_back_from_the_watermark() {
        let plan = plan(
            state(Some("2026-11-21")),
            day("2026-11-22"),
            None,
            SyncRequest::Scheduled,
        )
        .unwrap();
        assert_eq!(plan.trigger, SyncTrigger::Scheduled);
        assert_eq!(plan.window.from(), day("2026-11-18"));
        assert_eq!(plan.window.to(), day("2026-11-22"));
    }

    #[test]
    fn a_long_outage_is_caught_up_from_the_watermark() {
        let plan = plan(
            state(Some("2026-10-01")),
            day("2026-11-22"),
            None,
            SyncRequest::Manual,
        )
        .unwrap();
        assert_eq!(plan.trigger, SyncTrigger::Manual);
        assert_eq!(plan.window.from(), day("2026-09-28"));
    }

    #[test]
    fn an_explicit_window_is_taken_as_is_but_not_in_the_future() {
        let window = DayRange::new(day("2026-01-01"), day("2026-01-31")).unwrap();
        let planned = plan(
            state(Some("2026-11-21")),
            day("2026-11-22"),
            Some(window),
            SyncRequest::Scheduled,
        )
        .unwrap();
        assert_eq!(planned.window, window);
        let future = DayRange::new(day("2026-11-20"), day("2026-11-30")).unwrap();
        let err = plan(
            state(None),
            day("2026-11-22"),
            Some(future),
            SyncRequest::Manual,
        )
        .unwrap_err();
        assert!(err.to_string().contains("future"), "{err}");
    }

    #[test]
    fn each_provider_looks_back_as_its_document_asks() {
        let with = |provider: spendlens_domain::ProviderKind, today: &str| {
            let state = SyncState {
                synced_through: Some(day(today).add_days(-1).unwrap()),
                backfill_days: 90,
                lookback: provider.lookback(),
                reread_from: None,
            };
            plan(state, day(today), None, SyncRequest::Scheduled)
                .unwrap()
                .window
        };
        use spendlens_domain::ProviderKind::{Bedrock, Fal, OpenAi, Vertex};
        // Vertex mid-month: the open invoice month; on the 4th, the previous month too.
        assert_eq!(with(Vertex, "2026-11-22").from(), day("2026-11-01"));
        assert_eq!(with(Vertex, "2026-12-04").from(), day("2026-11-01"));
        // AWS on the 6th: the previous month is final, the open month is not.
        assert_eq!(with(Bedrock, "2026-12-06").from(), day("2026-12-01"));
        // OpenAI: three days, and the previous month through the 3rd.
        assert_eq!(with(OpenAi, "2026-11-22").from(), day("2026-11-18"));
        assert_eq!(with(OpenAi, "2026-12-02").from(), day("2026-11-01"));
        // fal.ai: two days.
        assert_eq!(with(Fal, "2026-12-02").from(), day("2026-11-29"));
    }

    #[test]
    fn watermarks_never_jump_over_a_gap() {
        let old = DayRange::new(day("2026-01-01"), day("2026-01-31")).unwrap();
        assert_eq!(
            next_watermark(Some(day("2026-11-21")), old),
            Some(day("2026-11-21"))
        );
        let recent = DayRange::new(day("2026-11-18"), day("2026-11-22")).unwrap();
        assert_eq!(
            next_watermark(Some(day("2026-11-21")), recent),
            Some(day("2026-11-22"))
        );
        let gap = DayRange::new(day("2026-11-23"), day("2026-11-24")).unwrap();
        assert_eq!(
            next_watermark(Some(day("2026-11-21")), gap),
            Some(day("2026-11-21"))
        );
        assert_eq!(next_watermark(None, recent), Some(day("2026-11-22")));
    }
}
