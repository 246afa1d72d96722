//! Adding and testing connections, shared by the CLI and the API: check the credential's
//! shape before any network call, then make one cheap live call, then save it encrypted.

use spendlens_domain::{Credential, CredentialShapeError, ProviderKind};
use spendlens_providers::{ConnectionCheck, ProviderError};
use spendlens_store::{Actor, ConnectionId, ConnectionRow, NewConnection, OrgId, StoreError};

use crate::{SyncEngine, SyncError};

/// What a new connection is asked to be.
#[derive(Debug)]
pub struct AddConnection<'a> {
    pub provider: ProviderKind,
    pub name: &'a str,
    /// The credential as pasted.
    pub secret: &'a str,
    pub base_url: Option<&'a str>,
    /// Skip the live call (offline setups); the first sync will tell.
    pub skip_check: bool,
    pub sync_interval_secs: i64,
    pub backfill_days: i64,
    /// The connection's own look-back in days; `None`: the provider's (`ProviderKind::lookback`).
    pub lookback_days: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AddConnectionError {
    /// The credential has the wrong shape: nothing was sent anywhere.
    #[error("{0}")]
    Shape(#[from] CredentialShapeError),
    #[error("{0}")]
    BaseUrl(String),
    /// The provider refused or could not be reached: nothing was saved.
    #[error("{0} The connection was not saved.")]
    Check(ProviderError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AddConnectionError {
    /// A live check's failure: the provider's refusal, the store's error, or why it could not
    /// run.
    fn from_check(err: SyncError) -> AddConnectionError {
        match err {
            SyncError::Provider(provider) => AddConnectionError::Check(provider),
            SyncError::Store(store) => AddConnectionError::Store(store),
            other => AddConnectionError::Invalid(other.to_string()),
        }
    }

    /// What a refused new key ([`SyncEngine::replace_credential_as`]) tells the user: why,
    /// then that the stored key stands. (The `Check` variant's own text speaks of a connection
    /// not saved, which is an add's outcome.)
    pub fn key_not_changed(&self) -> String {
        let why = match self {
            AddConnectionError::Check(provider) => provider.to_string(),
            other => other.to_string(),
        };
        spendlens_domain::display::then_sentence(&why, "The key was not changed.")
    }
}

impl SyncEngine {
    /// Validates, checks live (unless asked not to) and saves a connection, not audited
    /// (tests, the demo's seeding).
    pub async fn add_connection(
        &self,
        org: OrgId,
        request: AddConnection<'_>,
    ) -> Result<(ConnectionRow, Option<ConnectionCheck>), AddConnectionError> {
        self.save_connection(org, request, None).await
    }

    /// Validates, checks live (unless asked not to) and saves a connection, audited as
    /// `actor`'s (`connection.add`) in the saving transaction.
    pub async fn add_connection_as(
        &self,
        org: OrgId,
        request: AddConnection<'_>,
        actor: Actor<'_>,
    ) -> Result<(ConnectionRow, Option<ConnectionCheck>), AddConnectionError> {
        self.save_connection(org, request, Some(actor)).await
    }

    async fn save_connection(
        &self,
        org: OrgId,
        request: AddConnection<'_>,
        audit: Option<Actor<'_>>,
    ) -> Result<(ConnectionRow, Option<ConnectionCheck>), AddConnectionError> {
        let credential = Credential::parse(request.provider, request.secret)?;
        let base_url = match request.base_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(text) => Some(
                self.check_base_url(text)
                    .map_err(AddConnectionError::BaseUrl)?,
            ),
            None => None,
        };
        if !(1..=400).contains(&request.backfill_days) {
            return Err(AddConnectionError::Invalid(
                "the backfill must be between 1 and 400 days".to_owned(),
            ));
        }
        let max = spendlens_domain::MAX_LOOKBACK_DAYS;
        if let Some(days) = request.lookback_days
            && !(0..=max).contains(&days)
        {
            return Err(AddConnectionError::Invalid(format!(
                "the look-back must be between 0 and {max} days (or left out for the provider's \
                 own: {})",
                request.provider.lookback().describe()
            )));
        }
        if !(300..=7 * 86_400).contains(&request.sync_interval_secs) {
            return Err(AddConnectionError::Invalid(
                "the sync interval must be between 5 minutes and 7 days".to_owned(),
            ));
        }
        spendlens_store::validate_connection_name(request.name)?;
        let base_text = base_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned());
        let check = if request.skip_check {
            None
        } else {
            Some(
                self.check_credential(&credential, base_text.as_deref())
                    .await
                    .map_err(AddConnectionError::from_check)?,
            )
        };
        let new = NewConnection {
            name: request.name,
            credential: &credential,
            base_url: base_text.as_deref(),
            sync_interval_secs: request.sync_interval_secs,
            backfill_days: request.backfill_days,
            lookback_days: request.lookback_days,
        };
        let row = match audit {
            Some(actor) => {
                self.store()
                    .create_connection_as(org, new, self.vault(), actor)
                    .await?
            }
            None => {
                self.store()
                    .create_connection(org, new, self.vault(), self.now())
                    .await?
            }
        };
        Ok((row, check))
    }

    /// Gives a connection a new key (a rotated one, or one for a disconnected connection):
    /// checked for its shape, then live against the connection's own base URL, and saved
    /// (audited as `actor`'s) only when both pass. The connection keeps its id and history and
    /// is pending until its next sync.
    pub async fn replace_credential_as(
        &self,
        org: OrgId,
        id: ConnectionId,
        secret: &str,
        actor: Actor<'_>,
    ) -> Result<(ConnectionRow, ConnectionCheck), AddConnectionError> {
        let connection = self.store().get_connection(org, id).await?;
        let credential = Credential::parse(connection.provider, secret)?;
        let check = self
            .check_credential(&credential, connection.base_url.as_deref())
            .await
            .map_err(AddConnectionError::from_check)?;
        let row = self
            .store()
            .replace_credential(org, id, &credential, self.vault(), actor)
            .await?;
        Ok((row, check))
    }

    /// Tests a stored connection's credential with one live call.
    pub async fn test_connection(
        &self,
        org: OrgId,
        id: ConnectionId,
    ) -> Result<ConnectionCheck, SyncError> {
        let connection = self.store().get_connection(org, id).await?;
        let credential = self
            .store()
            .load_credential(org, id, self.vault())
            .await?
            .ok_or_else(|| SyncError::NoCredential {
                name: connection.name.clone(),
            })?;
        self.check_credential(&credential, connection.base_url.as_deref())
            .await
    }
}
