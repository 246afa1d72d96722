//! spendlens's domain: the types every layer shares and the pure decisions made on them.
//!
//! Nothing here does I/O or knows HTTP or SQL. Time comes in as a parameter or through a
//! [`Clock`]; [`SystemClock`] is the one reader of the system time in the workspace.

pub mod alerts;
pub mod allocation;
pub mod billing;
pub mod budget;
pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod cost_line;
pub mod credential;
pub mod display;
pub mod ids;
pub mod lookback;
pub mod money;
pub mod password;
pub mod provider;
pub mod scope;
pub mod services;
pub mod status;
pub mod tenant;
pub mod trend;
pub mod usage;

pub use billing::{Billed, BillingError, ConversionRate};
pub use calendar::{CalendarError, Day, DayRange, PeriodPreset};
pub use catalog::{
    CanonicalUsage, ModelPrice, PriceCatalog, PriceEntry, PriceSource, Priced, Pricing, Unpriced,
    price,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use cost_line::{CostLine, LineKey};
pub use credential::{Credential, CredentialShapeError};
pub use ids::{ApiKeyId, ConnectionId, OrgId, SyncRunId, WorkspaceId};
pub use lookback::{Lookback, MAX_LOOKBACK_DAYS};
pub use money::{Currency, Money, MoneyError, Quantity};
pub use provider::ProviderKind;
pub use scope::{Scope, ScopeError, Scopes};
pub use status::{ConnectionStatus, Role, SyncRequest, SyncRunStatus, SyncTrigger, UnknownValue};
pub use trend::Trend;
pub use usage::{
    ApiKeyRecord, BilledCost, Category, FetchedWindow, KeyStatus, TokenClass, TokenCounts, Unit,
    UsageRecord, WorkspaceRecord,
};
