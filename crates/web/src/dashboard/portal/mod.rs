//! The customer portal: the pages a tenant user sees — and the only ones (the tenant guard,
//! `crate::tenant_guard`, keeps them here whatever the route). Everything is read for the one
//! customer the user is bound to, taken from their session on the server, never from the
//! request: Spend (`spend.rs`: cards, a daily chart, cost by model and recent cost records over
//! a period) and Budgets (`budgets.rs`: the caps on that customer with their status, platform
//! caps read-only, and the customer's own caps to add, edit and delete under the platform's
//! ceiling). Admins and viewers who open it are sent to Customers.

mod budgets;
mod chart;
mod spend;

pub use budgets::{
    confirm_delete, create, delete, edit_form, new_form, page as budgets_page, update,
};
pub use spend::page;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::{AnyUser, Viewer};

/// A signed-in tenant user and the customer they are bound to.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub viewer: Viewer,
    pub customer: String,
}

impl FromRequestParts<Arc<AppState>> for Tenant {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Tenant, PageError> {
        let AnyUser(viewer) = AnyUser::from_request_parts(parts, state).await?;
        if !viewer.is_tenant() {
            // Admins and viewers see every customer there.
            return Err(PageError::Redirect("/customers".to_owned()));
        }
        match viewer.customer() {
            Some(customer) => {
                let customer = customer.to_owned();
                Ok(Tenant { viewer, customer })
            }
            None => Err(PageError::Forbidden(
                "this tenant user is bound to no customer; ask an admin to set one".to_owned(),
            )),
        }
    }
}

/// The scope of a cap as a tenant reads it: the fields besides their customer (an API key
/// masked), or "every call of CUSTOMER".
pub(crate) fn scope_text(scope: &spendlens_domain::budget::CapScope, customer: &str) -> String {
    let parts: Vec<String> = scope
        .values()
        .into_iter()
        .filter(|(field, _)| *field != "customer")
        .map(|(field, value)| match field {
            "api_key" => format!("API key {}", crate::usage::mask_key(value)),
            "provider" => format!("provider {}", crate::dashboard::cost::provider_label(value)),
            other => format!("{} {value}", other.replace('_', " ")),
        })
        .collect();
    if parts.is_empty() {
        format!("every call of {customer}")
    } else {
        format!("{customer}'s calls · {}", parts.join(" · "))
    }
}
