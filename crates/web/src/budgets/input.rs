//! Budget caps as the API and the dashboard take them in and give them out: the checked
//! input (one message per problem) and the JSON of a cap.

use serde::Deserialize;
use serde_json::{Value, json};
use spendlens_domain::budget::{
    CapScope, CapSpec, DEFAULT_SOFT_PCT, Provenance, UnpricedPolicy, check_soft_pct, parse_limit,
    parse_soft_pct,
};
use spendlens_store::{BudgetCapRow, BudgetCapVersion};

/// A cap to create or the new definition of one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapInput {
    pub name: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// `DAILY`, `WEEKLY` or `MONTHLY`.
    pub period: String,
    /// USD as decimal text (`"250"`, `"12.50"`) or a JSON number.
    pub limit: Value,
    /// 1–100; 80 when absent.
    #[serde(default)]
    pub soft_pct: Option<Value>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `platform` (default) or `tenant`.
    #[serde(default)]
    pub provenance: Option<String>,
    /// `fail_open` (default) or `fail_closed`.
    #[serde(default)]
    pub unpriced: Option<String>,
    /// An edit is refused when the cap is at another version now.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl CapInput {
    /// The checked definition, or every problem found, joined.
    pub fn into_spec(self) -> Result<CapSpec, String> {
        let mut problems = Vec::new();
        let scope = CapScope::new(
            self.provider.as_deref(),
            self.workspace.as_deref(),
            self.api_key.as_deref(),
            self.customer.as_deref(),
            self.model.as_deref(),
        )
        .map_err(|e| problems.push(e.to_string()))
        .ok();
        let period = self
            .period
            .parse()
            .map_err(|e: spendlens_domain::budget::BudgetError| problems.push(e.to_string()))
            .ok();
        let limit = parse_limit(&text_of(&self.limit))
            .map_err(|e| problems.push(e.to_string()))
            .ok();
        let soft_pct = match &self.soft_pct {
            None | Some(Value::Null) => Some(DEFAULT_SOFT_PCT),
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u8::try_from(n).ok()) {
                Some(n) => check_soft_pct(n)
                    .map_err(|e| problems.push(e.to_string()))
                    .ok(),
                None => {
                    problems.push(format!(
                        "the soft limit is a whole percentage from 1 to 100, not {n}"
                    ));
                    None
                }
            },
            Some(other) => parse_soft_pct(&text_of(other))
                .map_err(|e| problems.push(e.to_string()))
                .ok(),
        };
        let provenance = self
            .provenance
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map_or(Ok(Provenance::Platform), str::parse)
            .map_err(|e| problems.push(e.to_string()))
            .ok();
        let unpriced = self
            .unpriced
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map_or(Ok(UnpricedPolicy::FailOpen), str::parse)
            .map_err(|e| problems.push(e.to_string()))
            .ok();
        if self.name.trim().is_empty() {
            problems.push("a budget needs a name".to_owned());
        }
        if provenance == Some(Provenance::Tenant)
            && scope.as_ref().is_some_and(|s| s.customer.is_none())
        {
            problems
                .push("a tenant cap belongs to a customer: set the customer it is for".to_owned());
        }
        match (scope, period, limit, soft_pct, provenance, unpriced) {
            (
                Some(scope),
                Some(period),
                Some(limit),
                Some(soft_pct),
                Some(provenance),
                Some(unpriced),
            ) if problems.is_empty() => {
                let spec = CapSpec {
                    name: self.name.trim().to_owned(),
                    scope,
                    period,
                    limit,
                    soft_pct,
                    enabled: self.enabled.unwrap_or(true),
                    provenance,
                    unpriced,
                };
                spec.validate().map_err(|e| e.to_string())?;
                Ok(spec)
            }
            _ => Err(problems.join("; ")),
        }
    }
}

fn spec_json(spec: &CapSpec) -> Value {
    json!({
        "name": spec.name,
        "scope": spec.scope.to_string(),
        "provider": spec.scope.provider,
        "workspace": spec.scope.workspace,
        "api_key": spec.scope.api_key,
        "customer": spec.scope.customer,
        "model": spec.scope.model,
        "period": spec.period.as_str(),
        "period_boundaries": spec.period.boundaries(),
        "limit": spec.limit,
        "soft_pct": spec.soft_pct,
        "soft_limit": spec.soft_limit(),
        "enabled": spec.enabled,
        "provenance": spec.provenance.as_str(),
        "unpriced": spec.unpriced.as_str(),
    })
}

/// A cap as JSON.
pub fn cap_json(cap: &BudgetCapRow) -> Value {
    let mut value = spec_json(&cap.spec);
    if let Value::Object(map) = &mut value {
        map.insert("id".to_owned(), json!(cap.id));
        map.insert("version".to_owned(), json!(cap.version));
        map.insert("created_at".to_owned(), json!(rfc3339(cap.created_at)));
        map.insert("updated_at".to_owned(), json!(rfc3339(cap.updated_at)));
        map.insert("updated_by".to_owned(), json!(cap.updated_by));
    }
    value
}

/// A version as JSON.
pub fn version_json(v: &BudgetCapVersion) -> Value {
    let mut value = spec_json(&v.spec);
    if let Value::Object(map) = &mut value {
        map.insert("cap_id".to_owned(), json!(v.cap_id));
        map.insert("version".to_owned(), json!(v.version));
        map.insert("change".to_owned(), json!(v.change));
        map.insert("changed_at".to_owned(), json!(rfc3339(v.changed_at)));
        map.insert("changed_by".to_owned(), json!(v.changed_by));
    }
    value
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The input that edits `cap` into itself (the dashboard's edit form starts from it).
pub fn input_of(cap: &BudgetCapRow) -> CapInput {
    let s = &cap.spec;
    CapInput {
        name: s.name.clone(),
        provider: s.scope.provider.clone(),
        workspace: s.scope.workspace.clone(),
        api_key: s.scope.api_key.clone(),
        customer: s.scope.customer.clone(),
        model: s.scope.model.clone(),
        period: s.period.as_str().to_owned(),
        limit: Value::String(s.limit.to_exact_string()),
        soft_pct: Some(json!(s.soft_pct)),
        enabled: Some(s.enabled),
        provenance: Some(s.provenance.as_str().to_owned()),
        unpriced: Some(s.unpriced.as_str().to_owned()),
        expected_version: Some(cap.version),
    }
}
