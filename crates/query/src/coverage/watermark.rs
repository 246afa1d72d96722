//! Where a connection's bill is final: the "complete through" day coverage compares up to.
//! Pure: the sync watermark and the last successful sync's day are parameters.

use spendlens_domain::{Day, DayRange, ProviderKind};

/// Days after a day ends before the provider's billing data for it is final (documented
/// delays: the BigQuery billing export lags 24–48 h, Cost Explorer estimates for a day or
/// more, Azure's cost data a day; the others close a day when it ends).
pub fn final_delay_days(provider: ProviderKind) -> i64 {
    match provider {
        ProviderKind::Vertex | ProviderKind::Bedrock => 2,
        ProviderKind::AzureOpenAi => 1,
        _ => 0,
    }
}

/// The last day a connection's bill is complete for: its sync watermark, but never a day
/// that had not ended (plus the provider's delay) when the last successful sync ran.
/// `None` when it has never synced.
pub fn complete_through(
    provider: ProviderKind,
    synced_through: Option<Day>,
    last_success_day: Option<Day>,
) -> Option<Day> {
    let synced = synced_through?;
    let final_edge = last_success_day?
        .add_days(-1 - final_delay_days(provider))
        .ok()?;
    Some(synced.min(final_edge))
}

/// The period split at `complete_through`: the days the bill can be compared on, and the
/// days after (lag). Without a "complete through" day, every day is lag.
pub fn split_period(
    period: DayRange,
    complete_through: Option<Day>,
) -> (Option<DayRange>, Option<DayRange>) {
    let Some(through) = complete_through else {
        return (None, Some(period));
    };
    if through >= period.to() {
        return (Some(period), None);
    }
    if through < period.from() {
        return (None, Some(period));
    }
    let comparable = DayRange::new(period.from(), through).ok();
    let lag = through
        .add_days(1)
        .ok()
        .and_then(|from| DayRange::new(from, period.to()).ok());
    (comparable, lag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn today_is_never_complete_and_slow_exports_wait_longer() {
        let synced = Some(day("2026-12-05"));
        let ran = Some(day("2026-12-05"));
        assert_eq!(
            complete_through(ProviderKind::OpenAi, synced, ran),
            Some(day("2026-12-04"))
        );
        assert_eq!(
            complete_through(ProviderKind::Vertex, synced, ran),
            Some(day("2026-12-02"))
        );
        assert_eq!(
            complete_through(ProviderKind::OpenAi, Some(day("2026-12-01")), ran),
            Some(day("2026-12-01"))
        );
        assert_eq!(complete_through(ProviderKind::OpenAi, None, ran), None);
    }

    #[test]
    fn a_period_splits_at_the_complete_through_day() {
        let period = DayRange::new(day("2026-11-01"), day("2026-11-30")).unwrap();
        let (c, l) = split_period(period, Some(day("2026-11-28")));
        assert_eq!(c, DayRange::new(day("2026-11-01"), day("2026-11-28")).ok());
        assert_eq!(l, DayRange::new(day("2026-11-29"), day("2026-11-30")).ok());
        assert_eq!(
            split_period(period, Some(day("2026-12-28"))),
            (Some(period), None)
        );
        assert_eq!(
            split_period(period, Some(day("2026-10-28"))),
            (None, Some(period))
        );
        assert_eq!(split_period(period, None), (None, Some(period)));
    }
}
