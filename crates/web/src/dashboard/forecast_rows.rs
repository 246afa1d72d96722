//! Forecasts, credit balances and anomalies as the dashboard shows them: cards and table rows
//! with money in dollars and cents, `N/A` with its reason, trend and direction classes.

use spendlens_domain::Money;
use spendlens_query::anomaly::{Anomaly, AnomalyReport};
use spendlens_query::forecast::credits::CreditBalance;
use spendlens_query::forecast::math::{Direction, ForecastStatus};
use spendlens_query::forecast::{ForecastReport, ScopeForecast};
use spendlens_query::spend_days::ScopeKind;

use crate::dashboard::cost::label_money;
use crate::dashboard::format;

pub struct Card {
    pub label: String,
    pub value: String,
    pub sub: String,
    pub class: &'static str,
}

pub struct ForecastRow {
    pub scope: &'static str,
    pub name: String,
    pub source: &'static str,
    pub ok: bool,
    pub complete_through: String,
    pub daily_rate: String,
    pub month_to_date: String,
    pub projected: String,
    pub next_7_days: String,
    pub trend: String,
    pub trend_class: &'static str,
    pub note: String,
}

pub struct CreditRow {
    pub connection: String,
    pub provider: &'static str,
    pub balance: String,
    pub as_of: String,
    pub daily_rate: String,
    pub exhausted_on: String,
    pub credits_applied: String,
    pub missing: String,
}

pub struct DriverRow {
    pub label: String,
    pub baseline: String,
    pub current: String,
    pub change: String,
    pub price: String,
}

pub struct AnomalyRow {
    pub scope: &'static str,
    pub name: String,
    pub model: String,
    pub day: String,
    pub current: String,
    pub baseline: String,
    pub deviation: String,
    pub direction: &'static str,
    pub direction_class: &'static str,
    pub threshold: String,
    pub detected: String,
    pub volume: String,
    pub price: String,
    pub mix: String,
    pub volume_text: String,
    pub drivers: Vec<DriverRow>,
    pub others: String,
}

fn opt_money(value: Option<Money>) -> String {
    value.map_or_else(|| "N/A".to_owned(), format::money)
}

/// A signed amount: `+$1.20`, `-$0.40`.
pub fn signed(value: Money) -> String {
    if value.is_negative() {
        format!("-{}", label_money(value.abs()))
    } else {
        format!("+{}", label_money(value))
    }
}

fn trend(f: &ScopeForecast) -> (String, &'static str) {
    let pct = f
        .forecast
        .trend_pct
        .map(|p| format!(" ({}{p} %)", if p.is_sign_positive() { "+" } else { "" }))
        .unwrap_or_default();
    match f.forecast.trend {
        Direction::Increasing => (format!("↑ increasing{pct}"), "up"),
        Direction::Decreasing => (format!("↓ decreasing{pct}"), "down"),
        Direction::Stable => (format!("→ stable{pct}"), ""),
        Direction::NoHistory => ("no comparable history".to_owned(), "na"),
    }
}

pub fn forecast_row(f: &ScopeForecast) -> ForecastRow {
    let ok = f.forecast.status == ForecastStatus::Ok;
    let (trend, trend_class) = trend(f);
    ForecastRow {
        scope: f.scope.as_str(),
        name: f.label.clone(),
        source: match f.source {
            spendlens_query::spend_days::Source::Billed => "billed",
            spendlens_query::spend_days::Source::Metered => "metered",
        },
        ok,
        complete_through: f
            .forecast
            .complete_through
            .map_or_else(|| "N/A".to_owned(), |d| d.to_string()),
        daily_rate: opt_money(f.forecast.daily_rate),
        month_to_date: format::money(f.forecast.month_to_date),
        projected: opt_money(f.forecast.projected_month_end),
        next_7_days: opt_money(f.forecast.next_7_days),
        trend: if ok { trend } else { "N/A".to_owned() },
        trend_class: if ok { trend_class } else { "na" },
        note: match &f.forecast.reason {
            Some(reason) => format!("N/A: {reason}"),
            None if !f.forecast.incomplete_recorded.is_zero() => format!(
                "{} recorded so far on days not final yet (projected instead)",
                format::money(f.forecast.incomplete_recorded)
            ),
            None => String::new(),
        },
    }
}

pub fn credit_row(c: &CreditBalance) -> CreditRow {
    CreditRow {
        connection: c.connection.clone(),
        provider: c.provider_name,
        balance: opt_money(c.balance),
        as_of: c
            .as_of
            .map_or_else(|| "N/A".to_owned(), |t| format::instant(Some(t))),
        daily_rate: opt_money(c.daily_rate),
        exhausted_on: match (c.exhausted_on, c.days_left) {
            (Some(day), Some(days)) => format!("{day} (in {days} days, estimated)"),
            _ => "N/A".to_owned(),
        },
        credits_applied: format::money(c.credits_applied),
        missing: c.missing.clone().unwrap_or_default(),
    }
}

pub fn anomaly_row(a: &Anomaly) -> AnomalyRow {
    AnomalyRow {
        scope: a.scope.as_str(),
        name: a.label.clone(),
        model: a.model.clone().unwrap_or_else(|| "N/A".to_owned()),
        day: format!("{} ({})", a.day, a.weekday),
        current: label_money(a.current_daily),
        baseline: label_money(a.baseline_daily),
        deviation: a.deviation_pct.map_or_else(
            || "new (no baseline spend)".to_owned(),
            |p| format!("{}{p} %", if p.is_sign_positive() { "+" } else { "" }),
        ),
        direction: a.direction,
        direction_class: if a.direction == "drop" { "down" } else { "up" },
        threshold: format!("{} % ({})", a.threshold_pct, a.threshold_source),
        detected: format::instant(Some(a.detected_at)),
        volume: signed(a.volume),
        price: signed(a.price),
        mix: signed(a.mix),
        volume_text: format!(
            "{} {} vs {} a day before",
            format::count(a.current_volume),
            a.volume_unit,
            a.baseline_volume
        ),
        drivers: a
            .drivers
            .iter()
            .map(|d| DriverRow {
                label: d.label.clone(),
                baseline: label_money(d.baseline),
                current: label_money(d.current),
                change: signed(d.change),
                price: signed(d.price),
            })
            .collect(),
        others: if a.other_drivers > 0 {
            format!("and {} more", a.other_drivers)
        } else {
            String::new()
        },
    }
}

/// The cards: the organization's projected month, then each provider's.
pub fn cards(report: &ForecastReport, providers: usize) -> Vec<Card> {
    let mut out = Vec::new();
    match &report.total {
        Some(t) => {
            out.push(Card {
                label: "Projected month-end spend".to_owned(),
                value: format::money(t.projected_month_end),
                sub: format!(
                    "estimate · {} spent on complete days{}",
                    format::money(t.month_to_date),
                    if t.left_out.is_empty() {
                        String::new()
                    } else {
                        format!(" · without {} (N/A)", t.left_out.join(", "))
                    }
                ),
                class: "",
            });
            out.push(Card {
                label: "Daily rate".to_owned(),
                value: format::money(t.daily_rate),
                sub: format!(
                    "trailing 7 complete days · next 7 days ≈ {}",
                    format::money(t.next_7_days)
                ),
                class: "",
            });
        }
        None => out.push(Card {
            label: "Projected month-end spend".to_owned(),
            value: "N/A".to_owned(),
            sub: "needs 7 complete days of billed history".to_owned(),
            class: "na",
        }),
    }
    for f in report.of(ScopeKind::Provider).take(providers) {
        let row = forecast_row(f);
        out.push(Card {
            label: format!("{} · month end", f.label),
            value: row.projected.clone(),
            sub: if row.ok {
                format!("{} a day · {}", row.daily_rate, row.trend)
            } else {
                row.note
            },
            class: row.trend_class,
        });
    }
    out
}

/// The anomaly rows, largest change first, at most `limit`.
pub fn anomaly_rows(report: &AnomalyReport, limit: usize) -> Vec<AnomalyRow> {
    report
        .anomalies
        .iter()
        .take(limit)
        .map(anomaly_row)
        .collect()
}
