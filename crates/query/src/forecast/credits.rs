//! Credit balances and when they run out. Prepaid balances (fal.ai, Runway, OpenRouter, PiAPI)
//! are what each connector read at sync time and wrote in its notes ("… balance at sync time:
//! $24.50 …"); the day one runs out is that balance over the connection's trailing 7-day daily
//! rate. Cloud credits (AWS, Google Cloud, Azure) are applied on the bill, but their billing
//! APIs do not report what remains: the credits applied are shown and the gap is said.

use serde::Serialize;
use spendlens_domain::{Day, Money, ProviderKind};
use time::OffsetDateTime;

use super::math::{ForecastInput, ForecastStatus, forecast};
use crate::spend_days::{ScopeKind, SpendDays};

/// One connection's credit: a prepaid balance or cloud credits applied.
#[derive(Clone, Debug, Serialize)]
pub struct CreditBalance {
    pub connection: String,
    pub provider: ProviderKind,
    pub provider_name: &'static str,
    /// `prepaid_balance` or `cloud_credits`.
    pub kind: &'static str,
    /// What was left when the connection last synced.
    pub balance: Option<Money>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub as_of: Option<OffsetDateTime>,
    /// The connection's spend per day over its trailing 7 complete days.
    pub daily_rate: Option<Money>,
    /// The day the balance runs out at that rate (an estimate).
    pub exhausted_on: Option<Day>,
    pub days_left: Option<i64>,
    /// Credits applied on the bill over the days read.
    pub credits_applied: Money,
    /// What the data lacks for a projection, in words.
    pub missing: Option<String>,
    pub estimated: bool,
}

/// The first dollar amount after "balance at sync time" in a connection's notes.
pub fn balance_in_notes(notes: &str) -> Option<Money> {
    notes.lines().find_map(|line| {
        let at = line.find("balance at sync time")?;
        let rest = &line[at..];
        let dollar = rest.find('$')?;
        let number: String = rest[dollar + 1..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect();
        Money::parse_units(number.trim_end_matches('.')).ok()
    })
}

fn is_cloud(provider: ProviderKind) -> bool {
    matches!(
        provider,
        ProviderKind::Bedrock | ProviderKind::Vertex | ProviderKind::AzureOpenAi
    )
}

/// Every connection's credit (see the module docs), by connection name.
pub fn balances(data: &SpendDays) -> Vec<CreditBalance> {
    let mut ids: Vec<_> = data.connections.keys().copied().collect();
    ids.sort_unstable();
    let mut out = Vec::new();
    for id in ids {
        let Some(facts) = data.connections.get(&id) else {
            continue;
        };
        let row = &facts.row;
        let balance = row.notes.as_deref().and_then(balance_in_notes);
        if balance.is_none() && !is_cloud(row.provider) {
            continue;
        }
        let cells: Vec<_> = data
            .cells
            .iter()
            .filter(|c| c.connection == Some(id))
            .collect();
        let credits_applied: Money = cells.iter().map(|c| c.credits).sum();
        let scope = crate::spend_days::Scope {
            kind: ScopeKind::Provider,
            id: row.name.clone(),
            label: row.name.clone(),
            cells,
            complete_through: facts.complete_through,
            history_from: facts.history_from,
            data_at: row.last_success_at,
        };
        let f = forecast(&ForecastInput {
            today: Some(data.today),
            complete_through: scope.complete_through,
            history_from: scope.history_from,
            daily: scope.daily(),
        });
        let daily_rate = (f.status == ForecastStatus::Ok)
            .then_some(f.daily_rate)
            .flatten();
        let mut entry = CreditBalance {
            connection: row.name.clone(),
            provider: row.provider,
            provider_name: row.provider.display_name(),
            kind: if balance.is_some() {
                "prepaid_balance"
            } else {
                "cloud_credits"
            },
            balance,
            as_of: balance.and(row.last_success_at),
            daily_rate,
            exhausted_on: None,
            days_left: None,
            credits_applied,
            missing: None,
            estimated: true,
        };
        match (balance, daily_rate, row.last_success_at) {
            (None, _, _) => {
                entry.missing = Some(format!(
                    "{}'s billing data reports the credits applied but not the credit balance \
                     left, so no exhaustion date can be projected",
                    row.provider.display_name()
                ));
            }
            (Some(_), None, _) => {
                entry.missing = Some(format!(
                    "no daily rate: {}",
                    f.reason.unwrap_or_else(|| "no complete day yet".to_owned())
                ));
            }
            (Some(left), Some(rate), Some(at)) if rate.nanos() > 0 => {
                // Whole days the balance lasts from the day it was read, rounded down.
                let days = left.nanos().max(0) / rate.nanos();
                entry.days_left = Some(days);
                entry.exhausted_on = Day::of(at).add_days(days).ok();
            }
            (Some(_), Some(_), Some(_)) => {
                entry.missing = Some(
                    "no spend in the last 7 complete days: it does not run out at this rate"
                        .to_owned(),
                );
            }
            (Some(_), Some(_), None) => {
                entry.missing = Some("the balance has no sync time".to_owned());
            }
        }
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connectors_balance_note_reads_as_dollars() {
        let usd = |t: &str| Some(Money::parse_units(t).unwrap());
        assert_eq!(
            balance_in_notes("x\nfal.ai prepaid credit balance at sync time: $24.50 USD. This is"),
            usd("24.5")
        );
        assert_eq!(
            balance_in_notes("Runway credit balance at sync time: 5000 credits ($50.00)."),
            usd("50")
        );
        assert_eq!(
            balance_in_notes(
                "OpenRouter credit balance at sync time: $12.3 ($20 bought, $7.7 used)."
            ),
            usd("12.3")
        );
        assert_eq!(
            balance_in_notes("PiAPI balance at sync time (equivalent_in_usd): $5.2 (3 credit-pack"),
            usd("5.2")
        );
        assert_eq!(
            balance_in_notes("Runway reports usage per organization"),
            None
        );
    }
}
