//! Pure assembly of a chargeback report from what was read: rows grouped per section, each
//! money column rounded to cents that add up to its total (largest remainders).

use std::collections::{BTreeMap, HashMap};

use spendlens_domain::display::cents_adding_up;
use spendlens_domain::{Day, Money};
use spendlens_store::meter_extra;
use time::OffsetDateTime;

use super::{
    Amount, AnomalyRow, AnomalySection, Basis, ChargeRow, ChargeSection, ChargeTotal,
    ChargebackReport, ChargebackRequest, ChargebackScope, ForecastRow, ForecastSection, Loaded,
    in_scope,
};
use crate::coverage::mask;
use crate::forecast::math::ForecastStatus;

/// A row being summed.
#[derive(Clone, Debug, Default)]
struct Acc {
    label: String,
    detail: String,
    allocated: bool,
    cost: Money,
    credits: Money,
    tokens: i64,
    requests: i64,
    requests_unknown: bool,
    unpriced: i64,
}

impl Acc {
    fn add(&mut self, f: &Fact) {
        self.cost += f.cost;
        self.credits += f.credits;
        self.tokens = self.tokens.saturating_add(f.tokens);
        self.requests = self.requests.saturating_add(f.requests);
        self.requests_unknown |= f.requests_unknown;
        self.unpriced = self.unpriced.saturating_add(f.unpriced);
        self.allocated |= f.allocated;
    }
}

/// One cell-day of spend, billed or metered, with the names of its groupings.
#[derive(Clone, Debug)]
struct Fact {
    day: Day,
    customer: String,
    key: (String, String),
    model: (String, String),
    provider: String,
    cost: Money,
    credits: Money,
    tokens: i64,
    requests: i64,
    requests_unknown: bool,
    unpriced: i64,
    allocated: bool,
}

fn billed_facts(request: &ChargebackRequest, loaded: &Loaded) -> Vec<Fact> {
    let providers: HashMap<i64, String> = loaded
        .connections
        .iter()
        .map(|c| (c.id.0, c.provider.display_name().to_owned()))
        .collect();
    let workspaces: HashMap<i64, &str> = loaded
        .workspaces
        .iter()
        .map(|w| (w.id.0, w.display_name.as_str()))
        .collect();
    let keys: HashMap<i64, &spendlens_store::ApiKeyRow> =
        loaded.keys.iter().map(|k| (k.id.0, k)).collect();
    let mut out = Vec::new();
    for cell in &loaded.billed {
        let workspace = cell
            .workspace_id
            .and_then(|w| workspaces.get(&w.0).copied());
        if let ChargebackScope::Workspace(name) = &request.scope
            && workspace != Some(name.as_str())
        {
            continue;
        }
        let provider = providers
            .get(&cell.connection_id.0)
            .cloned()
            .unwrap_or_else(|| format!("connection {}", cell.connection_id.0));
        let key = match cell.api_key_id.and_then(|id| keys.get(&id.0)) {
            Some(k) => {
                let name = k.name.clone().unwrap_or_else(|| k.provider_id.clone());
                let label = match &k.hint {
                    Some(hint) if *hint != name => format!("{name} ({hint})"),
                    _ => name,
                };
                (format!("k{}", k.id.0), label)
            }
            None => (
                format!("none-{provider}"),
                "(spend no key carries)".to_owned(),
            ),
        };
        let key_detail = match workspace {
            Some(w) => format!("{provider} · {w}"),
            None => provider.clone(),
        };
        for (day, t) in &cell.days {
            out.push(Fact {
                day: *day,
                customer: String::new(),
                key: (key.0.clone(), format!("{}\u{1f}{key_detail}", key.1)),
                model: (
                    format!("{provider}/{}", cell.model),
                    format!("{}\u{1f}{provider}", cell.model),
                ),
                provider: provider.clone(),
                cost: t.cost,
                credits: t.credits,
                tokens: t.total_tokens(),
                requests: t.requests,
                requests_unknown: t.requests_unknown > 0,
                unpriced: 0,
                allocated: t.allocated_lines > 0,
            });
        }
    }
    out
}

fn metered_facts(request: &ChargebackRequest, loaded: &Loaded) -> Vec<Fact> {
    let mut out = Vec::new();
    for cell in &loaded.metered {
        if let ChargebackScope::Customer(c) = &request.scope
            && &cell.customer != c
        {
            continue;
        }
        let provider = cell
            .provider
            .parse::<spendlens_domain::ProviderKind>()
            .map_or_else(|_| cell.provider.clone(), |p| p.display_name().to_owned());
        let key_label = if cell.api_key.is_empty() {
            "(no key)".to_owned()
        } else {
            mask(&cell.api_key)
        };
        for (day, m) in &cell.days {
            let t = m.totals;
            out.push(Fact {
                day: *day,
                customer: cell.customer.clone(),
                key: (
                    format!("{provider}/{}", cell.api_key),
                    format!("{key_label}\u{1f}{provider}"),
                ),
                model: (
                    format!("{provider}/{}", cell.model),
                    format!("{}\u{1f}{provider}", cell.model),
                ),
                provider: provider.clone(),
                cost: t.cost,
                credits: Money::ZERO,
                tokens: t
                    .input_tokens
                    .saturating_add(t.cache_read_tokens)
                    .saturating_add(t.cache_write_tokens)
                    .saturating_add(t.output_tokens),
                requests: t.requests,
                requests_unknown: false,
                unpriced: m.extra[meter_extra::UNPRICED],
                allocated: false,
            });
        }
    }
    out
}

/// Groups facts by `key_of` (id, "label\x1fdetail") into rows, largest net first or (days)
/// in order. Only API key rows can be `allocated`: provider, model and day totals are the bill.
#[expect(
    clippy::too_many_arguments,
    reason = "one call per section, each argument named there"
)]
fn section(
    id: &'static str,
    title: &'static str,
    note: String,
    basis: Basis,
    facts: &[Fact],
    key_of: impl Fn(&Fact) -> (String, String),
    by_cost: bool,
    allocation: bool,
) -> ChargeSection {
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    for f in facts {
        let (key, label) = key_of(f);
        let acc = groups.entry(key).or_insert_with(|| {
            let (label, detail) = label.split_once('\u{1f}').unwrap_or((&label, ""));
            Acc {
                label: label.to_owned(),
                detail: detail.to_owned(),
                ..Acc::default()
            }
        });
        acc.add(f);
    }
    let mut accs: Vec<Acc> = groups.into_values().collect();
    if by_cost {
        accs.sort_by(|a, b| {
            (b.cost - b.credits)
                .cmp(&(a.cost - a.credits))
                .then_with(|| a.label.cmp(&b.label))
                .then_with(|| a.detail.cmp(&b.detail))
        });
    }
    if !allocation {
        for acc in &mut accs {
            acc.allocated = false;
        }
    }
    finish(id, title, note, basis, accs)
}

fn column(accs: &[Acc], f: impl Fn(&Acc) -> Money) -> (Vec<Amount>, Amount) {
    let exact: Vec<Money> = accs.iter().map(f).collect();
    let total: Money = exact.iter().sum();
    let cents = cents_adding_up(&exact, total);
    let rows = exact
        .iter()
        .zip(&cents)
        .map(|(e, c)| Amount {
            exact: *e,
            shown: *c,
        })
        .collect();
    (
        rows,
        Amount {
            exact: total,
            shown: cents.iter().sum(),
        },
    )
}

fn finish(
    id: &'static str,
    title: &'static str,
    note: String,
    basis: Basis,
    accs: Vec<Acc>,
) -> ChargeSection {
    let (cost, cost_total) = column(&accs, |a| a.cost);
    let (credits, credits_total) = column(&accs, |a| a.credits);
    let (net, net_total) = column(&accs, |a| a.cost - a.credits);
    let requests_known = accs.iter().all(|a| !a.requests_unknown);
    let total = ChargeTotal {
        cost: cost_total,
        credits: credits_total,
        net: net_total,
        tokens: accs.iter().map(|a| a.tokens).fold(0, i64::saturating_add),
        requests: requests_known
            .then(|| accs.iter().map(|a| a.requests).fold(0, i64::saturating_add)),
        unpriced_calls: accs.iter().map(|a| a.unpriced).sum(),
    };
    let rows = accs
        .into_iter()
        .enumerate()
        .map(|(i, a)| ChargeRow {
            basis: if a.allocated && basis == Basis::Billed {
                Basis::Allocated
            } else {
                basis
            },
            cost: cost[i],
            credits: credits[i],
            net: net[i],
            tokens: a.tokens,
            requests: (!a.requests_unknown).then_some(a.requests),
            unpriced_calls: a.unpriced,
            label: a.label,
            detail: a.detail,
        })
        .collect();
    ChargeSection {
        id,
        title,
        note,
        rows,
        total,
    }
}

fn forecasts(request: &ChargebackRequest, loaded: &Loaded) -> ForecastSection {
    let rows = loaded
        .forecasts
        .iter()
        .filter(|f| in_scope(&request.scope, f.scope, &f.id))
        .map(|f| ForecastRow {
            scope: f.scope.as_str(),
            label: f.label.clone(),
            basis: match f.source {
                crate::spend_days::Source::Billed => Basis::Billed,
                crate::spend_days::Source::Metered => Basis::Metered,
            },
            status: match f.forecast.status {
                ForecastStatus::Ok => "ok".to_owned(),
                _ => f
                    .forecast
                    .reason
                    .clone()
                    .unwrap_or_else(|| "N/A".to_owned()),
            },
            month_to_date: Amount::alone(f.forecast.month_to_date),
            projected_month_end: f.forecast.projected_month_end.map(Amount::alone),
            next_7_days: f.forecast.next_7_days.map(Amount::alone),
            trend: match f.forecast.trend_pct {
                Some(pct) => format!("{:?} {pct} %", f.forecast.trend).to_lowercase(),
                None => format!("{:?}", f.forecast.trend).to_lowercase(),
            },
        })
        .collect();
    ForecastSection {
        note: "As of generation, not of the period: month to date over the complete days plus \
               the trailing 7 complete days' daily rate for the days left (estimates; N/A where \
               history is short)."
            .to_owned(),
        rows,
    }
}

fn anomalies(request: &ChargebackRequest, loaded: &Loaded) -> AnomalySection {
    let rows = loaded
        .anomalies
        .iter()
        .filter(|a| match &request.scope {
            ChargebackScope::All => true,
            scope => in_scope(scope, a.scope, &a.id),
        })
        .map(|a| AnomalyRow {
            scope: a.scope.as_str(),
            label: a.label.clone(),
            basis: match a.source {
                crate::spend_days::Source::Billed => Basis::Billed,
                crate::spend_days::Source::Metered => Basis::Metered,
            },
            day: a.day,
            direction: a.direction,
            current_daily: Amount::alone(a.current_daily),
            baseline_daily: Amount::alone(a.baseline_daily),
            change: Amount::alone(a.change),
            deviation_pct: a.deviation_pct.map(|p| format!("{}", p.round_dp(1))),
        })
        .collect();
    AnomalySection {
        note: "As of generation: each scope's last complete day against the same weekday of \
               the trailing weeks (the thresholds set under Forecasts and anomalies)."
            .to_owned(),
        rows,
    }
}

/// The report, from what [`super::load`] read.
pub fn build(
    request: &ChargebackRequest,
    loaded: &Loaded,
    now: OffsetDateTime,
) -> ChargebackReport {
    let metered = metered_facts(request, loaded);
    let billed = billed_facts(request, loaded);
    let customer_note = match &request.scope {
        ChargebackScope::Workspace(_) => {
            "Customers are known only on metered calls, which carry no workspace: this \
             section is empty for a workspace report."
                .to_owned()
        }
        _ => "Metered calls per customer (the attribution applications send); net = cost, \
              metered calls carry no credits. Unpriced calls are counted apart, never as $0."
            .to_owned(),
    };
    let customer_facts: &[Fact] = match request.scope {
        ChargebackScope::Workspace(_) => &[],
        _ => &metered,
    };
    let customers = section(
        "customers",
        "Customer summary",
        customer_note,
        Basis::Metered,
        customer_facts,
        |f| {
            let name = if f.customer.is_empty() {
                "(no customer)".to_owned()
            } else {
                f.customer.clone()
            };
            (name.clone(), name)
        },
        true,
        false,
    );
    let (facts, basis, what): (&[Fact], Basis, &str) = match request.scope {
        ChargebackScope::Customer(_) => (&metered, Basis::Metered, "the customer's metered calls"),
        _ => (&billed, Basis::Billed, "the providers' bill"),
    };
    let api_keys = section(
        "api_keys",
        "API key summary",
        format!(
            "Per API key, from {what}. Rows marked allocated carry billed cost spread down to \
             keys in proportion to their usage (the provider bills coarser than it reports \
             usage); the key totals still equal the bill."
        ),
        basis,
        facts,
        |f| f.key.clone(),
        true,
        true,
    );
    let models = section(
        "models",
        "Model summary",
        format!("Per model and provider, from {what}."),
        basis,
        facts,
        |f| f.model.clone(),
        true,
        false,
    );
    let providers = section(
        "providers",
        "Provider summary",
        format!("Per provider, from {what}; net = cost − credits applied."),
        basis,
        facts,
        |f| (f.provider.clone(), f.provider.clone()),
        true,
        false,
    );
    let daily = section(
        "daily",
        "Daily breakdown",
        format!("Per UTC day with spend, from {what} (days without spend are left out)."),
        basis,
        facts,
        |f| (f.day.to_string(), f.day.to_string()),
        false,
        false,
    );
    let charged = providers.total.net;
    let mut notes = vec![
        "Money is exact to the nano-dollar; shown cents are rounded so that every column's rows \
         add up to its total (largest remainders)."
            .to_owned(),
        "Net cost = cost − credits applied on the bill.".to_owned(),
    ];
    if metered.iter().any(|f| f.unpriced > 0) {
        notes.push(
            "Some metered calls have no price (unpriced): their cost is unknown and not counted \
             in the totals; the unpriced column counts them."
                .to_owned(),
        );
    }
    if let Some(unpriced) = &loaded.unpriced {
        notes.push(unpriced.note("this report's totals"));
    }
    ChargebackReport {
        kind: "chargeback",
        period: request.period,
        days: request.period.len_days(),
        scope_text: request.scope.as_text(),
        scope: request.scope.clone(),
        generated_at: now,
        generated_by: request.generated_by.clone(),
        time_zone: "UTC",
        currency: "USD",
        charged,
        charged_basis: basis,
        forecasts: forecasts(request, loaded),
        anomalies: anomalies(request, loaded),
        customers,
        api_keys,
        models,
        providers,
        daily,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn acc(cost: i64, credits: i64, allocated: bool) -> Acc {
        Acc {
            label: "x".to_owned(),
            cost: Money::from_nanos(cost),
            credits: Money::from_nanos(credits),
            allocated,
            ..Acc::default()
        }
    }

    proptest! {
        #[test]
        fn shown_cents_add_up_to_the_shown_total_and_stay_within_a_cent(
            rows in proptest::collection::vec((-5_000_000_000i64..50_000_000_000, 0i64..2_000_000_000), 0..40)
        ) {
            let accs: Vec<Acc> = rows.iter().map(|(c, k)| acc(*c, *k, false)).collect();
            let section = finish("s", "S", String::new(), Basis::Billed, accs);
            for (column, total) in [
                (section.rows.iter().map(|r| r.cost).collect::<Vec<_>>(), section.total.cost),
                (section.rows.iter().map(|r| r.credits).collect(), section.total.credits),
                (section.rows.iter().map(|r| r.net).collect(), section.total.net),
            ] {
                prop_assert_eq!(column.iter().map(|a| a.shown).sum::<i64>(), total.shown);
                prop_assert_eq!(column.iter().map(|a| a.exact).sum::<Money>(), total.exact);
                prop_assert_eq!(total.shown, total.exact.round_to_cents());
                for a in &column {
                    prop_assert!((a.shown * 10_000_000 - a.exact.nanos()).abs() < 10_000_000);
                }
            }
        }
    }

    #[test]
    fn only_billed_rows_are_marked_allocated_and_unknown_requests_stay_unknown() {
        let mut unknown = acc(1, 0, true);
        unknown.requests_unknown = true;
        let billed = finish(
            "k",
            "K",
            String::new(),
            Basis::Billed,
            vec![unknown, acc(2, 0, false)],
        );
        assert_eq!(billed.rows[0].basis, Basis::Allocated);
        assert_eq!(billed.rows[1].basis, Basis::Billed);
        assert_eq!(billed.rows[0].requests, None);
        assert_eq!(billed.total.requests, None);
        let metered = finish(
            "c",
            "C",
            String::new(),
            Basis::Metered,
            vec![acc(1, 0, true)],
        );
        assert_eq!(metered.rows[0].basis, Basis::Metered);
    }
}
