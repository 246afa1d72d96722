//! From billed usage rows to calls: which rows are metered, how much of each, split into how
//! many calls at which times, with which attribution, latency and status — and the gaps left
//! on purpose. Pure and deterministic: the seed decides everything, `now` only which calls
//! have happened yet.

use std::collections::BTreeMap;

use spendlens_domain::catalog::{glob_matches, normalize_model};
use spendlens_domain::{PriceCatalog, ProviderKind};
use time::{Date, Duration, OffsetDateTime, Time};

use crate::attribution::{
    CUSTOMER_WEIGHTS, CUSTOMERS, FAILED_BURST, Profile, SPIKE, UNMETERED_KEY, UNPRICED,
    base_latency_ms, profile,
};
use crate::rng::{Rng, call_id};
pub use crate::usage::Work;
use crate::usage::{Row, Sources, mul_div, rows};

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallStatus {
    Ok,
    Error,
    Timeout,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Ok => "ok",
            CallStatus::Error => "error",
            CallStatus::Timeout => "timeout",
        }
    }
}

/// One metered AI call, ready to send as a native event or an OTLP span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The idempotency key (`demo-` + 24 hex digits), derived from the seed.
    pub id: String,
    /// When the call ended.
    pub time: OffsetDateTime,
    pub provider: &'static str,
    pub model: String,
    /// The provider's API key id, as the stand-in lists it (and the sync stores it).
    pub api_key: Option<String>,
    pub workspace: Option<String>,
    pub work: Work,
    pub latency_ms: u64,
    pub status: CallStatus,
    pub customer: Option<&'static str>,
    pub product: String,
    pub agent: &'static str,
    pub workflow: Option<&'static str>,
    pub env: &'static str,
}

impl Call {
    /// The id the server stores this call under when it arrives as an OTLP span
    /// (`otlp-<trace id>-<span id>`, in hex).
    pub fn otlp_event_id(&self) -> String {
        let (trace, span) = crate::rng::span_ids(&self.id);
        format!("otlp-{}-{}", hex::encode(trace), hex::encode(span))
    }
}

/// A provider API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRef {
    pub provider: &'static str,
    pub id: String,
    pub name: String,
}

/// The gaps the traffic leaves on purpose, for the banner and for tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gaps {
    /// A key with billed usage and not one metered call.
    pub unmetered_key: Option<KeyRef>,
    /// (the model as billed, the name the calls report), which the catalog does not price.
    pub unpriced_model: Option<(String, String)>,
    /// The day of the burst of failed and timed-out calls, and how many there are.
    pub failed_burst: Option<(Date, u32)>,
}

/// Calls in the failed burst.
const BURST_CALLS: u32 = 36;
/// Days before the last day the burst happens.
const BURST_DAYS_AGO: i64 = 5;
/// Calls per live tick.
pub const LIVE_CALLS: usize = 4;

/// The traffic that follows the stand-ins' billed usage from `first_day` to `last_day`.
#[derive(Clone, Debug)]
pub struct Traffic {
    seed: u64,
    first_day: Date,
    last_day: Date,
    /// The rows metered (the unmetered key and console use left out).
    rows: Vec<Row>,
    gaps: Gaps,
    /// Per (provider, model): [`context_limit`].
    limits: BTreeMap<(&'static str, String), Option<u64>>,
}

impl Traffic {
    pub fn new(sources: &Sources, seed: u64, first_day: Date, last_day: Date) -> Traffic {
        let mut gaps = Gaps::default();
        let mut metered = Vec::new();
        for row in rows(sources, first_day, last_day) {
            let Some(key_id) = &row.key_id else {
                continue; // Console use: no application sends it.
            };
            if row.batch {
                continue; // Message Batches are jobs, not live calls an application meters.
            }
            if (row.provider, row.key_name.as_str()) == UNMETERED_KEY {
                gaps.unmetered_key.get_or_insert_with(|| KeyRef {
                    provider: row.provider,
                    id: key_id.clone(),
                    name: row.key_name.clone(),
                });
                continue;
            }
            if is_unpriced(&row) && gaps.unpriced_model.is_none() {
                gaps.unpriced_model = Some((row.model.clone(), UNPRICED.2.to_owned()));
            }
            metered.push(row);
        }
        let burst_day = (last_day - Duration::days(BURST_DAYS_AGO)).max(first_day);
        if metered
            .iter()
            .any(|r| r.day == burst_day && is_burst_row(r))
        {
            gaps.failed_burst = Some((burst_day, BURST_CALLS));
        }
        let limits = metered
            .iter()
            .map(|r| {
                let limit = context_limit(r.provider, &r.model);
                ((r.provider, r.model.clone()), limit)
            })
            .collect();
        Traffic {
            seed,
            first_day,
            last_day,
            rows: metered,
            gaps,
            limits,
        }
    }

    fn context_limit(&self, row: &Row) -> Option<u64> {
        self.limits
            .get(&(row.provider, row.model.clone()))
            .copied()
            .flatten()
    }

    pub fn gaps(&self) -> &Gaps {
        &self.gaps
    }

    /// The first and last day the backfill covers.
    pub fn days(&self) -> (Date, Date) {
        (self.first_day, self.last_day)
    }

    /// Every backfill call that has happened by `now`, in time order. The same seed gives the
    /// same calls, ids and contents whatever `now` is; a later `now` only adds calls.
    pub fn backfill(&self, now: OffsetDateTime) -> Vec<Call> {
        let mut calls = Vec::new();
        for row in &self.rows {
            self.row_calls(row, &mut calls);
        }
        self.failed_burst(&mut calls);
        calls.retain(|c| c.time <= now);
        calls.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        calls
    }

    fn row_calls(&self, row: &Row, out: &mut Vec<Call>) {
        let day = row.day.to_string();
        let key = row.key_id.clone().unwrap_or_default();
        let coordinates = [row.provider, &day, &key, &row.model, &row.variant];
        let mut rng = Rng::cell(self.seed, &[&["row"], &coordinates[..]].concat());
        let share = rng.range(850, 960);
        let metered = row.work.share(share, 1000);
        let n = events_for(row, metered, self.context_limit(row));
        let weights: Vec<u64> = (0..n).map(|_| rng.range(80, 120)).collect();
        let profile = profile(row.provider, &row.key_name, &row.model);
        // On a spike's days, the extra calls (all but 1 in `factor`) serve its customer.
        let spiked = if is_spike_row(row, self.last_day) {
            let factor = usize::try_from(SPIKE.factor).unwrap_or(1).max(1);
            n * (factor - 1) / factor
        } else {
            0
        };
        for i in 0..n {
            let work = split(metered, &weights, i);
            if work.is_empty() {
                continue;
            }
            let number = i.to_string();
            let id = call_id(self.seed, &[&["bf"], &coordinates[..], &[&number]].concat());
            let time = at_business_hour(row.day, &mut rng);
            let mut call = self.call(row, &profile, id, time, work, &mut rng);
            if i < spiked {
                call.customer = Some(SPIKE.customer);
            }
            out.push(call);
        }
    }

    fn failed_burst(&self, out: &mut Vec<Call>) {
        let Some((day, count)) = self.gaps.failed_burst else {
            return;
        };
        let Some(row) = self.rows.iter().find(|r| r.day == day && is_burst_row(r)) else {
            return;
        };
        let profile = profile(row.provider, &row.key_name, &row.model);
        let per_call = per_call_work(row, 100);
        let start = OffsetDateTime::new_utc(day, Time::MIDNIGHT) + Duration::hours(14);
        for i in 0..count {
            let number = i.to_string();
            let mut rng = Rng::cell(self.seed, &["burst", &number]);
            let status = if i % 3 == 0 {
                CallStatus::Timeout
            } else {
                CallStatus::Error
            };
            // A failed call consumed its input and produced nothing.
            let work = match per_call {
                Work::Tokens {
                    input, cache_read, ..
                } => Work::Tokens {
                    input: input + cache_read,
                    cache_read: 0,
                    cache_write: 0,
                    output: 0,
                },
                other => other,
            };
            let time = start + Duration::seconds(i64::from(i) * 40 + rng.range(0, 30) as i64);
            let id = call_id(self.seed, &["burst", &day.to_string(), &number]);
            let mut call = self.call(row, &profile, id, time, work, &mut rng);
            call.status = status;
            call.latency_ms = match status {
                CallStatus::Timeout => 30_000 + rng.range(0, 400),
                _ => rng.range(150, 900),
            };
            out.push(call);
        }
    }

    /// The calls of live tick number `tick`, ending at `at` (the tick's start) and just after.
    /// The same tick gives the same calls, so a resend counts once.
    pub fn live(&self, tick: i64, at: OffsetDateTime) -> Vec<Call> {
        let mix: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.day == self.last_day && matches!(r.work, Work::Tokens { .. }))
            .collect();
        if mix.is_empty() {
            return Vec::new();
        }
        let weights: Vec<u64> = mix.iter().map(|r| calls_for(r.calls) as u64).collect();
        let tick_text = tick.to_string();
        (0..LIVE_CALLS)
            .filter_map(|i| {
                let number = i.to_string();
                let mut rng = Rng::cell(self.seed, &["live", &tick_text, &number]);
                let row = mix[rng.weighted(&weights)];
                let scale = rng.range(50, 150);
                let work = per_call_work(row, scale);
                if work.is_empty() {
                    return None;
                }
                let status = if rng.range(0, 39) == 0 {
                    CallStatus::Error
                } else {
                    CallStatus::Ok
                };
                let profile = profile(row.provider, &row.key_name, &row.model);
                let id = call_id(self.seed, &["live", &tick_text, &number]);
                let time = at + Duration::milliseconds(i as i64 * 137);
                let mut call = self.call(row, &profile, id, time, work, &mut rng);
                call.status = status;
                Some(call)
            })
            .collect()
    }

    /// A call of `row` that went well (callers change the status of those that did not).
    fn call(
        &self,
        row: &Row,
        profile: &Profile,
        id: String,
        time: OffsetDateTime,
        work: Work,
        rng: &mut Rng,
    ) -> Call {
        let model = if is_unpriced(row) {
            UNPRICED.2.to_owned()
        } else {
            row.model.clone()
        };
        let latency_ms = base_latency_ms(&model) * rng.range(60, 180) / 100;
        let customer = profile
            .customers
            .then(|| CUSTOMERS[rng.weighted(&CUSTOMER_WEIGHTS)]);
        Call {
            id,
            time,
            provider: row.provider,
            model,
            api_key: row.key_id.clone(),
            workspace: row.workspace.clone(),
            work,
            latency_ms,
            status: CallStatus::Ok,
            customer,
            product: profile.product.clone(),
            agent: profile.agent,
            workflow: profile.workflow,
            env: profile.env,
        }
    }
}

/// A row of the planted spike's key and model on its days.
fn is_spike_row(row: &Row, last_day: Date) -> bool {
    row.provider == "openai"
        && row.key_name == SPIKE.key
        && row.model.starts_with(SPIKE.model)
        && row.day > last_day - Duration::days(i64::from(SPIKE.days))
}

fn is_unpriced(row: &Row) -> bool {
    row.provider == "openai" && row.key_name == UNPRICED.0 && row.model.starts_with(UNPRICED.1)
}

fn is_burst_row(row: &Row) -> bool {
    row.provider == "openai"
        && row.key_name == FAILED_BURST.0
        && row.model.starts_with(FAILED_BURST.1)
}

/// How many events stand for a row's calls: a handful, growing slowly with the volume (each
/// demo event carries the usage of many calls, so 30 days load in seconds).
fn calls_for(calls: u64) -> usize {
    let root = calls.isqrt() / 3;
    root.clamp(1, 10).min(calls.max(1)) as usize
}

/// The smallest input above which the built-in catalog prices `model` higher (Claude Sonnet
/// 4.5 and Gemini 2.5 Pro above 200k tokens of context), if any.
fn context_limit(provider: &str, model: &str) -> Option<u64> {
    let kind: ProviderKind = provider.parse().ok()?;
    let id = normalize_model(kind, model);
    PriceCatalog::built_in()
        .entries()
        .iter()
        .filter(|e| e.provider == kind && glob_matches(&e.model_glob, &id))
        .filter_map(|e| e.conditions.context_above)
        .min()
        .and_then(|n| u64::try_from(n).ok())
}

/// How many events carry a row's metered work: [`calls_for`], never more than the calls
/// billed, and within the model's long-context limit: a row of short calls gets enough events
/// that none passes it (they average 80 % of it and the split's weights vary ±20 %, so none
/// passes 96 %), a row of long-context calls few enough that each is above it (at least 120 %).
fn events_for(row: &Row, work: Work, context_limit: Option<u64>) -> usize {
    let by_calls = calls_for(row.calls) as u64;
    let n = match (work, context_limit) {
        (
            Work::Tokens {
                input,
                cache_read,
                cache_write,
                ..
            },
            Some(limit),
        ) => {
            let context = input + cache_read + cache_write;
            if row.long_context {
                by_calls.min(context / (limit * 3 / 2).max(1)).max(1)
            } else {
                by_calls.max(context.div_ceil((limit * 8 / 10).max(1)))
            }
        }
        _ => by_calls,
    };
    n.min(row.calls.max(1)) as usize
}

/// Part `i` of `work` split by `weights`; the last part takes what rounding left.
fn split(work: Work, weights: &[u64], i: usize) -> Work {
    let total: u64 = weights.iter().sum();
    let before: u64 = weights[..i].iter().sum();
    let upto = before + weights[i];
    let last = i + 1 == weights.len();
    let part = |n: u64| {
        let end = if last { n } else { mul_div(n, upto, total) };
        end - mul_div(n, before, total)
    };
    match work {
        Work::Tokens {
            input,
            cache_read,
            cache_write,
            output,
        } => Work::Tokens {
            input: part(input),
            cache_read: part(cache_read),
            cache_write: part(cache_write),
            output: part(output),
        },
        Work::Units { quantity, unit } => Work::Units {
            quantity: part(quantity),
            unit,
        },
    }
}

/// One typical call's work in a row, scaled by `percent`.
fn per_call_work(row: &Row, percent: u64) -> Work {
    row.work.share(percent, 100 * row.calls.max(1))
}

/// Relative traffic per UTC hour: quiet nights, busy working hours.
const HOUR_WEIGHTS: [u64; 24] = [
    2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 11, 11, 10, 9, 7, 6, 5, 4, 4, 3, 2,
];

fn at_business_hour(day: Date, rng: &mut Rng) -> OffsetDateTime {
    let hour = rng.weighted(&HOUR_WEIGHTS) as i64;
    let ms = rng.range(0, 3_600_000 - 1) as i64;
    OffsetDateTime::new_utc(day, Time::MIDNIGHT)
        + Duration::hours(hour)
        + Duration::milliseconds(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_adds_up_to_the_whole_exactly() {
        let work = Work::Tokens {
            input: 1_000_003,
            cache_read: 7,
            cache_write: 0,
            output: 999,
        };
        let weights = [60, 140, 99, 101];
        let mut sums = [0u64; 4];
        for i in 0..weights.len() {
            let Work::Tokens {
                input,
                cache_read,
                cache_write,
                output,
            } = split(work, &weights, i)
            else {
                unreachable!("tokens stay tokens")
            };
            for (s, v) in sums
                .iter_mut()
                .zip([input, cache_read, cache_write, output])
            {
                *s += v;
            }
        }
        assert_eq!(sums, [1_000_003, 7, 0, 999]);
    }

    fn row(calls: u64, work: Work, long_context: bool) -> Row {
        Row {
            provider: "anthropic",
            day: time::macros::date!(2026 - 12 - 01),
            key_id: Some("apikey_1".into()),
            key_name: "prod-api".into(),
            workspace: None,
            model: "claude-sonnet-4-5-20250929".into(),
            variant: String::new(),
            work,
            calls,
            long_context,
            batch: false,
        }
    }

    fn contexts(work: Work, n: usize) -> Vec<u64> {
        let weights: Vec<u64> = (0..n as u64).map(|i| 80 + i % 41).collect();
        (0..n)
            .map(|i| match split(work, &weights, i) {
                Work::Tokens {
                    input,
                    cache_read,
                    cache_write,
                    ..
                } => input + cache_read + cache_write,
                Work::Units { .. } => unreachable!("tokens stay tokens"),
            })
            .collect()
    }

    #[test]
    fn events_stay_on_their_side_of_the_long_context_limit() {
        let work = Work::Tokens {
            input: 30_000_000,
            cache_read: 6_000_000,
            cache_write: 0,
            output: 1,
        };
        let short = events_for(&row(20_000, work, false), work, Some(200_000));
        assert_eq!(short, 225);
        assert!(contexts(work, short).iter().all(|c| *c < 200_000));
        let long = events_for(&row(20_000, work, true), work, Some(200_000));
        assert_eq!(long, 10);
        let few = Work::Tokens {
            input: 1_000_000,
            cache_read: 0,
            cache_write: 0,
            output: 1,
        };
        let n = events_for(&row(20_000, few, true), few, Some(200_000));
        assert_eq!(n, 3);
        assert!(contexts(few, n).iter().all(|c| *c > 200_000));
        assert_eq!(events_for(&row(20_000, work, false), work, None), 10);
        assert_eq!(
            events_for(&row(3, work, false), work, Some(200_000)),
            3,
            "never more events than calls"
        );
        assert_eq!(
            context_limit("anthropic", "claude-sonnet-4-5-20250929"),
            Some(200_000)
        );
        assert_eq!(
            context_limit("anthropic", "claude-haiku-4-5-20251001"),
            None
        );
    }

    #[test]
    fn event_counts_grow_slowly_and_never_exceed_the_calls() {
        assert_eq!(calls_for(0), 1);
        assert_eq!(calls_for(2), 1);
        assert_eq!(calls_for(100), 3);
        assert_eq!(calls_for(1_000_000), 10);
    }
}
