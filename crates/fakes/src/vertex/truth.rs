//! Ground truth of the Vertex fake: the export rows aggregated at the grain of the §8 query
//! over whole UTC days, with exact amounts. Date ranges are inclusive; amounts are plain
//! decimal strings in the billing currency (never exponent form) or integer nano-units.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::Date;

use super::Config;
use super::catalog::{PROJECTS, sku_of};
use super::data::Data;
use super::query::{ServiceFilter, aggregate, numeric, service_description};
use crate::common::time_text::{date_of, unix_day};

/// Exact figures of the data a [`VertexFake`](super::VertexFake) serves.
#[derive(Debug, Clone)]
pub struct VertexTruth {
    pub(crate) data: Arc<Data>,
    pub(crate) config: Arc<Config>,
}

/// One row of the §8 query over whole days: one (day, service, SKU, project, currency,
/// cost type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingLine {
    pub day: Date,
    pub service_id: String,
    pub service: String,
    pub sku_id: String,
    pub sku: String,
    /// `""` where the export's `project` is NULL (tax rows).
    pub project_id: String,
    pub currency: String,
    /// `currency_conversion_rate` as text (`"0.92"`): billing-currency units per USD.
    pub conversion_rate: String,
    /// `regular`, `tax` or `adjustment`.
    pub cost_type: String,
    /// Vertex AI or Gemini API.
    pub is_ai: bool,
    /// Gross cost, before credits, in nano-units of the currency.
    pub cost_nanos: i64,
    /// All credits (≤ 0).
    pub credits_nanos: i64,
    /// `PROMOTION` credits only (≤ 0).
    pub promo_credits_nanos: i64,
    /// Exact decimal text of the amounts above, and of net = cost + credits.
    pub cost: String,
    pub credits: String,
    pub promo_credits: String,
    pub net: String,
    /// Σ `usage.amount_in_pricing_units`, plain decimal; `None` where usage is NULL.
    pub pricing_qty: Option<String>,
    pub pricing_unit: Option<String>,
    /// `invoice.month` (`YYYYMM`) when grouped by it ([`VertexTruth::lines_by_invoice_month`]),
    /// else empty.
    pub invoice_month: String,
}

/// A service the export holds rows of (the discovery query's grain, every name its rows
/// carry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTruth {
    pub id: String,
    /// The current name.
    pub name: String,
    /// Other names its rows carry (a renamed service's former name).
    pub other_names: Vec<String>,
    pub transaction_type: String,
    pub seller: String,
    /// Vertex AI, the Gemini API or a partner model.
    pub is_ai: bool,
    /// Gross cost of its rows over the range, nano-units of the billing currency.
    pub cost_nanos: i64,
}

/// Cost, credits and net of some lines, as exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amounts {
    pub cost: String,
    pub credits: String,
    pub net: String,
}

fn amounts(cost: i128, credits: i128) -> Amounts {
    Amounts {
        cost: numeric(cost),
        credits: numeric(credits),
        net: numeric(cost + credits),
    }
}

impl VertexTruth {
    fn date(day: i64) -> Date {
        date_of(day).unwrap_or(Date::MIN)
    }

    /// The first day with data.
    pub fn first_day(&self) -> Date {
        Self::date(self.data.first_day)
    }

    /// The last day with data (the configured `today`).
    pub fn last_day(&self) -> Date {
        Self::date(self.data.last_day)
    }

    /// The project the billing export lives in and queries run in.
    pub fn project(&self) -> &str {
        &self.config.project
    }

    /// The export dataset.
    pub fn dataset(&self) -> &str {
        &self.config.dataset
    }

    /// The export table with the data, `gcp_billing_export_v1_<ACCOUNT>`.
    pub fn table(&self) -> &str {
        &self.config.table
    }

    /// The billing account id, `XXXXXX-XXXXXX-XXXXXX`.
    pub fn billing_account_id(&self) -> &str {
        &self.config.billing_account_id
    }

    /// The dataset location (`US` by default).
    pub fn location(&self) -> &str {
        &self.config.location
    }

    /// The billing account's currency (`USD` by default).
    pub fn currency(&self) -> &str {
        &self.config.currency
    }

    /// The export's `currency_conversion_rate` as exact text (`"1"` for USD, `"0.92"`).
    pub fn conversion_rate(&self) -> String {
        numeric(i128::from(self.config.rate_micros) * 1_000)
    }

    /// The `gcp_billing_export_v1_*` tables discovery finds, sorted.
    pub fn export_tables(&self) -> Vec<String> {
        use super::ExportTables;
        let mut tables = match self.config.export_tables {
            ExportTables::One => vec![self.config.table.clone()],
            ExportTables::Two => vec![self.config.table.clone(), self.config.second_table.clone()],
            ExportTables::None | ExportTables::NoDatasets => Vec::new(),
        };
        tables.sort();
        tables
    }

    /// Bytes BigQuery processes reading the ingestion partitions of days `from..=to` (UTC):
    /// every row loaded into them, whatever its usage time.
    pub fn bytes_of_partitions(&self, from: Date, to: Date) -> u64 {
        let (from, to) = (unix_day(from), unix_day(to));
        let rows = self
            .data
            .rows
            .all()
            .iter()
            .filter(|row| (from..=to).contains(&row.partition_day()))
            .count() as u64;
        rows * super::partition::ROW_BYTES
    }

    /// Bytes the service discovery query (doc §6) processes reading the ingestion partitions of
    /// days `from..=to`: it reads fewer columns than the §8 query.
    pub fn discovery_bytes_of_partitions(&self, from: Date, to: Date) -> u64 {
        self.bytes_of_partitions(from, to) / super::partition::ROW_BYTES
            * super::services::DISCOVERY_ROW_BYTES
    }

    /// Bytes the discovery query processes scanning the whole table.
    pub fn discovery_bytes_of_table(&self) -> u64 {
        self.data.rows.all().len() as u64 * super::services::DISCOVERY_ROW_BYTES
    }

    /// Bytes BigQuery processes scanning the whole export table (no partition filter).
    pub fn bytes_of_table(&self) -> u64 {
        self.data.rows.all().len() as u64 * super::partition::ROW_BYTES
    }

    /// `(id, name)` of every project with rows.
    pub fn projects(&self) -> Vec<(String, String)> {
        PROJECTS
            .iter()
            .map(|p| (p.id.to_owned(), p.name.to_owned()))
            .collect()
    }

    /// Every row of the §8 query (no `services` filter) for whole days `from..=to`.
    pub fn lines(&self, from: Date, to: Date) -> Vec<BillingLine> {
        self.lines_grouped(from, to, false)
    }

    /// The same, grouped by `invoice.month` too (a row per invoice month a day's SKU was
    /// billed on), as a query selecting `invoice.month` gets them.
    pub fn lines_by_invoice_month(&self, from: Date, to: Date) -> Vec<BillingLine> {
        self.lines_grouped(from, to, true)
    }

    fn lines_grouped(&self, from: Date, to: Date, by_invoice: bool) -> Vec<BillingLine> {
        let start = i128::from(unix_day(from)) * 86_400_000_000;
        let end = i128::from(unix_day(to) + 1) * 86_400_000_000;
        aggregate(
            &self.data,
            start,
            end,
            &ServiceFilter::All,
            None,
            by_invoice,
        )
        .into_iter()
        .map(|(key, sums)| {
            let sku = sku_of(key.sku);
            let narrow = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
            BillingLine {
                day: Self::date(key.day),
                service_id: key.service.to_owned(),
                service: service_description(key.service, key.day, self.data.last_day).to_owned(),
                sku_id: sku.id.to_owned(),
                sku: sku.description.to_owned(),
                project_id: key.project_id.to_owned(),
                currency: self.config.currency.clone(),
                conversion_rate: numeric(i128::from(self.config.rate_micros) * 1_000),
                cost_type: key.cost_type.name().to_owned(),
                is_ai: sku.service.ai,
                cost_nanos: narrow(sums.cost),
                credits_nanos: narrow(sums.credits),
                promo_credits_nanos: narrow(sums.promo),
                cost: numeric(sums.cost),
                credits: numeric(sums.credits),
                promo_credits: numeric(sums.promo),
                net: numeric(sums.cost + sums.credits),
                pricing_qty: sums.quantity.map(numeric),
                pricing_unit: sums.unit.map(str::to_owned),
                invoice_month: if key.invoice_month == 0 {
                    String::new()
                } else {
                    format!("{:06}", key.invoice_month)
                },
            }
        })
        .collect()
    }

    /// The AI rows only — Vertex AI, the Gemini API and the partner models (what a connector
    /// keeps by default).
    pub fn ai_lines(&self, from: Date, to: Date) -> Vec<BillingLine> {
        let mut lines = self.lines(from, to);
        lines.retain(|l| l.is_ai);
        lines
    }

    /// Every service with rows used on days `from..=to`, by id.
    pub fn services(&self, from: Date, to: Date) -> Vec<ServiceTruth> {
        let (from, to) = (unix_day(from), unix_day(to));
        let mut out: BTreeMap<&str, ServiceTruth> = BTreeMap::new();
        for row in self.data.rows.all() {
            if row.day() < from || row.day() > to {
                continue;
            }
            let service = sku_of(row.sku).service;
            let entry = out.entry(service.id).or_insert_with(|| ServiceTruth {
                id: service.id.to_owned(),
                name: service.description.to_owned(),
                other_names: Vec::new(),
                transaction_type: service.transaction_type.to_owned(),
                seller: service.seller.to_owned(),
                is_ai: service.ai,
                cost_nanos: 0,
            });
            entry.cost_nanos += row.cost;
            let name = service.description_on(row.day(), self.data.last_day);
            if name != service.description && !entry.other_names.iter().any(|n| n == name) {
                entry.other_names.push(name.to_owned());
            }
        }
        out.into_values().collect()
    }

    /// Cost and credits (≤ 0, nano-units of the billing currency) per `invoice.month`
    /// (`YYYYMM`) of the rows used on days `from..=to` whose service id `keep` accepts.
    pub fn by_invoice_month(
        &self,
        from: Date,
        to: Date,
        keep: impl Fn(&str) -> bool,
    ) -> BTreeMap<String, (i64, i64)> {
        let (from, to) = (unix_day(from), unix_day(to));
        let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for row in self.data.rows.all() {
            if row.day() < from || row.day() > to || !keep(sku_of(row.sku).service.id) {
                continue;
            }
            let sums = out
                .entry(format!("{:06}", row.invoice_month()))
                .or_default();
            sums.0 += row.cost;
            sums.1 += row.credits();
        }
        out
    }

    /// Amounts summed per key, over the lines `key` maps to `Some`.
    pub fn amounts_by<K: Ord>(
        &self,
        from: Date,
        to: Date,
        key: impl Fn(&BillingLine) -> Option<K>,
    ) -> BTreeMap<K, Amounts> {
        let mut sums: BTreeMap<K, (i128, i128)> = BTreeMap::new();
        for line in self.lines(from, to) {
            if let Some(k) = key(&line) {
                let s = sums.entry(k).or_default();
                s.0 += i128::from(line.cost_nanos);
                s.1 += i128::from(line.credits_nanos);
            }
        }
        sums.into_iter()
            .map(|(k, (cost, credits))| (k, amounts(cost, credits)))
            .collect()
    }

    /// AI cost, credits and net per (day, project id, SKU id), every cost type included.
    pub fn ai_by_day_project_sku(
        &self,
        from: Date,
        to: Date,
    ) -> BTreeMap<(Date, String, String), Amounts> {
        self.amounts_by(from, to, |l| {
            l.is_ai
                .then(|| (l.day, l.project_id.clone(), l.sku_id.clone()))
        })
    }

    /// AI cost, credits and net over the range, every cost type included.
    pub fn ai_totals(&self, from: Date, to: Date) -> Amounts {
        self.amounts_by(from, to, |l| l.is_ai.then_some(()))
            .remove(&())
            .unwrap_or_else(|| amounts(0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::super::VertexFake;
    use time::macros::date;

    /// The truth is the §8 aggregation; check it against a plain sum of the raw rows.
    #[test]
    fn the_truth_adds_up_to_the_raw_rows() {
        let fake = VertexFake::builder()
            .seed(3)
            .today(date!(2025 - 06 - 30))
            .build();
        let truth = fake.truth();
        let (from, to) = (truth.first_day(), truth.last_day());
        let rows = fake.data.rows.all();
        let cost: i128 = rows.iter().map(|r| i128::from(r.cost)).sum();
        let credits: i128 = rows.iter().map(|r| i128::from(r.credits())).sum();
        let lines = truth.lines(from, to);
        assert_eq!(
            lines.iter().map(|l| i128::from(l.cost_nanos)).sum::<i128>(),
            cost
        );
        assert_eq!(
            lines
                .iter()
                .map(|l| i128::from(l.credits_nanos))
                .sum::<i128>(),
            credits
        );
        // Every credit is covered by its row's cost, except the credit-only row.
        let credit_only = rows
            .iter()
            .filter(|r| r.cost == 0 && r.credits() < 0)
            .count();
        assert_eq!(credit_only, 1);
        assert!(
            rows.iter()
                .all(|r| r.cost == 0 || r.cost + r.credits() >= 0 || r.cost < 0)
        );
        // The free trial covers some rows fully and ends mid-day.
        assert!(
            rows.iter()
                .any(|r| r.cost > 0 && r.promotion < 0 && r.cost + r.credits() == 0)
        );
    }
}
