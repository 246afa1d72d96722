//! A provider's restatements of closed billing periods as FOCUS rows (pure, no I/O).
//!
//! A closed month's day that a sync restated has kept versions (`Store::export_line_history`):
//! the first is what was invoiced, and each later state (the next version, or the lines stored
//! now) minus the one before is a correction billed in the month the sync saw it. An export
//! therefore shows a restated day as invoiced, and the change as `Correction` rows (ChargeClass
//! `Correction`, ChargePeriod the restated day, BillingPeriod the month it was seen) in the
//! export of the period the restatement was seen in. Exports of consecutive periods add up to
//! the bill as stored now, and so does one export of them all.

use std::collections::BTreeMap;

use spendlens_domain::{Day, DayRange, Money};
use spendlens_store::{ConnectionId, DayHistory, ExportLine};

use super::rows::{FocusRow, billed_rows};

/// The change of one line identity between two states of a restated day, billed in the month
/// of `seen_on`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The line's identity and names, with cost, credits and both in the billing currency set
    /// to the change (after − before); no quantities.
    pub delta: ExportLine,
    /// The UTC day a sync saw the restatement.
    pub seen_on: Day,
    /// The line's cost before and after, in USD (for the row's description).
    pub was: Money,
    pub now: Money,
}

type Identity = (
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    bool,
    String,
);

fn identity(line: &ExportLine) -> Identity {
    (
        line.workspace.as_ref().map(|(id, _)| id.clone()),
        line.api_key_id.clone(),
        line.model.clone(),
        line.category.clone(),
        line.unit.clone(),
        line.detail.clone(),
        line.allocated,
        line.billing_currency.clone(),
    )
}

/// Each identity's money in one state: cost, credits, billing cost, billing credits.
fn money_by_identity(lines: &[ExportLine]) -> BTreeMap<Identity, (&ExportLine, [Money; 4])> {
    let mut out: BTreeMap<Identity, (&ExportLine, [Money; 4])> = BTreeMap::new();
    for line in lines {
        let entry = out
            .entry(identity(line))
            .or_insert((line, [Money::default(); 4]));
        entry.1[0] += line.cost;
        entry.1[1] += line.credits;
        entry.1[2] += line.billing_cost;
        entry.1[3] += line.billing_credits;
    }
    out
}

/// The corrections from `before` to `after`, one per line identity whose money changed.
fn changes(before: &[ExportLine], after: &[ExportLine], seen_on: Day) -> Vec<Correction> {
    let (was, is) = (money_by_identity(before), money_by_identity(after));
    let mut keys: Vec<&Identity> = was.keys().chain(is.keys()).collect();
    keys.sort();
    keys.dedup();
    let zero = [Money::default(); 4];
    keys.into_iter()
        .filter_map(|key| {
            let (template, old) = match (is.get(key), was.get(key)) {
                (Some((line, _)), Some((_, old))) => (*line, *old),
                (Some((line, _)), None) => (*line, zero),
                (None, Some((line, old))) => (*line, *old),
                (None, None) => return None,
            };
            let new = is.get(key).map_or(zero, |(_, money)| *money);
            if new == old {
                return None;
            }
            let mut delta = template.clone();
            delta.cost = new[0] - old[0];
            delta.credits = new[1] - old[1];
            delta.billing_cost = new[2] - old[2];
            delta.billing_credits = new[3] - old[3];
            delta.input_tokens = 0;
            delta.output_tokens = 0;
            delta.cache_read_tokens = 0;
            delta.cache_write_tokens = 0;
            delta.requests = None;
            delta.quantity = spendlens_domain::Quantity::default();
            Some(Correction {
                delta,
                seen_on,
                was: old[0] - old[1],
                now: new[0] - new[1],
            })
        })
        .collect()
}

/// The lines an export of `period` shows (restated days as invoiced) and the corrections
/// billed during `period`.
pub fn apply_history(
    mut lines: Vec<ExportLine>,
    history: &[DayHistory],
    period: DayRange,
) -> (Vec<ExportLine>, Vec<Correction>) {
    let invoiced: BTreeMap<(ConnectionId, Day), &Vec<ExportLine>> = history
        .iter()
        .filter(|h| period.contains(h.day))
        .filter_map(|h| {
            h.versions
                .first()
                .map(|(_, v)| ((h.connection_id, h.day), v))
        })
        .collect();
    if !invoiced.is_empty() {
        lines.retain(|l| !invoiced.contains_key(&(l.connection_id, l.day)));
        lines.extend(invoiced.values().flat_map(|v| v.iter().cloned()));
        lines.sort_by_key(|l| (l.day, l.connection_id.0));
    }
    let mut corrections = Vec::new();
    for h in history {
        for (i, (seen_on, before)) in h.versions.iter().enumerate() {
            if !period.contains(*seen_on) {
                continue;
            }
            let after = h.versions.get(i + 1).map_or(&h.current, |(_, next)| next);
            corrections.extend(changes(before, after, *seen_on));
        }
    }
    (lines, corrections)
}

/// Corrections → FOCUS rows: a usage row with the cost's change and, where credits changed, a
/// credit row, both of ChargeClass `Correction` and without quantities (FOCUS allows null
/// quantities on corrections; the usage itself was counted on the invoiced row).
pub fn correction_rows(corrections: &[Correction]) -> Vec<FocusRow> {
    let mut rows = Vec::new();
    for correction in corrections {
        let line = &correction.delta;
        for mut row in billed_rows(std::slice::from_ref(line)) {
            if row.billed_cost.is_zero() && row.billed_cost_usd.is_zero() {
                continue;
            }
            row.correction = Some(correction.seen_on);
            row.pricing = None;
            row.consumed = None;
            row.input_tokens = None;
            row.cache_read_tokens = None;
            row.cache_write_tokens = None;
            row.output_tokens = None;
            row.reasoning_tokens = None;
            row.requests = None;
            row.unpriced_requests = None;
            row.description = format!(
                "Correction of {day} (restated by the provider after its billing period closed, \
                 seen {seen}): {what}; net {was} USD when invoiced, {now} USD now",
                day = line.day,
                seen = correction.seen_on,
                what = row.description,
                was = correction.was.to_exact_string(),
                now = correction.now.to_exact_string(),
            );
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use spendlens_domain::{ProviderKind, Quantity};

    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    fn usd(nanos: i64) -> Money {
        Money::from_nanos(nanos)
    }

    fn line(on: &str, model: &str, cost: i64, credits: i64) -> ExportLine {
        ExportLine {
            connection_id: ConnectionId(1),
            connection_name: "OpenAI".into(),
            provider: ProviderKind::OpenAi,
            day: day(on),
            workspace: Some(("proj_1".into(), "Default".into())),
            api_key_id: None,
            api_key_name: None,
            api_key_hint: None,
            model: model.into(),
            category: "tokens".into(),
            unit: "tokens".into(),
            detail: String::new(),
            input_tokens: 1000,
            output_tokens: 100,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            requests: Some(3),
            quantity: Quantity::default(),
            cost: usd(cost),
            credits: usd(credits),
            currency: "USD".into(),
            estimated: false,
            allocated: false,
            billing_currency: "USD".into(),
            billing_cost: usd(cost),
            billing_credits: usd(credits),
            unpriced: false,
        }
    }

    fn billed(rows: &[FocusRow]) -> Money {
        rows.iter().map(|r| r.billed_cost_usd).sum()
    }

    fn export(current: &[ExportLine], history: &[DayHistory], period: DayRange) -> Vec<FocusRow> {
        let lines: Vec<ExportLine> = current
            .iter()
            .filter(|l| period.contains(l.day))
            .cloned()
            .collect();
        let (lines, corrections) = apply_history(lines, history, period);
        let mut rows = billed_rows(&lines);
        rows.extend(correction_rows(&corrections));
        rows
    }

    #[test]
    fn a_restated_day_shows_as_invoiced_and_its_change_is_billed_when_seen() {
        // Nov 28 was invoiced at $5 (gpt-4o) + $2 (gpt-4o-mini, $0.50 credits). Seen Dec 2:
        // gpt-4o became $6 and mini went away; seen Jan 3: gpt-4o became $6.25.
        let invoiced = vec![
            line("2026-11-28", "gpt-4o", 5_000_000_000, 0),
            line("2026-11-28", "gpt-4o-mini", 2_000_000_000, 500_000_000),
        ];
        let december = vec![line("2026-11-28", "gpt-4o", 6_000_000_000, 0)];
        let now = vec![
            line("2026-11-28", "gpt-4o", 6_250_000_000, 0),
            line("2026-12-05", "gpt-4o", 1_000_000_000, 0),
            line("2027-01-02", "gpt-4o", 3_000_000_000, 0),
        ];
        let history = vec![DayHistory {
            connection_id: ConnectionId(1),
            day: day("2026-11-28"),
            versions: vec![(day("2026-12-02"), invoiced), (day("2027-01-03"), december)],
            current: vec![now[0].clone()],
        }];
        let month = |from: &str, to: &str| DayRange::new(day(from), day(to)).unwrap();
        let nov = export(&now, &history, month("2026-11-01", "2026-11-30"));
        let dec = export(&now, &history, month("2026-12-01", "2026-12-31"));
        let jan = export(&now, &history, month("2027-01-01", "2027-01-31"));
        // November as invoiced: 5 + 2 − 0.5.
        assert_eq!(billed(&nov), usd(6_500_000_000));
        assert!(nov.iter().all(|r| r.correction.is_none()));
        // December: its own $1 plus corrections +1 (gpt-4o), −2 and +0.5 (mini gone, its
        // credit gone), billed in December, charged on Nov 28.
        let corrections: Vec<&FocusRow> = dec.iter().filter(|r| r.correction.is_some()).collect();
        assert_eq!(corrections.len(), 3);
        assert!(corrections.iter().all(|r| r.day == day("2026-11-28")
            && r.correction == Some(day("2026-12-02"))
            && r.pricing.is_none()
            && r.consumed.is_none()));
        assert_eq!(
            billed(&corrections.iter().map(|r| (*r).clone()).collect::<Vec<_>>()),
            usd(-500_000_000)
        );
        assert_eq!(billed(&dec), usd(500_000_000));
        // January: its own $3 and the last +0.25.
        assert_eq!(billed(&jan), usd(3_250_000_000));
        // The three exports add up to the bill as stored now, and so does one export of all.
        let stored: Money = now.iter().map(|l| l.cost - l.credits).sum();
        assert_eq!(billed(&nov) + billed(&dec) + billed(&jan), stored);
        let all = export(&now, &history, month("2026-11-01", "2027-01-31"));
        assert_eq!(billed(&all), stored);
    }

    /// A restated day for the property test: the day (offset from Nov 1), the months after
    /// it in which syncs restated it (offsets of the seen days), and each state's lines
    /// (model index, cost, credits): versions then the current one.
    type Restated = (u8, Vec<u8>, Vec<Vec<(u8, i64, i64)>>);

    fn restated() -> impl Strategy<Value = Restated> {
        (0u8..60, 1usize..4).prop_flat_map(|(day, states)| {
            (
                Just(day),
                proptest::collection::btree_set(61u8..92, states - 1),
                proptest::collection::vec(
                    proptest::collection::vec(
                        (0u8..3, 0i64..1_000_000_000_000, 0i64..10_000),
                        0..4,
                    ),
                    states,
                ),
            )
                .prop_map(|(day, seen, states)| (day, seen.into_iter().collect(), states))
        })
    }

    proptest::proptest! {
        /// Exports of any cut of the period into consecutive parts add up to the bill as stored
        /// now: every restated day counts as invoiced once and each correction once.
        #[test]
        fn exports_of_consecutive_periods_add_up_to_the_stored_bill(
            days in proptest::collection::btree_map(0u8..60, restated(), 0..5),
            plain in proptest::collection::vec((0u8..92, 0u8..3, 0i64..1_000_000_000_000), 0..8),
            cuts in proptest::collection::btree_set(1u8..92, 0..4),
        ) {
            let first = day("2026-11-01");
            let on = |offset: u8| first.add_days(i64::from(offset)).unwrap().to_string();
            let models = ["gpt-4o", "gpt-4o-mini", "o3"];
            let mut current: Vec<ExportLine> = plain
                .iter()
                .filter(|(d, _, _)| !days.contains_key(d))
                .map(|(d, m, cost)| line(&on(*d), models[usize::from(*m)], *cost, 0))
                .collect();
            let mut history = Vec::new();
            for (offset, (_, seen, states)) in &days {
                let lines = |state: &Vec<(u8, i64, i64)>| -> Vec<ExportLine> {
                    state
                        .iter()
                        .map(|(m, cost, credits)| line(&on(*offset), models[usize::from(*m)], *cost, *credits))
                        .collect()
                };
                let (now, kept) = states.split_last().unwrap();
                current.extend(lines(now));
                history.push(DayHistory {
                    connection_id: ConnectionId(1),
                    day: day(&on(*offset)),
                    versions: kept
                        .iter()
                        .zip(seen)
                        .map(|(state, s)| (day(&on(*s)), lines(state)))
                        .collect(),
                    current: lines(now),
                });
            }
            let stored: Money = current.iter().map(|l| l.cost - l.credits).sum();
            let mut bounds: Vec<u8> = vec![0];
            bounds.extend(cuts.iter().copied());
            bounds.push(92);
            let mut total = Money::default();
            for pair in bounds.windows(2) {
                let period = DayRange::new(day(&on(pair[0])), day(&on(pair[1] - 1))).unwrap();
                total += billed(&export(&current, &history, period));
            }
            proptest::prop_assert_eq!(total, stored);
        }
    }

    #[test]
    fn a_change_that_only_moves_tokens_is_no_correction() {
        let before = vec![line("2026-11-28", "gpt-4o", 5, 0)];
        let mut after = before.clone();
        after[0].output_tokens = 999;
        assert!(changes(&before, &after, day("2026-12-02")).is_empty());
    }
}
