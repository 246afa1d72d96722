//! Row math of the attribution views: unpriced calls, unknown usage, error share, the
//! "(none)" row, honest trends, and totals that are the sums of the rows.

use proptest::prelude::*;
use spendlens_store::{MeterFacets, Metrics as Rolled};

use super::*;
use crate::params::{View, ViewParams};
use crate::table::{self, Value};

fn day(text: &str) -> Day {
    text.parse().unwrap()
}

fn query(params: ViewParams) -> ViewQuery {
    ViewQuery::parse(View::Customers, &params, day("2026-12-04")).unwrap()
}

/// Totals of `calls` calls: `unknown` without usage, `unpriced` without price, `failed` failed,
/// each known call 100 input (20 of them cache reads) and 10 output tokens, `cost` nanos.
fn rolled(calls: i64, unknown: i64, unpriced: i64, failed: i64, cost: i64) -> Rolled {
    let mut m = Rolled::default();
    let known = calls - unknown;
    m.totals.requests = calls;
    m.totals.lines = calls;
    m.totals.requests_unknown = unknown;
    m.totals.input_tokens = 80 * known;
    m.totals.cache_read_tokens = 20 * known;
    m.totals.output_tokens = 10 * known;
    m.totals.cost = Money::from_nanos(cost);
    m.extra[meter_extra::UNPRICED] = unpriced;
    m.extra[meter_extra::FAILED] = failed;
    m
}

fn totals(value: Option<&str>, current: Rolled, previous: Rolled) -> AttributionTotals {
    AttributionTotals {
        value: value.map(str::to_owned),
        current,
        previous,
    }
}

fn facets(first: &str) -> MeterFacets {
    MeterFacets {
        first_day: Some(day(first)),
        providers: vec!["openai".into()],
        models: vec!["gpt-4o".into()],
    }
}

#[test]
fn unpriced_calls_are_counted_and_left_out_of_the_average() {
    let previous = DayRange::new(day("2026-10-05"), day("2026-11-03")).unwrap();
    let t = totals(Some("acme"), rolled(4, 0, 1, 1, 3_000), Rolled::default());
    let row = row_of(&t, Some(day("2026-01-01")), previous);
    assert_eq!(row.calls, 4);
    assert_eq!(row.unpriced_calls, 1);
    // $0.000003 over the 3 priced calls, not the 4.
    assert_eq!(row.avg_cost_per_call, Some(Money::from_nanos(1_000)));
    assert_eq!(row.error_share_pct.unwrap().to_string(), "25");
    assert_eq!(row.input_tokens, Some(400), "cache reads are input");
    assert_eq!(row.total_tokens, Some(440));
    assert_eq!(row.trend, Trend::New);
    let all_unpriced = totals(Some("x"), rolled(2, 0, 2, 0, 0), Rolled::default());
    assert_eq!(
        row_of(&all_unpriced, None, previous).avg_cost_per_call,
        None
    );
}

#[test]
fn usage_unknown_everywhere_is_not_zero_tokens() {
    let previous = DayRange::new(day("2026-10-05"), day("2026-11-03")).unwrap();
    let row = row_of(
        &totals(None, rolled(3, 3, 0, 0, 900), Rolled::default()),
        None,
        previous,
    );
    assert_eq!(row.input_tokens, None);
    assert_eq!(row.total_tokens, None);
    assert_eq!(row.usage_unknown_calls, 3);
    assert_eq!(row.label, NONE_LABEL);
    assert_eq!(row.name, None);
    let partly = row_of(
        &totals(None, rolled(3, 1, 0, 0, 900), Rolled::default()),
        None,
        previous,
    );
    assert_eq!(partly.input_tokens, Some(200));
}

#[test]
fn a_previous_period_before_metering_began_has_no_comparable_history() {
    let q = query(ViewParams {
        period: Some("last-7-days".into()),
        ..Default::default()
    });
    let t = [totals(
        Some("acme"),
        rolled(2, 0, 0, 0, 2_000),
        rolled(1, 0, 0, 0, 1_000),
    )];
    let covered = assemble(&q, Attribution::Customer, &t, facets("2026-01-01"));
    assert_eq!(covered.rows[0].trend, Trend::Up);
    assert_eq!(covered.rows[0].trend_pct.unwrap().to_string(), "100");
    // Metering began inside the previous period: nothing to compare with.
    let late = q.previous.from().add_days(1).unwrap().to_string();
    let uncovered = assemble(&q, Attribution::Customer, &t, facets(&late));
    assert_eq!(uncovered.rows[0].trend, Trend::NoHistory);
    assert_eq!(uncovered.rows[0].trend_pct, None);
    assert_eq!(uncovered.header.trend, Trend::NoHistory);
}

#[test]
fn the_none_row_sorts_last_by_name_and_says_it_is_not_attributed_in_csv() {
    let q = query(ViewParams {
        sort: Some("customer".into()),
        ..Default::default()
    });
    let t = [
        totals(None, rolled(1, 0, 0, 0, 5), Rolled::default()),
        totals(Some("(none)"), rolled(1, 0, 0, 0, 7), Rolled::default()),
        totals(Some("Beta"), rolled(1, 0, 0, 0, 9), Rolled::default()),
    ];
    let report = assemble(&q, Attribution::Customer, &t, facets("2026-01-01"));
    let names: Vec<Option<&str>> = report.rows.iter().map(|r| r.name.as_deref()).collect();
    assert_eq!(names, [Some("(none)"), Some("Beta"), None]);
    let csv = table::to_csv(&crate::Report::Attribution(report), "").unwrap();
    assert!(csv.contains("\n(none),yes,"), "{csv}");
    assert!(csv.contains("\n(none),no,"), "{csv}");
}

proptest! {
    #[test]
    fn totals_are_the_sums_of_the_rows(
        parts in prop::collection::vec((1i64..50, 0i64..50, 0i64..50, 0i64..50, 0i64..5_000_000, 0i64..5_000_000), 0..12)
    ) {
        let t: Vec<AttributionTotals> = parts
            .iter()
            .enumerate()
            .map(|(i, &(calls, unknown, unpriced, failed, cost, previous))| {
                let (unknown, unpriced, failed) = (unknown % (calls + 1), unpriced % (calls + 1), failed % (calls + 1));
                totals(
                    (i > 0).then(|| format!("c{i}")).as_deref(),
                    rolled(calls, unknown, unpriced, failed, cost),
                    rolled(1, 0, 0, 0, previous),
                )
            })
            .collect();
        let report = assemble(&query(ViewParams::default()), Attribution::Customer, &t, facets("2020-01-01"));
        let rows = &report.rows;
        prop_assert_eq!(report.header.total_cost, rows.iter().map(|r| r.cost).sum::<Money>());
        prop_assert_eq!(report.total_calls, rows.iter().map(|r| r.calls).sum::<i64>());
        prop_assert_eq!(report.unpriced_calls, rows.iter().map(|r| r.unpriced_calls).sum::<i64>());
        let known: i64 = rows.iter().filter_map(|r| r.total_tokens).sum();
        prop_assert_eq!(report.total_tokens.unwrap_or(0), known);
        prop_assert_eq!(report.total_tokens.is_none(), rows.iter().all(|r| r.total_tokens.is_none()));
        // The sheet's total row (every surface's) sums the same.
        let sheet = table::sheet(&crate::Report::Attribution(report.clone()));
        let all: Vec<usize> = (0..sheet.rows.len()).collect();
        let total = sheet.summary(&all, "Total");
        let at = |id| sheet.position(id).unwrap();
        prop_assert_eq!(&total[at(table::ColumnId::Cost)], &Value::Money(report.header.total_cost));
        prop_assert_eq!(&total[at(table::ColumnId::Calls)], &Value::Count(Some(report.total_calls)));
        prop_assert_eq!(&total[at(table::ColumnId::PreviousCost)], &Value::Money(report.header.previous_total_cost));
    }
}
