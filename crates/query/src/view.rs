//! The views every surface shows: the four cost views read from synced bills (Providers,
//! Workspaces, API Keys, Models) and the three attribution views read from metered calls
//! (Customers, Products, Agents), with the columns each sorts by.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use spendlens_store::Attribution;

use crate::QueryError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    Providers,
    Workspaces,
    Keys,
    Models,
    Customers,
    Products,
    Agents,
}

/// The sort columns of the attribution views after their name column (the first is the
/// default: cost).
const fn attribution_sorts(noun: &'static str) -> [&'static str; 10] {
    [
        "cost",
        noun,
        "calls",
        "unpriced",
        "tokens",
        "avg_cost_per_call",
        "error_share",
        "previous_cost",
        "trend",
        "share",
    ]
}

const CUSTOMER_SORTS: [&str; 10] = attribution_sorts("customer");
const PRODUCT_SORTS: [&str; 10] = attribution_sorts("product");
const AGENT_SORTS: [&str; 10] = attribution_sorts("agent");

impl View {
    /// The four cost views (synced bills).
    pub const ALL: [View; 4] = [View::Providers, View::Workspaces, View::Keys, View::Models];
    /// The three attribution views (metered calls).
    pub const ATTRIBUTION: [View; 3] = [View::Customers, View::Products, View::Agents];

    pub const fn as_str(self) -> &'static str {
        match self {
            View::Providers => "providers",
            View::Workspaces => "workspaces",
            View::Keys => "keys",
            View::Models => "models",
            View::Customers => "customers",
            View::Products => "products",
            View::Agents => "agents",
        }
    }

    /// The attribution dimension an attribution view groups metered calls by.
    pub const fn attribution(self) -> Option<Attribution> {
        match self {
            View::Customers => Some(Attribution::Customer),
            View::Products => Some(Attribution::Product),
            View::Agents => Some(Attribution::Agent),
            _ => None,
        }
    }

    /// The columns a view sorts by; the first is the default.
    pub const fn sort_columns(self) -> &'static [&'static str] {
        match self {
            View::Providers => &[
                "cost",
                "provider",
                "share",
                "previous_cost",
                "trend",
                "net_cost",
                "credits",
                "tokens",
                "requests",
                "coverage",
            ],
            View::Workspaces => &[
                "cost",
                "workspace",
                "provider",
                "share",
                "previous_cost",
                "trend",
                "net_cost",
                "tokens",
                "requests",
                "coverage",
            ],
            View::Keys => &[
                "cost",
                "key_name",
                "workspace",
                "provider",
                "status",
                "previous_cost",
                "trend",
                "tokens",
                "requests",
                "cost_per_1m",
                "coverage",
            ],
            View::Models => &[
                "cost",
                "model",
                "provider",
                "cost_per_1m",
                "previous_cost",
                "trend",
                "tokens",
                "requests",
                "avg_tokens_per_request",
                "coverage",
            ],
            View::Customers => &CUSTOMER_SORTS,
            View::Products => &PRODUCT_SORTS,
            View::Agents => &AGENT_SORTS,
        }
    }
}

impl FromStr for View {
    type Err = QueryError;
    fn from_str(text: &str) -> Result<View, QueryError> {
        match text.trim() {
            "providers" => Ok(View::Providers),
            "workspaces" => Ok(View::Workspaces),
            "keys" | "api-keys" => Ok(View::Keys),
            "models" => Ok(View::Models),
            "customers" => Ok(View::Customers),
            "products" => Ok(View::Products),
            "agents" => Ok(View::Agents),
            other => Err(QueryError::Invalid(format!(
                "unknown view \"{other}\"; use providers, workspaces, keys, models, customers, products or agents"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_parses_from_its_name_and_sorts_by_cost_first() {
        for view in View::ALL.into_iter().chain(View::ATTRIBUTION) {
            assert_eq!(view.as_str().parse::<View>().unwrap(), view);
            assert_eq!(view.sort_columns()[0], "cost");
            assert_eq!(
                view.attribution().is_some(),
                View::ATTRIBUTION.contains(&view)
            );
        }
        assert!(View::Customers.sort_columns().contains(&"customer"));
        assert!("clients".parse::<View>().is_err());
    }
}
