//! The Providers view's forecast panel without making the page wait for a whole read.
//!
//! Forecasts and anomalies read every day of the bill and of the metered calls. The server
//! keeps that read and follows later syncs and calls cheaply, but the first read after a start
//! (or after a change the kept read cannot follow) reads it all: seconds at a few hundred
//! thousand lines a month. The page waits for it a moment (`WebSettings::forecast_panel_wait`)
//! and otherwise says it is being read; the read goes on in the background and
//! `GET /cost/forecast/panel` hands the panel over when it is done (the dashboard's script asks
//! for it). Loads that arrive while a read runs share it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use spendlens_store::OrgId;
use tokio::sync::watch;

use crate::AppState;
use crate::dashboard::error::PageError;
use crate::dashboard::session::Viewer;

/// How long `GET /cost/forecast/panel` waits for a running read before answering 202.
const FRAGMENT_WAIT: Duration = Duration::from_secs(10);

/// The header (and its value) that tells the dashboard's script a response is this panel,
/// not the sign-in page a lapsed session is sent to.
const PART_HEADER: &str = "x-spendlens-part";
const PART: &str = "forecast-panel";

/// A read's outcome: `None` while it runs; then the panel's HTML (`None`: no spend at all).
type Outcome = Option<Result<Option<String>, PageError>>;

/// The forecast reads running now, one per organization at most.
#[derive(Debug, Default)]
pub struct PanelReads {
    running: Mutex<HashMap<OrgId, Running>>,
}

/// A read, and the bill's revision when it started.
#[derive(Debug)]
struct Running {
    revision: i64,
    read: watch::Receiver<Outcome>,
}

/// What a page gets.
#[derive(Debug)]
pub enum PanelState {
    /// The panel's HTML (`None`: no spend at all, no panel).
    Ready(Option<String>),
    /// The read is still running.
    Reading,
}

impl PanelReads {
    /// The running read of `org`, or a new one. A read that started before the bill's latest
    /// write is not joined: its panel would miss that write (as a page read before it would).
    async fn join(
        &self,
        state: &Arc<AppState>,
        org: OrgId,
    ) -> Result<watch::Receiver<Outcome>, PageError> {
        let revision = state.store().rollup_revision(org).await?;
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = running.get(&org) {
            // A read whose task ended without an outcome (it cannot, short of a panic) is
            // replaced rather than waited for.
            let alive = current.read.borrow().is_some() || current.read.has_changed().is_ok();
            if alive && current.revision >= revision {
                return Ok(current.read.clone());
            }
        }
        let (done, read) = watch::channel(None);
        running.insert(
            org,
            Running {
                revision,
                read: read.clone(),
            },
        );
        let state = Arc::clone(state);
        let mine = read.clone();
        tokio::spawn(async move {
            let outcome = super::forecasts::panel(&state, org).await;
            if let Err(error) = &outcome {
                // Said here too: the page that started the read may have stopped waiting.
                tracing::warn!(org = org.0, ?error, "the forecast panel's read failed");
            }
            // Sent before the entry goes: a load joining in between sees this outcome.
            done.send_replace(Some(outcome));
            let mut running = state
                .forecast_panels
                .running
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            // Only this read's entry: a newer read may have replaced it.
            if running
                .get(&org)
                .is_some_and(|current| current.read.same_channel(&mine))
            {
                running.remove(&org);
            }
        });
        Ok(read)
    }

    /// The panel of `org`, waiting at most `wait` for its read (zero: not at all).
    pub async fn get(
        &self,
        state: &Arc<AppState>,
        org: OrgId,
        wait: Duration,
    ) -> Result<PanelState, PageError> {
        let mut read = self.join(state, org).await?;
        if wait.is_zero() && read.borrow().is_none() {
            return Ok(PanelState::Reading);
        }
        match tokio::time::timeout(wait, read.wait_for(Option::is_some)).await {
            Err(_) => Ok(PanelState::Reading),
            Ok(Err(_)) => Err(PageError::Internal(
                "the forecast read ended without an outcome".to_owned(),
            )),
            Ok(Ok(outcome)) => match &*outcome {
                Some(result) => result.clone().map(PanelState::Ready),
                None => Ok(PanelState::Reading),
            },
        }
    }
}

/// What the Providers view shows while the read runs.
#[derive(Template)]
#[template(path = "forecast_pending.html")]
struct Pending;

/// The panel, or what the page shows while its read runs.
pub async fn for_page(state: &Arc<AppState>, org: OrgId) -> Result<Option<String>, PageError> {
    let wait = state.settings.forecast_panel_wait;
    Ok(match state.forecast_panels.get(state, org, wait).await? {
        PanelState::Ready(html) => html,
        PanelState::Reading => Some(Pending.render()?),
    })
}

/// `GET /cost/forecast/panel`: the panel alone once its read is done (200), 202 while it still
/// runs (with `Retry-After`), 204 when there is no spend to forecast.
pub async fn fragment(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let no_store = (header::CACHE_CONTROL, "no-store");
    Ok(
        match state
            .forecast_panels
            .get(&state, viewer.org(), FRAGMENT_WAIT)
            .await?
        {
            PanelState::Ready(Some(html)) => (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    no_store,
                    (HeaderName::from_static(PART_HEADER), PART),
                ],
                html,
            )
                .into_response(),
            PanelState::Ready(None) => (StatusCode::NO_CONTENT, [no_store]).into_response(),
            PanelState::Reading => (
                StatusCode::ACCEPTED,
                [(header::RETRY_AFTER, "2"), no_store],
                "Forecasts and anomalies are still being read.",
            )
                .into_response(),
        },
    )
}
