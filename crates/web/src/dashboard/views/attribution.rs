//! The attribution views (Customers, Products, Agents): metered calls per customer, product or
//! agent — cost with its unpriced calls, calls, average cost per call, error share, tokens and
//! trend — from the same report the API, CSV and CLI return.

use spendlens_query::ViewQuery;
use spendlens_query::attribution::AttributionReport;
use spendlens_query::table::ColumnId;
use spendlens_query::views::Report;

use super::cells::Cell;
use super::filters::target_href;
use super::page::{Built, CHART_TOP, card, period_labels, total_card};
use super::top_pairs;
use crate::dashboard::charts::{self, Slice};
use crate::dashboard::format;
use spendlens_query::over_time::Target;

/// Where the page says to look when no call has been metered yet.
pub const SEND_EVENTS_HREF: &str = "/connections#sdk-keys";

/// "customer", "product" or "agent".
fn noun(r: &AttributionReport) -> &'static str {
    r.attribution
}

/// "a customer", "an agent".
fn a_noun(noun: &str) -> String {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// The empty state: no metered call yet, so the page explains how to send them.
pub fn no_calls_text(r: &AttributionReport) -> String {
    format!(
        "No metered calls yet. Create an SDK key on the Connections page, then send each AI call to POST /api/v1/meter/events (or export OpenTelemetry traces to /v1/traces) with a \"{}\" field; this page then shows cost, calls, tokens and errors per {}. The README's \"Send events (metering)\" section shows the event format.",
        noun(r),
        noun(r)
    )
}

pub fn build<'a>(query: &'a ViewQuery, report: &Report, r: &'a AttributionReport) -> Built<'a> {
    let (current_label, previous_label) = period_labels(report);
    let slices = r
        .rows
        .iter()
        .map(|row| Slice {
            label: row.label.clone(),
            value: row.cost,
            href: target_href(query, Some(&Target::Attribution(row.name.clone())), None),
        })
        .collect();
    let pairs = top_pairs(r.rows.iter().map(|row| (row.label.clone(), &row.metrics)));
    let noun = noun(r);
    let plural = format!("{noun}s");
    let mut notes = vec![format!(
        "From metered calls (SDK events and OpenTelemetry traces), not from provider bills. \
         “(none)” is the calls sent without {}. Average cost per call counts priced calls \
         only; error share is failed (error or timeout) ÷ all calls.",
        a_noun(noun)
    )];
    if r.unpriced_calls > 0 {
        notes.push(format!(
            "{} call(s) have no price (no catalog entry for their model and no reported cost): the cost figures leave them out, so they are incomplete. Add a price under Cost → Model pricing.",
            format::count(r.unpriced_calls)
        ));
    }
    Built {
        cards: vec![
            total_card(report),
            card(
                "Calls",
                format::count(r.total_calls),
                format!(
                    "{} {plural} (incl. “(none)”)",
                    r.rows.iter().filter(|row| row.calls > 0).count()
                ),
            ),
            card(
                "Unpriced calls",
                format::count(r.unpriced_calls),
                if r.unpriced_calls > 0 {
                    "not in the cost: it is incomplete"
                } else {
                    "every call is priced"
                },
            ),
            card(
                "Average cost per call",
                format::rate(r.avg_cost_per_call),
                "over priced calls",
            ),
            card(
                "Error share",
                format::share(r.error_share_pct),
                format!("{} failed calls", format::count(r.failed_calls)),
            ),
        ],
        donut: charts::donut(&format!("Cost by {noun}"), slices, CHART_TOP),
        bars: charts::bars(
            &format!("Top {plural}, this period vs the previous one"),
            &pairs,
            &current_label,
            &previous_label,
        ),
        notes,
        key_label: None,
        images: None,
        decorate: Box::new(move |index, id, cell: &mut Cell| {
            let Some(row) = r.rows.get(index) else {
                return;
            };
            match id {
                ColumnId::Attribution if row.name.is_none() => {
                    cell.class.push_str(" none-row");
                    cell.sub = Some(format!("calls sent without {}", a_noun(noun)));
                    cell.title = Some(format!(
                        "Not {}: the calls whose events carried no {noun}",
                        a_noun(noun)
                    ));
                }
                ColumnId::Cost if row.unpriced_calls > 0 => {
                    cell.sub = Some(format!(
                        "+ {} unpriced call(s)",
                        format::count(row.unpriced_calls)
                    ));
                    cell.title =
                        Some("Incomplete: calls without a price are not in this cost".into());
                }
                ColumnId::UnpricedCalls if row.unpriced_calls > 0 => {
                    cell.class.push_str(" warn");
                }
                ColumnId::InputTokens | ColumnId::OutputTokens | ColumnId::Tokens => {
                    if cell.text == "N/A" {
                        cell.title = Some("No call here reported token usage".into());
                    } else if row.usage_unknown_calls > 0 {
                        cell.title = Some(format!(
                            "{} call(s) reported no usage and are not counted",
                            format::count(row.usage_unknown_calls)
                        ));
                    }
                }
                ColumnId::AvgCostPerCall if row.avg_cost_per_call.is_none() => {
                    cell.title = Some("N/A: no call here was priced".into());
                }
                _ => {}
            }
        }),
    }
}
