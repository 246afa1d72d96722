//! Writing the access log (store `access_log`): sign-in outcomes (from the sign-in handler),
//! API token use (from the token extractor, once per token and minute) and denied requests
//! (every 401 and 403, from a middleware over the whole router). A failed write is logged and
//! never fails the request it describes. Denied requests are capped per client address (a
//! flood of bad tokens must not become a flood of writes): past [`DENIED_PER_MINUTE`] in a
//! minute they are counted, and the next entry from that client says how many were not written.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use spendlens_domain::credential::mask_stored_key;
use spendlens_store::{AccessKind, NewAccess, OrgId, Store};
use time::OffsetDateTime;

use crate::AppState;
use crate::client::{ClientAddr, client_addr};

/// Denied requests written one by one per client address and minute.
pub const DENIED_PER_MINUTE: u32 = 60;

/// Per client address: the minute being counted, entries written in it, and entries skipped
/// since the last one written.
#[derive(Debug, Default)]
pub struct DeniedLimiter {
    clients: Mutex<HashMap<Option<IpAddr>, (i64, u32, u64)>>,
}

impl DeniedLimiter {
    /// Whether to write this denial, and how many earlier ones were skipped.
    fn admit(&self, client: Option<IpAddr>, now: OffsetDateTime) -> Option<u64> {
        let minute = now.unix_timestamp().div_euclid(60);
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() > 10_000 {
            clients.retain(|_, (m, _, skipped)| *m == minute || *skipped > 0);
        }
        let slot = clients.entry(client).or_insert((minute, 0, 0));
        if slot.0 != minute {
            slot.0 = minute;
            slot.1 = 0;
        }
        if slot.1 >= DENIED_PER_MINUTE {
            slot.2 += 1;
            return None;
        }
        slot.1 += 1;
        Some(std::mem::take(&mut slot.2))
    }
}

/// Appends an entry; a failure is logged, not returned.
pub async fn note(store: &Store, org: OrgId, entry: NewAccess<'_>, now: OffsetDateTime) {
    if let Err(err) = store.record_access(org, &entry, now).await {
        tracing::error!(target: "spendlens::access", kind = entry.kind.as_str(), error = %err, "could not write the access log");
    }
}

/// The organization an entry with no known account belongs to: the server's default one.
pub async fn default_org(state: &AppState) -> Option<OrgId> {
    match state.store().ensure_default_org(state.now()).await {
        Ok(org) => Some(org),
        Err(err) => {
            tracing::error!(target: "spendlens::access", error = %err, "no organization for the access log");
            None
        }
    }
}

/// Records a sign-in outcome; `org` is the account's, else the server's default one.
pub async fn sign_in(
    state: &AppState,
    org: Option<OrgId>,
    kind: AccessKind,
    email: &str,
    client: ClientAddr,
    status: StatusCode,
    detail: &str,
) {
    let Some(org) = (match org {
        Some(org) => Some(org),
        None => default_org(state).await,
    }) else {
        return;
    };
    let client = client.to_string();
    note(
        state.store(),
        org,
        NewAccess {
            kind,
            actor: email,
            client: &client,
            method: "POST",
            path: "/login",
            status: status.as_u16(),
            detail,
        },
        state.now(),
    )
    .await;
}

/// Records a use of an API token (called when the use moved its last-used time).
pub async fn token_used(
    state: &AppState,
    org: OrgId,
    token_id: i64,
    method: &str,
    path: &str,
    client: ClientAddr,
) {
    let actor = match state.store().api_token_label(org, token_id).await {
        Ok(label) => label,
        Err(_) => format!("API token {token_id}"),
    };
    let client = client.to_string();
    note(
        state.store(),
        org,
        NewAccess {
            kind: AccessKind::TokenUse,
            actor: &actor,
            client: &client,
            method,
            path,
            status: 0,
            detail: "first use of this token in this minute",
        },
        state.now(),
    )
    .await;
}

/// Who a denied request came from, without ever keeping a secret: a masked bearer credential
/// (its token's name when it is a valid token), or the signed-in user, or `anonymous`.
async fn denied_actor(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> (String, Option<OrgId>) {
    let bearer = crate::auth::bearer(headers);
    if let Some(secret) = bearer {
        let masked = mask_stored_key(secret);
        if secret.starts_with(spendlens_store::INGEST_KEY_PREFIX) {
            let org = state.store().ingest_key_org(secret).await.ok().flatten();
            return (format!("ingest key {masked}"), org);
        }
        if let Ok(Some((org, label))) = state.store().api_token_by_secret(secret).await {
            return (label, Some(org));
        }
        return (format!("unknown credential {masked}"), None);
    }
    if let Some(cookie) = crate::dashboard::session::cookie(headers, "spendlens_session")
        && let Ok(Some(session)) = state
            .store()
            .session(&cookie, state.now(), state.settings.session_idle)
            .await
    {
        return (session.user.email.clone(), Some(session.user.org_id));
    }
    ("anonymous".to_owned(), None)
}

/// Middleware: every 401 and 403 answer is an access entry.
pub async fn record_denied(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let client = client_addr(&parts, state.settings.trust_forwarded_for);
    let request = Request::from_parts(parts, body);
    // The credentials are kept (two header values) before the handler consumes the request;
    // who they belong to is looked up only for a denied answer, never on the hot path.
    let mut credentials = axum::http::HeaderMap::new();
    for name in [
        axum::http::header::AUTHORIZATION,
        axum::http::header::COOKIE,
    ] {
        if let Some(value) = request.headers().get(&name) {
            credentials.insert(name, value.clone());
        }
    }
    let response = next.run(request).await;
    let status = response.status();
    // Sign-in answers (401 wrong password, 403 disabled) are written by the sign-in handler
    // as sign-in entries, not twice.
    if (status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN) || path == "/login" {
        return response;
    }
    let now = state.now();
    let Some(skipped) = state.access.admit(client.0, now) else {
        return response;
    };
    let (actor, org) = denied_actor(&state, &credentials).await;
    let Some(org) = (match org {
        Some(org) => Some(org),
        None => default_org(&state).await,
    }) else {
        return response;
    };
    let detail = if skipped > 0 {
        format!(
            "{skipped} earlier denied requests from this client were not written one by one (over {DENIED_PER_MINUTE} a minute)"
        )
    } else {
        String::new()
    };
    let client = client.to_string();
    note(
        state.store(),
        org,
        NewAccess {
            kind: AccessKind::Denied,
            actor: &actor,
            client: &client,
            method: &method,
            path: &path,
            status: status.as_u16(),
            detail: &detail,
        },
        now,
    )
    .await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_past_the_cap_are_counted_and_said_in_the_next_minute() {
        let limiter = DeniedLimiter::default();
        let client = Some(IpAddr::from([192, 0, 2, 7]));
        let t0 = time::macros::datetime!(2026-12-04 10:00:05 UTC);
        for _ in 0..DENIED_PER_MINUTE {
            assert_eq!(limiter.admit(client, t0), Some(0));
        }
        assert_eq!(limiter.admit(client, t0), None);
        assert_eq!(limiter.admit(client, t0), None);
        assert_eq!(
            limiter.admit(Some(IpAddr::from([192, 0, 2, 8])), t0),
            Some(0)
        );
        let t1 = time::macros::datetime!(2026-12-04 10:01:00 UTC);
        assert_eq!(limiter.admit(client, t1), Some(2));
        assert_eq!(limiter.admit(client, t1), Some(0));
    }
}
