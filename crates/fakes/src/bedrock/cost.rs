//! `GetCostAndUsage` (doc §4, §5): one `ResultsByTime` entry per DAILY or MONTHLY period of
//! `[Start, End)` (a MONTHLY period is cut to the request's bounds), filtered, grouped by up to
//! two keys, paged.
//!
//! Paging: a page holds whole periods — at most `page_periods` of them and, after the first,
//! no more than `page_groups` groups in total — so every day appears on exactly one page and a
//! 90-day DAILY query takes several pages. `NextPageToken` is bound to the other parameters.
//!
//! Output: `Amount`s are decimal strings ([`super::amount`]); cost metrics have `Unit` `USD`,
//! `UsageQuantity` (summed without regard to units, as the service does) has `Unit` `N/A`, as
//! in the document's example even when grouped by USAGE_TYPE — read the unit from
//! GetDimensionValues. `Total` is `{}` when grouped and the metrics (zeros included) when not;
//! groups come sorted by their keys and only where records exist. `Estimated` is true for
//! periods that reach into the last `estimated_days` days or past `today`.
//! `DimensionValueAttributes` lists the account names when grouped by LINKED_ACCOUNT.
//! Under [`Fault::MissingField`](crate::Fault::MissingField) every metric lacks its `Amount`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::amount;
use super::catalog::product_of;
use super::data::{Data, Row};
use super::http::{AwsError, Prepared, Settings};
use super::request::{Attr, CostRequest, Dim, Expr, Granularity, GroupKey, Metric};
use super::token::{PageToken, params_hash};
use crate::common::respond::Variant;
use crate::common::time_text::{date_of, unix_day};

pub(crate) const OPERATION: &str = "GetCostAndUsage";

/// The value a record has for a dimension.
pub(crate) fn dim_value<'a>(data: &'a Data, row: &Row, dim: Dim) -> &'a str {
    let product = product_of(row.product);
    match dim {
        Dim::Service => product.service,
        Dim::UsageType => product.usage_type,
        Dim::RecordType => row.record.name(),
        Dim::LinkedAccount => data.account_id(row.account),
        Dim::Region => product.region,
        Dim::BillingEntity => product.billing_entity(),
    }
}

pub(crate) fn attr_value(row: &Row, attr: Attr) -> &'static str {
    let product = product_of(row.product);
    match attr {
        Attr::Provider => product.provider,
        Attr::Model => product.model,
        Attr::InferenceType => product.inference_type,
        Attr::Feature => product.feature,
    }
}

/// Does the record pass the filter? (EQUALS and CASE_SENSITIVE are both exact matches.)
pub(crate) fn admits(data: &Data, expr: &Expr, row: &Row) -> bool {
    match expr {
        Expr::And(list) => list.iter().all(|e| admits(data, e, row)),
        Expr::Or(list) => list.iter().any(|e| admits(data, e, row)),
        Expr::Not(inner) => !admits(data, inner, row),
        Expr::Dimension { dim, values } => {
            let v = dim_value(data, row, *dim);
            values.iter().any(|w| w == v)
        }
        Expr::Untagged { absent_matches } => *absent_matches,
        Expr::ProductAttribute { attr, values } => {
            let v = attr_value(row, *attr);
            values.iter().any(|w| w == v)
        }
    }
}

fn group_key(data: &Data, key: &GroupKey, row: &Row) -> String {
    match key {
        GroupKey::Dimension(d) => dim_value(data, row, *d).to_owned(),
        GroupKey::Tag(tag) => format!("{tag}$"),
        GroupKey::ProductAttribute(a) => format!("{}${}", a.name(), attr_value(row, *a)),
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    unblended: i128,
    net: i128,
    quantity: i128,
}

impl Sums {
    fn add(&mut self, row: &Row) {
        self.unblended += i128::from(row.nanos);
        self.net += i128::from(row.net_nanos);
        self.quantity += i128::try_from(row.quantity_micros()).unwrap_or(i128::MAX);
    }
}

/// `[start, end)` Unix days of each period of the request.
fn periods(request: &CostRequest) -> Vec<(i64, i64)> {
    let (start, end) = (request.period.start, request.period.end);
    match request.granularity {
        Granularity::Daily => (start..end).map(|d| (d, d + 1)).collect(),
        Granularity::Monthly => {
            let mut out = Vec::new();
            let mut from = start;
            while from < end {
                let next = next_month_start(from).min(end);
                out.push((from, next));
                from = next;
            }
            out
        }
    }
}

fn next_month_start(day: i64) -> i64 {
    let Some(date) = date_of(day) else {
        return day + 1;
    };
    let (year, month) = match date.month() {
        time::Month::December => (date.year() + 1, time::Month::January),
        m => (date.year(), m.next()),
    };
    time::Date::from_calendar_date(year, month, 1).map_or(day + 1, unix_day)
}

fn day_text(day: i64) -> String {
    date_of(day).map(|d| d.to_string()).unwrap_or_default()
}

struct Evaluated {
    period: (i64, i64),
    groups: BTreeMap<Vec<String>, Sums>,
    /// Accounts seen (for DimensionValueAttributes).
    accounts: Vec<u8>,
}

struct Request {
    data: Arc<Data>,
    request: CostRequest,
    /// Periods of this page, evaluated.
    page: Vec<Evaluated>,
    next: Option<PageToken>,
    sent_token: Option<String>,
    params: u64,
    page_number: u32,
}

fn evaluate(data: &Data, request: &CostRequest, period: (i64, i64)) -> Evaluated {
    let mut groups: BTreeMap<Vec<String>, Sums> = BTreeMap::new();
    let mut accounts = Vec::new();
    for row in data.rows.between(period.0, period.1 - 1) {
        if !request.filter.as_ref().is_none_or(|f| admits(data, f, row)) {
            continue;
        }
        let key: Vec<String> = request
            .group_by
            .iter()
            .map(|g| group_key(data, g, row))
            .collect();
        groups.entry(key).or_default().add(row);
        if !accounts.contains(&row.account) {
            accounts.push(row.account);
        }
    }
    Evaluated {
        period,
        groups,
        accounts,
    }
}

pub(crate) fn prepare(
    data: &Arc<Data>,
    settings: &Settings,
    body: &Value,
    request: CostRequest,
) -> Result<Prepared, AwsError> {
    let params = params_hash(OPERATION, body);
    let all = periods(&request);
    let (position, page_number) = match &request.next_page_token {
        None => (0, 1),
        Some(text) => {
            let token = PageToken::decode(text).ok_or_else(AwsError::invalid_token)?;
            if token.params != params {
                return Err(AwsError::request_changed());
            }
            if token.position as usize >= all.len().max(1) {
                return Err(AwsError::invalid_token());
            }
            (token.position as usize, token.page)
        }
    };
    let mut page = Vec::new();
    let mut groups = 0usize;
    let mut index = position;
    while index < all.len() && page.len() < settings.page_periods as usize {
        let evaluated = evaluate(data, &request, all[index]);
        let count = evaluated.groups.len().max(1);
        if !page.is_empty() && groups + count > settings.page_groups as usize {
            break;
        }
        groups += count;
        page.push(evaluated);
        index += 1;
    }
    let next = (index < all.len()).then(|| PageToken {
        params,
        position: index as u32,
        page: page_number + 1,
    });
    let sent_token = request.next_page_token.clone();
    let prepared = Request {
        data: Arc::clone(data),
        request,
        page,
        next,
        sent_token,
        params,
        page_number,
    };
    Ok(Prepared {
        page: page_number,
        render: Box::new(move |variant| prepared.render(variant)),
    })
}

impl Request {
    fn metrics(&self, sums: &Sums, missing: bool) -> Value {
        let mut out = Map::new();
        for metric in &self.request.metrics {
            let (amount, unit) = match metric {
                Metric::UnblendedCost | Metric::BlendedCost | Metric::AmortizedCost => {
                    (amount::dollars(sums.unblended), "USD")
                }
                Metric::NetUnblendedCost | Metric::NetAmortizedCost => {
                    (amount::dollars(sums.net), "USD")
                }
                Metric::UsageQuantity => (amount::quantity(sums.quantity), "N/A"),
                Metric::NormalizedUsageAmount => ("0".to_owned(), "N/A"),
            };
            let value = if missing {
                json!({"Unit": unit})
            } else {
                json!({"Amount": amount, "Unit": unit})
            };
            out.insert(metric.name().to_owned(), value);
        }
        Value::Object(out)
    }

    fn render(&self, variant: Variant) -> Vec<u8> {
        let missing = variant == Variant::MissingField;
        let grouped = !self.request.group_by.is_empty();
        let mut accounts: Vec<u8> = Vec::new();
        let results: Vec<Value> = self
            .page
            .iter()
            .map(|e| {
                for a in &e.accounts {
                    if !accounts.contains(a) {
                        accounts.push(*a);
                    }
                }
                let (total, groups) = if grouped {
                    let groups: Vec<Value> = e
                        .groups
                        .iter()
                        .map(|(keys, sums)| json!({"Keys": keys, "Metrics": self.metrics(sums, missing)}))
                        .collect();
                    (json!({}), groups)
                } else {
                    let sums = e.groups.values().next().copied().unwrap_or_default();
                    (self.metrics(&sums, missing), Vec::new())
                };
                json!({
                    "TimePeriod": {"Start": day_text(e.period.0), "End": day_text(e.period.1)},
                    "Total": total,
                    "Groups": groups,
                    "Estimated": e.period.1 > self.data.estimated_from,
                })
            })
            .collect();
        let mut out = Map::new();
        let next = match variant {
            Variant::RepeatPage => Some(self.sent_token.clone().unwrap_or_else(|| {
                PageToken {
                    params: self.params,
                    position: 0,
                    page: self.page_number,
                }
                .encode()
            })),
            _ => self.next.map(PageToken::encode),
        };
        if let Some(token) = next {
            out.insert("NextPageToken".into(), Value::String(token));
        }
        if grouped {
            let definitions: Vec<Value> = self
                .request
                .group_by
                .iter()
                .map(GroupKey::definition)
                .collect();
            out.insert("GroupDefinitions".into(), Value::Array(definitions));
        }
        out.insert("ResultsByTime".into(), Value::Array(results));
        let by_account = self
            .request
            .group_by
            .contains(&GroupKey::Dimension(Dim::LinkedAccount));
        accounts.sort_unstable();
        let attributes: Vec<Value> = if by_account {
            accounts
                .iter()
                .filter_map(|&a| self.data.accounts.get(usize::from(a)))
                .map(|a| json!({"Value": a.id, "Attributes": {"description": a.name}}))
                .collect()
        } else {
            Vec::new()
        };
        out.insert("DimensionValueAttributes".into(), Value::Array(attributes));
        serde_json::to_vec(&Value::Object(out)).unwrap_or_default()
    }
}
