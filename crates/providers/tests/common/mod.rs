//! Helpers shared by the connector tests: configs with tiny backoffs, day parsing, and a
//! canned server for answers the fakes do not give.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use spendlens_domain::{Day, DayRange, Money};
use spendlens_providers::{ConnectorConfig, HttpSettings};
use url::Url;

/// Production-shaped settings with near-instant backoff, so retries cost milliseconds.
pub fn tiny_settings() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_retries: 6,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        max_retry_after: Duration::from_millis(20),
    }
}

pub fn config(base_url: &str) -> ConnectorConfig {
    ConnectorConfig {
        base_url: Some(Url::parse(base_url).unwrap()),
        http: tiny_settings(),
        services: Default::default(),
    }
}

pub fn day(text: &str) -> Day {
    text.parse().unwrap()
}

pub fn range(from: &str, to: &str) -> DayRange {
    DayRange::new(day(from), day(to)).unwrap()
}

pub fn date(day: Day) -> time::Date {
    day.date()
}

/// Dollars as the fakes' truth writes them, in nano-dollars.
pub fn nanos_of_dollars(text: &str) -> i64 {
    Money::parse_units(text).unwrap().nanos()
}

/// A server answering each path with a fixed status and JSON body; other paths get `fallback`.
pub struct Canned {
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Answers {
    by_path: HashMap<String, (u16, String)>,
    fallback: (u16, String),
}

async fn answer(State(answers): State<Arc<Answers>>, request: Request) -> Response {
    let (status, body) = answers
        .by_path
        .get(request.uri().path())
        .unwrap_or(&answers.fallback)
        .clone();
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

/// Serves `answers` (path → (status, body)) on a free local port; `base_path` is appended to
/// the address to make the base URL (`/v1` for OpenAI, empty for Anthropic).
pub async fn canned(
    answers: &[(&str, u16, &str)],
    fallback: (u16, &str),
    base_path: &str,
) -> Canned {
    let answers = Answers {
        by_path: answers
            .iter()
            .map(|(path, status, body)| ((*path).to_owned(), (*status, (*body).to_owned())))
            .collect(),
        fallback: (fallback.0, fallback.1.to_owned()),
    };
    let router = Router::new().fallback(answer).with_state(Arc::new(answers));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Canned {
        base_url: format!("http://{addr}{base_path}"),
        task,
    }
}
