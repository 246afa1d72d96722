//! The demo's metered traffic: an ingest key, the stale catalog price the traffic's gaps need,
//! a backfill of the last 30 days through the real ingest endpoint, then live calls every few
//! seconds (native events and OTLP spans) while the demo serves. See `spendlens_demo`.

use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use spendlens_demo::{Counts, STALE_PRICE, Sender, Sources, Traffic};
use spendlens_domain::PriceSource;
use spendlens_domain::catalog::entry_from_json;
use time::{Date, Duration};

use crate::context::Context;

/// Days the backfill covers, today included.
pub const BACKFILL_DAYS: i64 = 30;

/// The demo's traffic, ready to send.
pub struct DemoTraffic {
    traffic: Arc<Traffic>,
    ingest_key: String,
}

impl DemoTraffic {
    /// Creates the demo's ingest key and its stale catalog price (audited, as any price
    /// change), and plans the traffic that follows the stand-ins' billed usage.
    pub async fn prepare(
        context: &Context,
        sources: &Sources,
        seed: u64,
        today: Date,
    ) -> anyhow::Result<DemoTraffic> {
        let actor = spendlens_store::Actor {
            name: "demo",
            at: context.engine.now(),
        };
        let store = context.store();
        let key = store
            .create_ingest_key(context.org, "demo traffic", actor)
            .await
            .context("creating the demo's ingest key")?;
        let stale = entry_from_json(
            json!({
                "provider": STALE_PRICE.provider,
                "model": STALE_PRICE.model,
                "input": STALE_PRICE.input,
                "cache_read": STALE_PRICE.cache_read,
                "output": STALE_PRICE.output,
                "effective_from": STALE_PRICE.effective_from,
                "source": STALE_PRICE.note,
            }),
            PriceSource::User,
        )
        .map_err(anyhow::Error::msg)?;
        store
            .add_price(
                context.org,
                stale,
                actor,
                spendlens_web::api::prices::describe,
            )
            .await?;
        let first = today - Duration::days(BACKFILL_DAYS - 1);
        Ok(DemoTraffic {
            traffic: Arc::new(Traffic::new(sources, seed, first, today)),
            ingest_key: key.secret,
        })
    }

    /// Sends every backfill call that has happened by now to the server at `base_url`.
    pub async fn backfill(&self, context: &Context, base_url: &str) -> anyhow::Result<Counts> {
        let sender = Sender::new(base_url, &self.ingest_key)?;
        let calls = self.traffic.backfill(context.engine.now());
        let counts = sender
            .send_native(&calls)
            .await
            .context("sending the demo's backfill")?;
        if let Some(problem) = &counts.first_error {
            eprintln!(
                "note: the server rejected {} demo events; the first: {problem}",
                counts.rejected
            );
        }
        Ok(counts)
    }

    /// Sends live calls every few seconds, forever.
    pub async fn live(&self, context: &Context, base_url: &str) {
        match Sender::new(base_url, &self.ingest_key) {
            Ok(sender) => {
                spendlens_demo::live::run(
                    Arc::clone(&self.traffic),
                    sender,
                    Arc::clone(context.engine.clock()),
                )
                .await;
            }
            Err(err) => eprintln!("note: no live demo traffic: {err}"),
        }
    }

    /// The banner's lines about the traffic.
    pub fn banner(&self, counts: Option<&Counts>) -> Vec<String> {
        let (first, last) = self.traffic.days();
        let mut lines = Vec::new();
        match counts {
            Some(counts) => lines.push(format!(
                "  Traffic:     {} metered calls from {first} to {last} (OpenAI and Anthropic keys and models, most of their billed usage) sent to POST /api/v1/meter/events{}",
                counts.accepted + counts.duplicate,
                if counts.duplicate > 0 {
                    format!(" ({} already there)", counts.duplicate)
                } else {
                    String::new()
                }
            )),
            None => lines.push("  Traffic:     the backfill failed (see above)".to_owned()),
        }
        lines.push(format!(
            "               then {} calls every {} s: half as events, half as OTLP spans to /v1/traces",
            spendlens_demo::live::CALLS_PER_TICK,
            spendlens_demo::live::EVERY_SECS
        ));
        lines.push(format!("  Ingest key:  {}", self.ingest_key));
        let gaps = self.traffic.gaps();
        let mut known = Vec::new();
        if let Some(key) = &gaps.unmetered_key {
            known.push(format!("key {} ({}) never metered", key.name, key.provider));
        }
        if let Some((_, sent)) = &gaps.unpriced_model {
            known.push(format!("{sent} unpriced"));
        }
        if let Some((day, count)) = gaps.failed_burst {
            known.push(format!("{count} failed calls on {day}"));
        }
        known.push(format!(
            "stale catalog price for {} (${} / ${} per 1M)",
            STALE_PRICE.model, STALE_PRICE.input, STALE_PRICE.output
        ));
        lines.push(format!("  Known gaps:  {}", known.join("; ")));
        let spike = spendlens_demo::SPIKE;
        lines.push(format!(
            "  Anomaly:     {}'s {} calls ×{} on the last {} days, most for customer {} \
             (Providers view and Cost → Forecasts and anomalies)",
            spike.key, spike.model, spike.factor, spike.days, spike.customer
        ));
        lines
    }
}
