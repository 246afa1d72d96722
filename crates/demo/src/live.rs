//! The live generator: every few seconds, a few calls in today's mix of keys and models, half
//! as native events and half as OTLP spans, timed by the server's clock. Ticks are numbered by
//! time, and a tick's calls (ids included) follow from its number, so a tick sent twice counts
//! once.

use std::sync::Arc;
use std::time::Duration;

use spendlens_domain::Clock;
use time::OffsetDateTime;

use crate::TrafficError;
use crate::plan::{Call, Traffic};
use crate::send::{Counts, Sender};

pub use crate::plan::LIVE_CALLS as CALLS_PER_TICK;

/// Seconds between live ticks.
pub const EVERY_SECS: i64 = 5;

/// What one tick sent and what the server did with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub native: Counts,
    /// Spans sent over OTLP.
    pub spans: u64,
    pub otlp: Counts,
}

/// Sends the calls of the tick `now` falls in: even ones as native events, odd ones as spans.
pub async fn tick(
    traffic: &Traffic,
    sender: &Sender,
    now: OffsetDateTime,
) -> Result<TickReport, TrafficError> {
    let number = now.unix_timestamp().div_euclid(EVERY_SECS);
    let at = OffsetDateTime::from_unix_timestamp(number * EVERY_SECS).unwrap_or(now);
    let calls = traffic.live(number, at);
    let native: Vec<Call> = calls.iter().step_by(2).cloned().collect();
    let spans: Vec<&Call> = calls.iter().skip(1).step_by(2).collect();
    let native = sender.send_native(&native).await?;
    let (sent, otlp) = sender.send_otlp(&spans).await?;
    Ok(TickReport {
        native,
        spans: sent,
        otlp,
    })
}

/// Sends a tick every [`EVERY_SECS`] seconds, forever; a failed tick is logged and the next
/// one tried.
pub async fn run(traffic: Arc<Traffic>, sender: Sender, clock: Arc<dyn Clock>) {
    let every = Duration::from_secs(EVERY_SECS.unsigned_abs());
    loop {
        tokio::time::sleep(every).await;
        match tick(&traffic, &sender, clock.now()).await {
            Ok(report) => {
                if let Some(problem) = report.native.first_error.or(report.otlp.first_error) {
                    tracing::warn!("demo traffic: the server rejected a live call: {problem}");
                }
            }
            Err(err) => tracing::warn!("demo traffic: a live tick failed: {err}"),
        }
    }
}
