//! The Workspaces view: spend per workspace name, linking to the workspace's API keys.

use spendlens_query::ViewQuery;
use spendlens_query::table::ColumnId;
use spendlens_query::views::{Report, WorkspacesReport};

use super::cells::Cell;
use super::filters::{drill_href, target_href};
use super::page::{Built, CHART_TOP, card, period_labels, total_card};
use super::top_pairs;
use crate::dashboard::charts::{self, Slice};
use crate::dashboard::format;
use spendlens_query::over_time::Target;

pub fn build<'a>(query: &'a ViewQuery, report: &Report, r: &'a WorkspacesReport) -> Built<'a> {
    let (current_label, previous_label) = period_labels(report);
    let slices = r
        .cost_by_provider
        .iter()
        .map(|(p, cost)| Slice {
            label: p.display_name().to_owned(),
            value: *cost,
            href: target_href(query, Some(&Target::Provider(*p)), None),
        })
        .collect();
    let pairs = top_pairs(
        r.rows
            .iter()
            .map(|row| (row.workspace.clone(), &row.metrics)),
    );
    let mut largest_first: Vec<_> = r.cost_by_provider.iter().collect();
    largest_first.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut by_provider: Vec<String> = largest_first
        .iter()
        .map(|(p, cost)| format!("{} {}", p.display_name(), format::money(**cost)))
        .collect();
    if by_provider.is_empty() {
        by_provider.push("—".to_owned());
    }
    Built {
        cards: vec![
            total_card(report),
            card(
                "Active workspaces",
                r.active_workspaces.to_string(),
                format!("{} with spend in either period", r.rows.len()),
            ),
            card(
                "Cost per provider",
                by_provider.first().cloned().unwrap_or_default(),
                by_provider
                    .iter()
                    .skip(1)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" · "),
            ),
        ],
        donut: charts::donut("Cost by provider", slices, CHART_TOP),
        bars: charts::bars(
            "Top workspaces, this period vs the previous one",
            &pairs,
            &current_label,
            &previous_label,
        ),
        notes: vec![
            "Workspaces given the same name in Workspace Management show as one row.".to_owned(),
        ],
        key_label: None,
        images: None,
        decorate: Box::new(move |index, id, cell: &mut Cell| {
            let Some(row) = r.rows.get(index) else {
                return;
            };
            match id {
                ColumnId::Workspace => {
                    cell.title = Some(format!("Show the API keys of {}", row.workspace));
                    cell.href = Some(drill_href(
                        "/keys",
                        query,
                        &[("workspace", row.workspace.clone())],
                    ));
                }
                ColumnId::Provider => cell.set_badges(&row.providers),
                _ => {}
            }
        }),
    }
}
