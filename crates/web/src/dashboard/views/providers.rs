//! The Providers view: spend per provider, with credits, net cost and coverage cards.

use spendlens_query::ViewQuery;
use spendlens_query::coverage::ProviderReport;
use spendlens_query::table::ColumnId;
use spendlens_query::views::{ProvidersReport, Report};

use super::cells::Cell;
use super::filters::{drill_href, target_href};
use super::page::{Built, CHART_TOP, card, period_labels, total_card};
use crate::dashboard::charts::{self, Pair, Slice};
use crate::dashboard::format;
use spendlens_query::over_time::Target;

pub fn build<'a>(query: &'a ViewQuery, report: &Report, r: &'a ProvidersReport) -> Built<'a> {
    let (current_label, previous_label) = period_labels(report);
    let header = &r.header;
    let slices = r
        .rows
        .iter()
        .map(|row| Slice {
            label: row.provider_name.to_owned(),
            value: row.metrics.cost,
            href: target_href(query, Some(&Target::Provider(row.provider)), None),
        })
        .collect();
    let pairs: Vec<Pair> = r
        .rows
        .iter()
        .take(CHART_TOP)
        .map(|row| Pair {
            label: row.provider_name.to_owned(),
            current: row.metrics.cost,
            previous: row.metrics.previous_cost,
        })
        .collect();
    Built {
        cards: vec![
            total_card(report),
            card(
                "Credits applied",
                format::money(header.total_credits),
                "credits and refunds from providers",
            ),
            card(
                "Net cost",
                format::money(header.total_net_cost),
                "cost minus credits",
            ),
            card(
                "Providers with spend",
                r.provider_count.to_string(),
                format!("{} connected", r.rows.len()),
            ),
            coverage_card(r),
        ],
        donut: charts::donut("Cost by provider", slices, CHART_TOP),
        bars: charts::bars(
            "Cost by provider, this period vs the previous one",
            &pairs,
            &current_label,
            &previous_label,
        ),
        notes: r
            .rows
            .iter()
            .filter(|row| !row.billed_in.is_empty())
            .map(|row| {
                format!(
                    "{} is billed in {}, shown in USD: each amount converted exactly at the \
                     provider's own exchange rate (the FOCUS export keeps the billed currency)",
                    row.provider_name,
                    row.billed_in.join(", ")
                )
            })
            .chain(
                r.rows
                    .iter()
                    .filter(|row| row.metrics.unpriced_lines > 0)
                    .map(|row| {
                        format!(
                            "{}: {} requests unpriced — usage the provider documents no price \
                             for; what it cost is unknown and is not in the cost shown, never \
                             counted as $0",
                            row.provider_name,
                            format::count(row.metrics.unpriced_requests)
                        )
                    }),
            )
            .collect(),
        key_label: None,
        images: None,
        decorate: Box::new(move |index, id, cell: &mut Cell| {
            let Some(row) = r.rows.get(index) else {
                return;
            };
            match id {
                ColumnId::Provider => {
                    cell.title = Some(format!("Show the workspaces of {}", row.provider_name));
                    cell.href = Some(drill_href(
                        "/workspaces",
                        query,
                        &[("provider", row.provider.as_str().to_owned())],
                    ));
                    let mut sub = row.connections.join(", ");
                    if let Some(day) = row.metrics.history_from {
                        sub.push_str(&format!(" · history from {day}"));
                    }
                    if let Some(day) = row.complete_through {
                        sub.push_str(&format!(" · final through {day}"));
                    }
                    if !row.billed_in.is_empty() {
                        sub.push_str(&format!(
                            " · billed in {}, shown in USD",
                            row.billed_in.join(", ")
                        ));
                    }
                    cell.sub = Some(sub);
                }
                ColumnId::Coverage if row.coverage_pct.is_some() => {
                    cell.title = r
                        .coverage
                        .as_ref()
                        .and_then(|c| c.provider(row.provider))
                        .map(coverage_title);
                }
                ColumnId::Coverage if row.coverage_pct.is_none() => {
                    *cell = Cell {
                        title: Some(
                            "Coverage (metered ÷ billed spend) appears once applications report their AI calls"
                                .to_owned(),
                        ),
                        ..Cell::na("N/A")
                    };
                }
                _ => {}
            }
        }),
    }
}

/// The "Coverage" card: metered ÷ billed spend of the providers shown.
fn coverage_card(r: &ProvidersReport) -> super::page::Card {
    match (&r.coverage, r.coverage_pct) {
        (None, _) => card(
            "Coverage",
            "N/A",
            "metered ÷ billed spend, once applications report their AI calls",
        ),
        (Some(c), pct) => {
            let shown: Vec<&ProviderReport> = r
                .rows
                .iter()
                .filter_map(|row| c.provider(row.provider))
                .collect();
            let billed = shown.iter().map(|p| p.ratio.billed_cost).sum();
            let metered = shown.iter().map(|p| p.ratio.metered_cost).sum();
            card(
                "Coverage",
                pct.map_or("N/A".to_owned(), |p| format!("{p}%")),
                format!(
                    "{} metered of {} billed, on the days each bill is final",
                    format::money(metered),
                    format::money(billed)
                ),
            )
        }
    }
}

/// What a provider's coverage cell says on hover.
fn coverage_title(p: &ProviderReport) -> String {
    let through = p
        .complete_through
        .map_or("no final day yet".to_owned(), |d| {
            format!("bill final through {d}")
        });
    format!(
        "{} metered of {} billed ({through}); tokens: {}",
        format::money(p.ratio.metered_cost),
        format::money(p.ratio.billed_cost),
        p.ratio
            .token_coverage_pct
            .map_or("N/A".to_owned(), |t| format!("{t}%"))
    )
}
