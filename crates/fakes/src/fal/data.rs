//! The fal.ai account's generated data: one billing event per request — timestamp, endpoint,
//! who made it (an API key or a team member's login), billed quantity, unit price and percentage
//! discount — in integer units (quantities in thousandths of a unit, money in nano-dollars),
//! computed up front from the seed (about 250 requests a day).
//!
//! Every unit price is a multiple of $0.0001 and every discount a whole percentage of 10 or 25,
//! so `cost_subtotal = quantity × unit_price`, `cost_discount` and `cost_total` are exact.
//! `fal-ai/flux-pro/v1.1` drops from $0.05 to $0.04 per image at noon UTC on the window's middle
//! day; about a third of the requests carry a 10 % or 25 % discount. Both make several usage rows
//! per (bucket, endpoint, key).

use crate::common::daily::{growth, is_weekend, scaled};
use crate::common::prng::SplitMix64;

/// A model endpoint and how it is billed.
pub(crate) struct EndpointSpec {
    pub(crate) id: &'static str,
    pub(crate) unit: &'static str,
    /// Nano-dollars per unit.
    pub(crate) price: u64,
    /// The price before the mid-window price change, if the endpoint had one.
    pub(crate) old_price: Option<u64>,
    /// Billed quantity per request, thousandths of a unit (one drawn per request).
    pub(crate) quantities: &'static [u64],
}

pub(crate) const ENDPOINTS: [EndpointSpec; 6] = [
    EndpointSpec {
        id: "fal-ai/flux/dev",
        unit: "megapixels",
        price: 25_000_000,
        old_price: None,
        quantities: &[1_000, 1_050, 790, 2_100],
    },
    EndpointSpec {
        id: "fal-ai/flux/schnell",
        unit: "megapixels",
        price: 3_000_000,
        old_price: None,
        quantities: &[1_000, 1_050, 790],
    },
    EndpointSpec {
        id: "fal-ai/flux-pro/v1.1",
        unit: "image",
        price: 40_000_000,
        old_price: Some(50_000_000),
        quantities: &[1_000],
    },
    EndpointSpec {
        id: "fal-ai/recraft/v3/text-to-image",
        unit: "image",
        price: 40_000_000,
        old_price: None,
        quantities: &[1_000],
    },
    EndpointSpec {
        id: "fal-ai/kling-video/v2.1/master/text-to-video",
        unit: "seconds",
        price: 280_000_000,
        old_price: None,
        quantities: &[5_000, 10_000],
    },
    EndpointSpec {
        id: "fal-ai/minimax/hailuo-02/standard/text-to-video",
        unit: "video",
        price: 270_000_000,
        old_price: None,
        quantities: &[1_000],
    },
];

/// Index of the endpoint whose price changes mid-window.
const PRICE_CHANGE_ENDPOINT: usize = 2;

/// Who made requests: the API keys, then the team member who used a login token.
pub(crate) struct SourceSpec {
    /// Key alias, or the member's login username.
    pub(crate) name: &'static str,
    pub(crate) login: bool,
    /// Deleted: in usage and billing events, not in `/keys`.
    pub(crate) deleted: bool,
    /// Active from..until (exclusive), thousandths of the window.
    pub(crate) active: (i64, i64),
    pub(crate) weekends: bool,
    /// `(endpoint, requests on a weekday at the start of the window)`.
    pub(crate) uses: &'static [(u8, u64)],
}

pub(crate) const SOURCES: [SourceSpec; 6] = [
    SourceSpec {
        name: "Production Key",
        login: false,
        deleted: false,
        active: (0, 1000),
        weekends: true,
        uses: &[(0, 80), (2, 25), (4, 4)],
    },
    SourceSpec {
        name: "Staging",
        login: false,
        deleted: false,
        active: (0, 1000),
        weekends: false,
        uses: &[(1, 40), (0, 10)],
    },
    SourceSpec {
        name: "Batch Renderer",
        login: false,
        deleted: false,
        active: (0, 1000),
        weekends: false,
        uses: &[(1, 60), (5, 3)],
    },
    SourceSpec {
        name: "Marketing Studio",
        login: false,
        deleted: false,
        active: (300, 1000),
        weekends: true,
        uses: &[(3, 15), (4, 2)],
    },
    SourceSpec {
        name: "Old Prototype",
        login: false,
        deleted: true,
        active: (0, 400),
        weekends: true,
        uses: &[(0, 12)],
    },
    SourceSpec {
        name: "mina",
        login: true,
        deleted: false,
        active: (0, 1000),
        weekends: true,
        uses: &[(0, 5), (3, 2)],
    },
];

/// The API-scope key a test can present (gets 403 on the admin endpoints).
pub(crate) const API_SCOPE_SOURCE: usize = 0;

/// One billed request.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// Unix seconds.
    pub(crate) ts: i64,
    pub(crate) endpoint: u8,
    /// Index into [`SOURCES`].
    pub(crate) source: u8,
    /// Thousandths of a unit.
    pub(crate) quantity: u64,
    /// Nano-dollars per unit.
    pub(crate) unit_price: u64,
    pub(crate) discount: Option<u8>,
    /// Seed of the request id.
    pub(crate) rid: u64,
}

impl Event {
    pub(crate) fn subtotal(&self) -> u64 {
        self.quantity * self.unit_price / 1000
    }

    pub(crate) fn discount_nanos(&self) -> u64 {
        self.subtotal() * u64::from(self.discount.unwrap_or(0)) / 100
    }

    pub(crate) fn total(&self) -> u64 {
        self.subtotal() - self.discount_nanos()
    }

    /// A UUID-shaped request id.
    pub(crate) fn request_id(&self) -> String {
        let mut rng = SplitMix64::for_cell(self.rid, &[0xFA1]);
        uuid(&mut rng)
    }
}

/// A key as `/keys` lists it (and the admin key, which it does not).
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) key_id: String,
    pub(crate) secret: String,
    /// Unix seconds.
    pub(crate) created_at: i64,
    pub(crate) creator: (&'static str, &'static str),
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) first_day: i64,
    /// The fake's current UTC date: "now" is the end of it.
    pub(crate) today: i64,
    pub(crate) username: &'static str,
    /// One per API-key source (indices match [`SOURCES`]; the login source has none).
    pub(crate) keys: Vec<Option<Key>>,
    pub(crate) admin: Key,
    /// Sorted by timestamp.
    pub(crate) events: Vec<Event>,
    pub(crate) balance_nanos: u64,
    /// Machine-seconds of the account's own serverless apps (`/serverless/usage`).
    pub(crate) serverless: Vec<super::serverless::ServerlessRow>,
    /// Serve the older usage shape (`cost` only).
    pub(crate) legacy_cost_only: bool,
}

pub(crate) fn uuid(rng: &mut SplitMix64) -> String {
    let hex = rng.string(b"0123456789abcdef", 32);
    format!(
        "{}-{}-4{}-9{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

const CREATORS: [(&str, &str); 2] = [("mina", "mina@acme.example"), ("olu", "olu@acme.example")];

impl Data {
    pub(crate) fn generate(seed: u64, first_day: i64, today: i64) -> Self {
        let days = today - first_day + 1;
        let mut rng = SplitMix64::for_cell(seed, &[0x00FA_1A11]);
        let mut key = |i: i64| Key {
            key_id: uuid(&mut rng),
            secret: rng.string(b"0123456789abcdef", 32),
            created_at: (first_day - 200 + 11 * i) * 86_400 + 45_000 + i * 7,
            creator: CREATORS[(i as usize) % 2],
        };
        let admin = key(-5);
        let keys = SOURCES
            .iter()
            .enumerate()
            .map(|(i, s)| (!s.login).then(|| key(i as i64)))
            .collect();
        let change_at = (first_day + days / 2) * 86_400 + 43_200;
        let mut events = Vec::new();
        for day in first_day..=today {
            let growth = growth(day, first_day, days);
            let weekend = is_weekend(day);
            for (s, spec) in SOURCES.iter().enumerate() {
                if day < first_day + days * spec.active.0 / 1000
                    || day >= first_day + days * spec.active.1 / 1000
                    || (weekend && !spec.weekends)
                {
                    continue;
                }
                let mut idle = SplitMix64::for_cell(seed, &[day as u64, s as u64, 0x1D]);
                if spec.login && idle.chance(600) {
                    continue;
                }
                for (u, &(endpoint, requests)) in spec.uses.iter().enumerate() {
                    let mut rng = SplitMix64::for_cell(seed, &[day as u64, s as u64, u as u64]);
                    let weekday = if weekend { 500 } else { 1000 };
                    let n = scaled(requests, &[growth, weekday, rng.range(750, 1_250)]);
                    let e = &ENDPOINTS[usize::from(endpoint)];
                    for _ in 0..n {
                        let ts = day * 86_400 + rng.range(0, 86_399) as i64;
                        let quantity =
                            e.quantities[rng.range(0, e.quantities.len() as u64 - 1) as usize];
                        let unit_price = match e.old_price {
                            Some(old)
                                if usize::from(endpoint) == PRICE_CHANGE_ENDPOINT
                                    && ts < change_at =>
                            {
                                old
                            }
                            _ => e.price,
                        };
                        let roll = rng.range(0, 999);
                        let discount = match roll {
                            0..650 => None,
                            650..900 => Some(10),
                            _ => Some(25),
                        };
                        events.push(Event {
                            ts,
                            endpoint,
                            source: s as u8,
                            quantity,
                            unit_price,
                            discount,
                            rid: rng.next_u64(),
                        });
                    }
                }
            }
        }
        events.sort_by_key(|e| (e.ts, e.endpoint, e.source, e.rid));
        let spent: u64 = events.iter().map(Event::total).sum();
        let chunk = 500_000_000_000;
        let balance_nanos = (spent / chunk + 1) * chunk - spent;
        Self {
            first_day,
            today,
            username: "acme-studio",
            keys,
            admin,
            events,
            balance_nanos,
            serverless: super::serverless::generate(seed, first_day, today),
            legacy_cost_only: false,
        }
    }

    /// The events with `start <= ts < end`.
    pub(crate) fn events_between(&self, start: i64, end: i64) -> &[Event] {
        let a = self.events.partition_point(|e| e.ts < start);
        let b = self.events.partition_point(|e| e.ts < end);
        &self.events[a..b.max(a)]
    }

    /// "Now": the end of `today`.
    pub(crate) fn now(&self) -> i64 {
        (self.today + 1) * 86_400
    }

    /// The API key of a source (`None` for the login source).
    pub(crate) fn key_of(&self, source: u8) -> Option<&Key> {
        self.keys.get(usize::from(source)).and_then(Option::as_ref)
    }
}
