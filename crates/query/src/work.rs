//! Work in its own units: requests where a provider counts them, else the quantity of the unit
//! it bills in (fal.ai images or seconds, Runway credits), listed per unit and never added
//! across units. Unknown (N/A) when part of a row's work is counted in neither: tokens of a
//! provider that reports no request counts (Anthropic, Bedrock, Vertex, Azure).

use std::collections::BTreeMap;

use serde::Serialize;
use spendlens_domain::{ProviderKind, Quantity, Unit};
use spendlens_store::Totals;

/// An amount of work in one unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitAmount {
    /// `requests`, or the unit the provider bills in (`images`, `seconds`, `credits`…).
    pub unit: Unit,
    pub quantity: Quantity,
}

/// A row's work as it is gathered, series by series.
#[derive(Clone, Debug, Default)]
pub struct WorkSum {
    by_unit: BTreeMap<Unit, Quantity>,
    unknown: bool,
}

impl WorkSum {
    /// Adds the totals of lines in one unit of one provider.
    pub fn add(&mut self, provider: ProviderKind, unit: &Unit, totals: &Totals) {
        if totals.lines == 0 {
            return;
        }
        if provider.reports_request_counts() {
            if totals.requests_unknown > 0 {
                self.unknown = true;
            }
            *self.by_unit.entry(Unit::requests()).or_default() +=
                Quantity::from_whole(totals.requests);
        } else if unit.is_tokens() {
            self.unknown = true;
        } else {
            *self.by_unit.entry(unit.clone()).or_default() += totals.quantity;
        }
    }

    /// Adds the totals of a provider that counts requests, whatever their units (the views
    /// take these from their own totals rows); a provider that counts none is skipped here,
    /// its work comes per unit through [`WorkSum::add`].
    pub fn add_counted(&mut self, provider: ProviderKind, totals: &Totals) {
        if provider.reports_request_counts() {
            self.add(provider, &Unit::requests(), totals);
        }
    }

    /// The work, requests first and then each unit by name; `None` when part of it is
    /// unknown; empty when there was none.
    pub fn finish(self) -> Option<Vec<UnitAmount>> {
        if self.unknown {
            return None;
        }
        Some(amounts(self.by_unit))
    }
}

fn amounts(mut by_unit: BTreeMap<Unit, Quantity>) -> Vec<UnitAmount> {
    let requests = by_unit.remove(&Unit::requests());
    requests
        .map(|quantity| (Unit::requests(), quantity))
        .into_iter()
        .chain(by_unit)
        .map(|(unit, quantity)| UnitAmount { unit, quantity })
        .collect()
}

/// The sum of several rows' work, unit by unit (unknown if any is unknown).
pub fn sum<'a>(
    rows: impl IntoIterator<Item = &'a Option<Vec<UnitAmount>>>,
) -> Option<Vec<UnitAmount>> {
    let mut by_unit: BTreeMap<Unit, Quantity> = BTreeMap::new();
    for row in rows {
        for amount in row.as_ref()? {
            *by_unit.entry(amount.unit.clone()).or_default() += amount.quantity;
        }
    }
    Some(amounts(by_unit))
}

/// Whether the work is only requests (or nothing): then it reads as a plain count.
pub fn is_requests_only(work: &[UnitAmount]) -> bool {
    work.iter().all(|a| a.unit == Unit::requests())
}

/// `1234`, `1234 images`, `12 requests; 1.5 megapixels`, or `N/A`: the text of CSV and the
/// terminal (`0` when there was no work).
pub fn text(work: Option<&[UnitAmount]>) -> String {
    let Some(work) = work else {
        return "N/A".to_owned();
    };
    if is_requests_only(work) {
        return work
            .first()
            .map_or_else(|| "0".to_owned(), |a| a.quantity.to_string());
    }
    work.iter()
        .map(|a| format!("{} {}", a.quantity, unit_words(&a.unit)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A unit as words (`video_seconds` → `video seconds`).
pub fn unit_words(unit: &Unit) -> String {
    unit.as_str().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(lines: i64, requests: i64, requests_unknown: i64, micros: i64) -> Totals {
        Totals {
            lines,
            requests,
            requests_unknown,
            quantity: Quantity::from_micros(micros),
            ..Totals::default()
        }
    }

    fn unit(text: &str) -> Unit {
        Unit::parse(text).unwrap()
    }

    #[test]
    fn each_unit_is_kept_apart_and_requests_lead() {
        let mut work = WorkSum::default();
        work.add(
            ProviderKind::Fal,
            &unit("images"),
            &totals(2, 0, 2, 4_000_000),
        );
        work.add(
            ProviderKind::Fal,
            &unit("images"),
            &totals(1, 0, 1, 1_500_000),
        );
        work.add(
            ProviderKind::Fal,
            &unit("seconds"),
            &totals(1, 0, 1, 30_000_000),
        );
        work.add(
            ProviderKind::Runway,
            &unit("credits"),
            &totals(3, 0, 3, 1_250_000_000),
        );
        work.add(ProviderKind::OpenAi, &Unit::tokens(), &totals(5, 40, 0, 0));
        work.add(
            ProviderKind::OpenAi,
            &unit("images"),
            &totals(1, 2, 0, 2_000_000),
        );
        let work = work.finish().unwrap();
        assert_eq!(
            text(Some(&work)),
            "42 requests; 1250 credits; 5.5 images; 30 seconds"
        );
    }

    #[test]
    fn tokens_of_a_provider_without_request_counts_make_it_unknown() {
        let mut work = WorkSum::default();
        work.add(
            ProviderKind::Fal,
            &unit("images"),
            &totals(1, 0, 1, 4_000_000),
        );
        work.add(
            ProviderKind::Anthropic,
            &Unit::tokens(),
            &totals(1, 0, 1, 0),
        );
        assert_eq!(work.finish(), None);
        assert_eq!(text(None), "N/A");
        // A request count a provider left out is unknown too.
        let mut work = WorkSum::default();
        work.add(ProviderKind::OpenAi, &Unit::tokens(), &totals(2, 9, 1, 0));
        assert_eq!(work.finish(), None);
    }

    #[test]
    fn counted_totals_add_requests_only_for_providers_that_count_them() {
        let mut work = WorkSum::default();
        // A view's totals row of OpenAI (tokens and images together) is its requests.
        work.add_counted(ProviderKind::OpenAi, &totals(3, 12, 0, 2_000_000));
        // Fal's and Anthropic's come per unit through `add`: skipped here.
        work.add_counted(ProviderKind::Fal, &totals(1, 0, 1, 4_000_000));
        work.add_counted(ProviderKind::Anthropic, &totals(1, 0, 1, 0));
        work.add(
            ProviderKind::Fal,
            &unit("images"),
            &totals(1, 0, 1, 4_000_000),
        );
        assert_eq!(text(work.finish().as_deref()), "12 requests; 4 images");
        let mut work = WorkSum::default();
        work.add_counted(ProviderKind::OpenAi, &totals(2, 9, 1, 0));
        assert_eq!(work.finish(), None);
    }

    #[test]
    fn requests_alone_read_as_a_count_and_no_work_as_zero() {
        let mut work = WorkSum::default();
        work.add(ProviderKind::OpenAi, &Unit::tokens(), &totals(2, 9, 0, 0));
        // Idle series add nothing.
        work.add(
            ProviderKind::Anthropic,
            &Unit::tokens(),
            &totals(0, 0, 0, 0),
        );
        let work = work.finish().unwrap();
        assert_eq!(text(Some(&work)), "9");
        assert_eq!(text(Some(&[])), "0");
    }

    #[test]
    fn sums_merge_units_and_stay_unknown_when_any_row_is() {
        let a = Some(vec![UnitAmount {
            unit: unit("images"),
            quantity: Quantity::from_whole(3),
        }]);
        let b = Some(vec![
            UnitAmount {
                unit: Unit::requests(),
                quantity: Quantity::from_whole(7),
            },
            UnitAmount {
                unit: unit("images"),
                quantity: Quantity::from_whole(2),
            },
        ]);
        let total = sum([&a, &b]).unwrap();
        assert_eq!(text(Some(&total)), "7 requests; 5 images");
        assert_eq!(sum([&a, &None]), None);
        assert_eq!(unit_words(&unit("video seconds")), "video seconds");
    }
}
