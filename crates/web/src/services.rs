//! Including or excluding a service of a connection's bill (Vertex): the one path the API, the
//! dashboard and the CLI share — validated and stored by the store, audited here with what
//! changed, and said back in words (including the re-read the next sync does).

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

/// `include`, `exclude` or `default`.
fn choice_text(choice: Option<ServiceChoice>) -> &'static str {
    choice.map_or("default", ServiceChoice::as_str)
}

/// Sets the choice, audits it under `actor` and says what happens next.
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
    let before = store
        .connection_services(org, connection)
        .await?
        .into_iter()
        .find(|s| s.id == service_id.trim())
        .map(|s| s.choice);
    let (service, reread_from) = store
        .set_service_choice(org, connection, service_id, choice)
        .await?;
    let counts = if service.counted {
        "counts"
    } else {
        "does not count"
    };
    let detail = format!(
        "{} [{}]: {} (was {}); it {counts}",
        service.name,
        service.id,
        choice_text(choice),
        choice_text(before.flatten())
    );
    store
        .audit(org, actor, "connection.service", &row.name, &detail, now)
        .await?;
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
