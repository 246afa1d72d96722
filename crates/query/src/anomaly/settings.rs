//! How anomalies are detected: the global threshold, the smallest day tested, the baseline
//! weeks, and thresholds of single scopes; parsed from a request's or a command's options with
//! a message per bad value.

use rust_decimal::Decimal;
use serde::Serialize;
use spendlens_domain::Money;

use crate::QueryError;
use crate::spend_days::ScopeKind;

/// A threshold for one scope, beating the global one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThresholdOverride {
    pub scope: ScopeKind,
    pub id: String,
    pub threshold_pct: Decimal,
}

/// How anomalies are detected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnomalySettings {
    /// |deviation| at or above this percentage is an anomaly.
    pub threshold_pct: Decimal,
    /// Days below this on both sides (current and baseline) are not tested: noise.
    pub min_daily: Money,
    /// Baseline weeks (the same weekday, 1…weeks weeks back).
    pub weeks: i64,
    pub overrides: Vec<ThresholdOverride>,
}

impl Default for AnomalySettings {
    fn default() -> AnomalySettings {
        AnomalySettings {
            threshold_pct: Decimal::from(DEFAULT_THRESHOLD_PCT),
            min_daily: Money::from_nanos(1_000_000_000),
            weeks: 4,
            overrides: Vec::new(),
        }
    }
}

impl AnomalySettings {
    /// The threshold for a scope, and whether it is the scope's own.
    pub fn threshold_for(&self, scope: ScopeKind, id: &str) -> (Decimal, &'static str) {
        match self
            .overrides
            .iter()
            .find(|o| o.scope == scope && o.id == id)
        {
            Some(o) => (o.threshold_pct, "scope"),
            None => (self.threshold_pct, "global"),
        }
    }
}

/// The global threshold, in percent, until an organization stores its own.
pub const DEFAULT_THRESHOLD_PCT: i64 = 50;

/// The highest threshold accepted, in percent.
pub const MAX_THRESHOLD_PCT: i64 = 100_000;

/// A threshold in percent: a number above 0 and at most [`MAX_THRESHOLD_PCT`].
pub fn parse_threshold(text: &str) -> Result<Decimal, QueryError> {
    let value = spendlens_domain::money::parse_decimal(text.trim().trim_end_matches('%')).map_err(
        |_| {
            QueryError::Invalid(format!(
                "threshold must be a percentage such as 50, not \"{text}\""
            ))
        },
    )?;
    if value <= Decimal::ZERO || value > Decimal::from(MAX_THRESHOLD_PCT) {
        return Err(QueryError::Invalid(format!(
            "threshold must be above 0 and at most {MAX_THRESHOLD_PCT} %, not {text}"
        )));
    }
    Ok(value.normalize())
}

impl AnomalySettings {
    /// These settings with a request's options applied: `threshold` (percent), `min_daily`
    /// (USD), `weeks` (1–8).
    pub fn with_options(
        mut self,
        threshold: Option<&str>,
        min_daily: Option<&str>,
        weeks: Option<&str>,
    ) -> Result<AnomalySettings, QueryError> {
        if let Some(text) = threshold.filter(|t| !t.trim().is_empty()) {
            self.threshold_pct = parse_threshold(text)?;
        }
        if let Some(text) = min_daily.filter(|t| !t.trim().is_empty()) {
            let money = Money::parse_units(text.trim()).map_err(|_| {
                QueryError::Invalid(format!(
                    "min_daily must be an amount in USD such as 1.00, not \"{text}\""
                ))
            })?;
            if money.is_negative() {
                return Err(QueryError::Invalid(format!(
                    "min_daily cannot be negative: {text}"
                )));
            }
            self.min_daily = money;
        }
        if let Some(text) = weeks.filter(|t| !t.trim().is_empty()) {
            self.weeks = text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|w| (1..=8).contains(w))
                .ok_or_else(|| {
                    QueryError::Invalid(format!(
                        "weeks must be a whole number from 1 to 8, not \"{text}\""
                    ))
                })?;
        }
        Ok(self)
    }
}

/// The organization's stored settings: its global threshold (50 % until one is set) and its
/// scopes' own thresholds.
pub async fn load(
    store: &spendlens_store::Store,
    org: spendlens_store::OrgId,
) -> Result<AnomalySettings, QueryError> {
    let mut settings = AnomalySettings::default();
    for row in store.anomaly_thresholds(org).await? {
        let Ok(pct) = parse_threshold(&row.threshold_pct) else {
            tracing::warn!(scope = %row.scope_kind, id = %row.scope_id, value = %row.threshold_pct, "stored anomaly threshold is not a percentage; ignored");
            continue;
        };
        match ScopeKind::parse(&row.scope_kind) {
            Some(scope) => settings.overrides.push(ThresholdOverride {
                scope,
                id: row.scope_id,
                threshold_pct: pct,
            }),
            None => settings.threshold_pct = pct,
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_with_a_message_each() {
        let s = AnomalySettings::default()
            .with_options(Some("25%"), Some("0.5"), Some("3"))
            .unwrap();
        assert_eq!(s.threshold_pct, Decimal::from(25));
        assert_eq!(s.min_daily, Money::parse_units("0.5").unwrap());
        assert_eq!(s.weeks, 3);
        for (t, m, w) in [
            (Some("0"), None, None),
            (Some("abc"), None, None),
            (None, Some("-1"), None),
            (None, None, Some("9")),
        ] {
            assert!(AnomalySettings::default().with_options(t, m, w).is_err());
        }
    }
}
