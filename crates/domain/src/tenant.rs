//! Tenant users: a user with the role `tenant` is bound to exactly one customer — the
//! `customer` value metered calls carry, as sent — and every other role to none. This module
//! checks that binding; the web layer keeps the tenant inside that customer's portal.

use crate::Role;

/// The longest customer a tenant can be bound to, in bytes (a budget cap's scope values are
/// at most this long, and a tenant's caps name their customer).
const MAX_CUSTOMER_BYTES: usize = 200;

/// Why a role and customer do not go together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error(
        "a tenant user is bound to one customer: give the customer value their metered calls carry (e.g. acme)"
    )]
    MissingCustomer,
    #[error("the customer is longer than {MAX_CUSTOMER_BYTES} bytes")]
    TooLong,
    #[error("the customer holds a control character")]
    ControlCharacter,
    #[error("\"*\" is not a customer: a tenant is bound to exactly one")]
    Wildcard,
    #[error(
        "only tenant users are bound to a customer; a {0} sees every customer (leave the customer empty, or choose the tenant role)"
    )]
    NotTenant(Role),
}

/// A customer value as typed: trimmed, one to [`MAX_CUSTOMER_BYTES`] bytes, no control
/// characters, not the wildcard.
fn check_customer(text: &str) -> Result<String, TenantError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TenantError::MissingCustomer);
    }
    if text.len() > MAX_CUSTOMER_BYTES {
        return Err(TenantError::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(TenantError::ControlCharacter);
    }
    if text == "*" {
        return Err(TenantError::Wildcard);
    }
    Ok(text.to_owned())
}

/// The customer a user with `role` is bound to: `Some` for a tenant (required), `None` for
/// everyone else (a customer given to an admin or viewer is refused, not ignored; blank text
/// counts as none).
pub fn binding(role: Role, customer: Option<&str>) -> Result<Option<String>, TenantError> {
    let customer = customer.filter(|c| !c.trim().is_empty());
    match (role, customer) {
        (Role::Tenant, Some(c)) => check_customer(c).map(Some),
        (Role::Tenant, None) => Err(TenantError::MissingCustomer),
        (other, Some(_)) => Err(TenantError::NotTenant(other)),
        (_, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_needs_exactly_one_customer_and_others_none() {
        assert_eq!(
            binding(Role::Tenant, Some("  acme ")),
            Ok(Some("acme".to_owned()))
        );
        assert_eq!(
            binding(Role::Tenant, None),
            Err(TenantError::MissingCustomer)
        );
        assert_eq!(
            binding(Role::Tenant, Some("   ")),
            Err(TenantError::MissingCustomer)
        );
        assert_eq!(binding(Role::Tenant, Some("*")), Err(TenantError::Wildcard));
        assert_eq!(
            binding(Role::Tenant, Some("a\u{7}b")),
            Err(TenantError::ControlCharacter)
        );
        assert_eq!(
            binding(Role::Tenant, Some(&"x".repeat(201))),
            Err(TenantError::TooLong)
        );
        assert!(binding(Role::Tenant, Some(&"x".repeat(200))).is_ok());
        assert_eq!(binding(Role::Admin, None), Ok(None));
        assert_eq!(binding(Role::Viewer, Some("")), Ok(None));
        let refused = binding(Role::Viewer, Some("acme")).unwrap_err();
        assert_eq!(refused, TenantError::NotTenant(Role::Viewer));
        assert!(refused.to_string().contains("a viewer sees every customer"));
    }
}
