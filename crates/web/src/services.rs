//! Including or excluding a service of a connection's bill (Vertex): the one path the API, the
//! dashboard and the CLI share — validated, stored and audited (with what changed) by the store,
//! and said back in words here (including the re-read the next sync does).

use serde::Serialize;
use spendlens_domain::Day;
use spendlens_domain::services::ServiceChoice;
use spendlens_store::{ConnectionId, OrgId, ServiceRow, Store, StoreResult};
use time::OffsetDateTime;

use crate::AppState;

/// What a choice did.
#[derive(Clone, Debug, Serialize)]
pub struct ChoiceOutcome {
    pub service: ServiceRow,
    /// The day the next sync reads again from, when whether the service counts changed.
    pub reread_from: Option<Day>,
    pub message: String,
}

/// Sets the choice (audited under `actor` in the same transaction) and says what happens next.
pub async fn choose_service_in(
    store: &Store,
    org: OrgId,
    connection: ConnectionId,
    service_id: &str,
    choice: Option<ServiceChoice>,
    actor: &str,
    now: OffsetDateTime,
) -> StoreResult<ChoiceOutcome> {
    let row = store.get_connection(org, connection).await?;
    let actor = spendlens_store::Actor {
        name: actor,
        at: now,
    };
    let (service, reread_from) = store
        .set_service_choice(org, connection, service_id, choice, actor)
        .await?;
    let counts = if service.counted {
        "counts"
    } else {
        "does not count"
    };
    let message = match reread_from {
        Some(day) => format!(
            "{} now {counts} on “{}”; the next sync reads every stored day again from {day}, so \
             each day follows this choice.",
            service.name, row.name
        ),
        None => format!(
            "{} {counts} on “{}” as before; nothing to read again.",
            service.name, row.name
        ),
    };
    Ok(ChoiceOutcome {
        service,
        reread_from,
        message,
    })
}

/// [`choose_service_in`] with the server's store and clock.
pub async fn choose_service(
    state: &AppState,
    org: OrgId,
    connection: ConnectionId,
    service_id: &str,
    choice: Option<ServiceChoice>,
    actor: &str,
) -> StoreResult<ChoiceOutcome> {
    choose_service_in(
        state.store(),
        org,
        connection,
        service_id,
        choice,
        actor,
        state.now(),
    )
    .await
}
