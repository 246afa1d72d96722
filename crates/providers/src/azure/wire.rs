//! Azure Cost Management's `QueryResult` and ARM's error envelope as serde types
//! (shared/providers/azure-openai.md §4, §6).
//!
//! Rows are positional arrays matching `columns`; every cell is kept as its raw JSON text so
//! money (up to ~17 significant digits) is read exactly, never through `f64`. Columns are found
//! by name, case-insensitively; unknown columns and fields are ignored.

use serde::Deserialize;
use serde_json::value::RawValue;

/// `{id, name, type, properties: {nextLink, columns, rows}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct QueryResult {
    pub properties: Option<Properties>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Properties {
    #[serde(rename = "nextLink", default)]
    pub next_link: Option<String>,
    pub columns: Option<Vec<Column>>,
    pub rows: Option<Vec<Vec<Box<RawValue>>>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Column {
    pub name: String,
}

/// ARM's `{"error": {"code", "message"}}`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ArmError {
    pub error: Option<ArmErrorBody>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ArmErrorBody {
    pub code: Option<String>,
}

/// The ARM error code of an error body (`AuthorizationFailed`, `SubscriptionNotFound`, …).
pub(crate) fn error_code(body: &[u8]) -> Option<String> {
    let envelope: ArmError = serde_json::from_slice(body).unwrap_or_default();
    envelope.error.and_then(|e| e.code)
}

impl Properties {
    /// The index of the first column named one of `names` (case-insensitive).
    pub(crate) fn column(&self, names: &[&str]) -> Option<usize> {
        let columns = self.columns.as_ref()?;
        names.iter().find_map(|name| {
            columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_page_parses_with_exact_cells() {
        let page: QueryResult = serde_json::from_str(
            r#"{"id":"x","type":"microsoft.costmanagement/Query","properties":{
                "nextLink":"https://management.azure.com/subscriptions/s/providers/Microsoft.CostManagement/query?api-version=2025-03-01&$skiptoken=AQ%3D%3D",
                "columns":[{"name":"Cost","type":"Number"},{"name":"UsageDate","type":"Number"},{"name":"Currency","type":"String"}],
                "rows":[[0.009865586851323632,20250601,"EUR"]],"newField":1}}"#,
        )
        .unwrap();
        let props = page.properties.unwrap();
        assert_eq!(props.column(&["cost"]), Some(0));
        assert_eq!(props.column(&["BillingCurrency", "currency"]), Some(2));
        assert_eq!(props.rows.unwrap()[0][0].get(), "0.009865586851323632");
        assert_eq!(
            error_code(br#"{"error":{"code":"AuthorizationFailed","message":"no"}}"#).as_deref(),
            Some("AuthorizationFailed")
        );
    }
}
