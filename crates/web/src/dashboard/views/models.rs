//! The Models view: spend per model and unit, cost per 1M tokens (or per unit), the most
//! efficient model, and the Images panel.

use spendlens_query::ViewQuery;
use spendlens_query::table::ColumnId;
use spendlens_query::views::{ModelsReport, Report};

use super::cells::Cell;
use super::filters::target_href;
use super::page::{Built, CHART_TOP, ImagesPanel, card, period_labels, total_card, work_card};
use super::top_pairs;
use crate::dashboard::charts::{self, Slice};
use crate::dashboard::format;
use spendlens_query::over_time::Target;

fn singular(unit: &str) -> String {
    unit.strip_suffix('s').unwrap_or(unit).replace('_', " ")
}

fn images_panel(r: &ModelsReport) -> Option<ImagesPanel> {
    if r.images.rows.is_empty() {
        return None;
    }
    Some(ImagesPanel {
        count: format::quantity(r.images.image_count),
        cost: format::money(r.images.image_cost),
        per_image: format::rate(r.images.cost_per_image),
        rows: r
            .images
            .rows
            .iter()
            .map(|i| {
                vec![
                    i.model.clone(),
                    i.provider.display_name().to_owned(),
                    i.size.clone().unwrap_or_else(|| "not reported".to_owned()),
                    format::quantity(i.images),
                    format::share(i.share_of_images_pct),
                    format::money(i.cost),
                    format::rate(i.cost_per_image),
                ]
            })
            .collect(),
        note: r.images.note.to_owned(),
        chart: None,
    })
}

pub fn build<'a>(query: &'a ViewQuery, report: &Report, r: &'a ModelsReport) -> Built<'a> {
    let (current_label, previous_label) = period_labels(report);
    let slices = r
        .rows
        .iter()
        .map(|row| Slice {
            label: row.model.clone(),
            value: row.metrics.cost,
            href: target_href(
                query,
                Some(&Target::Model {
                    provider: row.provider,
                    model: row.model.clone(),
                    unit: row.unit.as_str().to_owned(),
                }),
                None,
            ),
        })
        .collect();
    let pairs = top_pairs(r.rows.iter().map(|row| (row.model.clone(), &row.metrics)));
    let efficient = r.rows.iter().find(|row| row.most_efficient);
    Built {
        cards: vec![
            total_card(report),
            card(
                "Models",
                r.model_count.to_string(),
                "with spend or usage in either period",
            ),
            work_card(r.total_usage.as_deref()),
            card(
                "Most efficient model",
                efficient.map_or_else(|| "N/A".to_owned(), |row| format!("★ {}", row.model)),
                efficient.map_or_else(String::new, |row| {
                    format!("{} per 1M tokens", format::rate(row.cost_per_1m))
                }),
            ),
        ],
        donut: charts::donut("Cost by model", slices, CHART_TOP),
        bars: charts::bars(
            "Top models, this period vs the previous one",
            &pairs,
            &current_label,
            &previous_label,
        ),
        notes: vec!["Cost/1M compares token-billed models; models billed per image, second or character show their cost per unit.".to_owned()],
        key_label: None,
        images: images_panel(r),
        decorate: Box::new(move |index, id, cell: &mut Cell| {
            let Some(row) = r.rows.get(index) else {
                return;
            };
            let tokens = row.unit.is_tokens();
            match id {
                ColumnId::Model => {
                    cell.star = row.most_efficient;
                    cell.sub = (!tokens || row.category != spendlens_domain::Category::Text)
                        .then(|| row.category.to_string());
                    cell.title = row.most_efficient.then(|| {
                        "The lowest cost per 1M tokens among text models with spend".to_owned()
                    });
                }
                ColumnId::Provider => cell.set_badges(&[row.provider]),
                // Models billed per image, second or character show their cost per unit here.
                ColumnId::CostPer1M if !tokens => {
                    let unit = singular(row.unit.as_str());
                    *cell = match row.cost_per_unit {
                        None => Cell::na("—"),
                        // The unit under the rate: "per machine second" wraps in its column.
                        Some(_) => Cell {
                            title: Some(format!(
                                "Cost per {unit} (this model is billed per {unit})"
                            )),
                            sub: Some(format!("per {unit}")),
                            ..Cell::num(format::rate(row.cost_per_unit))
                        },
                    };
                }
                // Work of a provider that counts no requests is under Requests, in its unit.
                ColumnId::Tokens if !tokens && !row.provider.reports_request_counts() => {
                    *cell = Cell {
                        title: Some(format!(
                            "Not billed in tokens: its work, in {}, is under Requests",
                            row.unit.as_str().replace('_', " ")
                        )),
                        ..Cell::na("—")
                    };
                }
                ColumnId::Tokens if !tokens => {
                    *cell = if row.quantity.is_zero() {
                        Cell::na("—")
                    } else {
                        let unit = row.unit.as_str().replace('_', " ");
                        Cell {
                            title: Some(format!("{} {unit}", format::quantity(row.quantity))),
                            sub: Some(unit),
                            ..Cell::num(format::compact_quantity(row.quantity))
                        }
                    };
                }
                _ => {}
            }
        }),
    }
}
