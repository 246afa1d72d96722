//! The API Keys view: spend per key (allocated from the bill), linking to the key's models.

use spendlens_query::ViewQuery;
use spendlens_query::table::ColumnId;
use spendlens_query::views::{KeysReport, Report};

use super::cells::Cell;
use super::filters::{drill_href, target_href};
use super::page::{Built, CHART_TOP, card, period_labels, total_card, work_card};
use super::top_pairs;
use crate::dashboard::charts::{self, Slice};
use crate::dashboard::format;
use spendlens_query::over_time::Target;

pub fn build<'a>(query: &'a ViewQuery, report: &Report, r: &'a KeysReport) -> Built<'a> {
    let (current_label, previous_label) = period_labels(report);
    let key_label = query.key.and_then(|wanted| {
        r.rows
            .iter()
            .find(|row| row.key_id == Some(wanted))
            .map(|row| row.key_name.clone())
    });
    let slices = r
        .rows
        .iter()
        .map(|row| Slice {
            label: row.key_name.clone(),
            value: row.metrics.cost,
            href: target_href(
                query,
                Some(&match row.key_id {
                    Some(id) => Target::Key(id),
                    None => Target::Keyless {
                        provider: row.provider,
                        workspace: row.workspace.clone().unwrap_or_default(),
                    },
                }),
                None,
            ),
        })
        .collect();
    let pairs = top_pairs(
        r.rows
            .iter()
            .map(|row| (row.key_name.clone(), &row.metrics)),
    );
    Built {
        cards: vec![
            total_card(report),
            card(
                "Active keys",
                r.active_keys.to_string(),
                format!(
                    "{} keys known",
                    r.rows.iter().filter(|k| k.key_id.is_some()).count()
                ),
            ),
            work_card(r.total_usage.as_deref()),
            card(
                "Average cost per 1M tokens",
                format::rate(r.average_cost_per_1m),
                "over keys with token usage",
            ),
        ],
        donut: charts::donut("Top keys by cost", slices, CHART_TOP),
        bars: charts::bars(
            "Top keys, this period vs the previous one",
            &pairs,
            &current_label,
            &previous_label,
        ),
        notes: vec![
            "Per-key cost is allocated: providers bill per project or workspace and line item, so each key gets its share in proportion to its list-priced usage. Per-key sums equal the bill.".to_owned(),
        ],
        key_label,
        images: None,
        decorate: Box::new(move |index, id, cell: &mut Cell| {
            let Some(row) = r.rows.get(index) else {
                return;
            };
            match id {
                ColumnId::KeyName => {
                    // The workspace and the key's hint, under its name.
                    cell.sub = Some(
                        [row.workspace.as_deref(), row.key_hint.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" · "),
                    );
                    match row.key_id {
                        Some(key) => {
                            cell.title = Some(format!("Show the models used with {}", row.key_name));
                            cell.href = Some(drill_href(
                                "/models",
                                query,
                                &[("key", key.0.to_string())],
                            ));
                        }
                        None => {
                            cell.title = Some(
                                "Spend no API key carries: console use, organization-level items"
                                    .to_owned(),
                            );
                        }
                    }
                }
                ColumnId::KeyHint => {
                    cell.class = "muted small".to_owned();
                    if cell.text.is_empty() {
                        cell.text = "—".to_owned();
                    }
                }
                ColumnId::Provider => cell.set_badges(&[row.provider]),
                ColumnId::Status => cell.class = format!("status-{}", row.status),
                ColumnId::Cost if row.allocated => {
                    cell.title = Some(
                        "Allocated from the provider's bill in proportion to this key's list-priced usage"
                            .to_owned(),
                    );
                }
                _ => {}
            }
        }),
    }
}
