//! `spendlens connections services` and `spendlens connections months`: the services of a
//! connection's bill with whether each counts, and its spend per month as UTC days beside the
//! bill's invoice months (table, JSON or CSV; money exact in JSON and CSV).

use std::process::ExitCode;

use spendlens_store::ConnectionRow;

use crate::cli::Format;
use crate::context::Context;
use crate::render::text_table;

fn csv_text(columns: &[&str], rows: &[Vec<String>]) -> String {
    let quote = |c: &str| {
        let c = spendlens_query::table::neutralize_cell(c);
        if c.contains([',', '"', '\n']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c
        }
    };
    let mut out = columns.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

pub async fn services(
    context: &Context,
    row: &ConnectionRow,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let services = context
        .store()
        .connection_services(context.org, row.id)
        .await?;
    let reread_from = context.store().reread_from(context.org, row.id).await?;
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "connection": row.name,
                "reread_from": reread_from,
                "services": services,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let columns = [
        "Service id",
        "Service",
        "Kind",
        "Seller",
        "Cost in window",
        "Currency",
        "Window",
        "Choice",
        "Counts",
    ];
    let cells: Vec<Vec<String>> = services
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                s.name.clone(),
                s.kind.as_str().to_owned(),
                s.seller.clone().unwrap_or_default(),
                s.cost.to_exact_string(),
                s.currency.clone(),
                s.window.to_string(),
                s.choice.map_or("default", |c| c.as_str()).to_owned(),
                if s.counted { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    if format == Format::Csv {
        print!("{}", csv_text(&columns, &cells));
        return Ok(ExitCode::SUCCESS);
    }
    if services.is_empty() {
        println!(
            "\"{}\" lists no services: only Google Vertex AI bills have them, after a sync.",
            row.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", text_table(&columns, &cells, None));
    if let Some(day) = reread_from {
        println!(
            "The services that count changed: the next sync reads every stored day again from {day}."
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn months(
    context: &Context,
    row: &ConnectionRow,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let report =
        spendlens_query::months::connection_months(context.store(), context.org, row.id).await?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let columns = [
        "Month",
        "UTC days cost",
        "UTC days net",
        "Invoice month cost",
        "Invoice month net",
        "Differs",
    ];
    let cells: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|m| {
            let invoice =
                |f: fn(&spendlens_query::months::MonthMoney) -> spendlens_domain::Money| {
                    m.invoice
                        .as_ref()
                        .map_or_else(|| "N/A".to_owned(), |i| f(i).to_exact_string())
                };
            vec![
                m.month.to_string(),
                m.utc_days.cost.to_exact_string(),
                m.utc_days.net.to_exact_string(),
                invoice(|i| i.cost),
                invoice(|i| i.net),
                if m.differs { "yes" } else { "" }.to_owned(),
            ]
        })
        .collect();
    if format == Format::Csv {
        print!("{}", csv_text(&columns, &cells));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} ({}), USD",
        report.connection,
        report.provider.display_name()
    );
    print!("{}", text_table(&columns, &cells, None));
    for note in &report.notes {
        println!("· {note}");
    }
    Ok(ExitCode::SUCCESS)
}
