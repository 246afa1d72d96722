//! Placeholder: the Fal connector is being written (see the issue); until then it reports
//! itself as not available.

use spendlens_domain::{Credential, DayRange, FetchedWindow, ProviderKind};

use crate::error::ProviderError;
use crate::http::CallStats;
use crate::{ConnectionCheck, ConnectorConfig};

pub(crate) async fn fetch_window(
    _credential: &Credential,
    _config: &ConnectorConfig,
    _window: DayRange,
    _stats: &CallStats,
) -> Result<FetchedWindow, ProviderError> {
    Err(ProviderError::NotAvailable {
        provider: ProviderKind::Fal,
    })
}

pub(crate) async fn check_connection(
    _credential: &Credential,
    _config: &ConnectorConfig,
    _stats: &CallStats,
) -> Result<ConnectionCheck, ProviderError> {
    Err(ProviderError::NotAvailable {
        provider: ProviderKind::Fal,
    })
}
