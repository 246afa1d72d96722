//! The OpenAI organization's generated data: usage per (day, key, model[, size]), vector-store
//! bytes per (day, project), and cost per (day, project, key, line item), all computed up front
//! from the seed (about 10,000 rows for 120 days; a few milliseconds).

use std::collections::BTreeMap;

use super::models::{self, Endpoint, ImageSize, Model};
use super::org::{KEYS, Org, PROJECTS, SEARCH_PROJECT, window_day};
use crate::common::daily::{Daily, growth, is_weekend, scaled};
use crate::common::prng::SplitMix64;

/// One key's use of one model on one day.
#[derive(Debug, Clone)]
pub(crate) struct UsageRow {
    pub(crate) day: i64,
    pub(crate) project: u8,
    pub(crate) key: u8,
    pub(crate) model: Model,
    pub(crate) size: Option<ImageSize>,
    /// Input tokens, cached ones included (text, embeddings, moderations).
    pub(crate) input: u64,
    /// The cached subset of `input`.
    pub(crate) cached: u64,
    pub(crate) output: u64,
    pub(crate) requests: u64,
    /// Images (dall-e-3), characters (tts-1) or seconds (whisper-1).
    pub(crate) units: u64,
}

/// Bytes held in a project's vector stores on one day.
#[derive(Debug, Clone)]
pub(crate) struct VectorRow {
    pub(crate) project: u8,
    pub(crate) megabytes: u64,
}

/// What the fake bills for one (day, project, key, line item).
#[derive(Debug, Clone)]
pub(crate) struct CostRow {
    pub(crate) day: i64,
    pub(crate) project: u8,
    /// `None` for items not tied to a key (web search calls, vector storage).
    pub(crate) key: Option<u8>,
    /// Index into [`Data::line_items`].
    pub(crate) item: u16,
    pub(crate) nanos: u64,
    /// In the line item's unit, scaled by `10^quantity_scale`.
    pub(crate) quantity: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct LineItem {
    pub(crate) name: String,
    /// The `quantity` of a cost row is `quantity / 10^quantity_scale` units.
    pub(crate) quantity_scale: u32,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) seed: u64,
    pub(crate) org: Org,
    /// Unix day numbers of the first and last day with data (inclusive).
    pub(crate) first_day: i64,
    pub(crate) last_day: i64,
    pub(crate) line_items: Vec<LineItem>,
    pub(crate) usage: Daily<UsageRow>,
    pub(crate) vector: Daily<VectorRow>,
    pub(crate) costs: Daily<CostRow>,
    /// Per key: Unix seconds of its last use, if any.
    pub(crate) last_used_at: Vec<Option<i64>>,
}

struct Builder {
    items: Vec<LineItem>,
    index: BTreeMap<String, u16>,
    costs: Daily<CostRow>,
}

impl Builder {
    fn item(&mut self, name: String, quantity_scale: u32) -> u16 {
        if let Some(&i) = self.index.get(&name) {
            return i;
        }
        let i = u16::try_from(self.items.len()).unwrap_or(u16::MAX);
        self.index.insert(name.clone(), i);
        self.items.push(LineItem {
            name,
            quantity_scale,
        });
        i
    }

    fn bill(&mut self, row: (i64, u8, Option<u8>), name: String, quantity: u64, unit_price: u64) {
        let nanos = quantity * unit_price;
        if nanos == 0 {
            return;
        }
        let item = self.item(name, 0);
        self.costs.push(CostRow {
            day: row.0,
            project: row.1,
            key: row.2,
            item,
            nanos,
            quantity,
        });
    }

    fn bill_usage(&mut self, u: &UsageRow) {
        let at = (u.day, u.project, Some(u.key));
        let m = u.model.name();
        let price = u.model.price();
        match u.model.endpoint() {
            Endpoint::Completions => {
                self.bill(at, format!("{m}, input"), u.input - u.cached, price.input);
                self.bill(
                    at,
                    format!("{m}, cached input"),
                    u.cached,
                    price.cached_input,
                );
                self.bill(at, format!("{m}, output"), u.output, price.output);
            }
            Endpoint::Embeddings | Endpoint::Moderations => {
                self.bill(at, format!("{m}, input"), u.input, price.input);
            }
            Endpoint::Images => {
                if let Some(size) = u.size {
                    let name = format!("{m}, {}", size.text());
                    self.bill(at, name, u.units, models::image_price(size));
                }
            }
            Endpoint::AudioSpeeches | Endpoint::AudioTranscriptions => {
                self.bill(at, format!("{m}, audio"), u.units, price.input);
            }
            Endpoint::VectorStores | Endpoint::CodeInterpreterSessions => {}
        }
    }
}

impl Data {
    pub(crate) fn generate(
        seed: u64,
        first_day: i64,
        last_day: i64,
        spike: Option<&super::Spike>,
    ) -> Self {
        let days = last_day - first_day + 1;
        let org = Org::build(seed, first_day, days);
        let mut builder = Builder {
            items: Vec::new(),
            index: BTreeMap::new(),
            costs: Daily::new(first_day),
        };
        let mut usage = Daily::new(first_day);
        let mut vector = Daily::new(first_day);
        let vector_from = window_day(first_day, days, 200);
        for day in first_day..=last_day {
            let growth = growth(day, first_day, days);
            let weekend = is_weekend(day);
            for (k, spec) in KEYS.iter().enumerate() {
                let (from, until) = spec.active;
                if day < window_day(first_day, days, from)
                    || day >= window_day(first_day, days, until)
                {
                    continue;
                }
                let mut idle = SplitMix64::for_cell(seed, &[day as u64, k as u64, 0x1D1E]);
                if idle.chance(spec.idle_permille) {
                    continue;
                }
                for (u, use_) in spec.uses.iter().enumerate() {
                    let mut rng = SplitMix64::for_cell(seed, &[day as u64, k as u64, u as u64]);
                    let weekday = if weekend { use_.weekend_pct * 10 } else { 1000 };
                    let factor = spike
                        .filter(|s| {
                            spec.name == s.key
                                && use_.model.name().starts_with(&s.model)
                                && day > last_day - i64::from(s.days)
                        })
                        .map_or(1, |s| s.factor);
                    let requests =
                        scaled(use_.requests, &[growth, weekday, rng.range(850, 1_150)]) * factor;
                    if requests == 0 {
                        continue;
                    }
                    let per_in = scaled(use_.per_request_in, &[rng.range(800, 1_200)]);
                    let per_out = scaled(use_.per_request_out, &[rng.range(800, 1_200)]);
                    let cached_share = use_.cached_pct * rng.range(700, 1_300) / 100;
                    let (input, units) = match use_.model.endpoint() {
                        Endpoint::Images => (0, requests),
                        Endpoint::AudioSpeeches | Endpoint::AudioTranscriptions => {
                            (0, requests * per_in)
                        }
                        _ => (requests * per_in, 0),
                    };
                    let row = UsageRow {
                        day,
                        project: spec.project,
                        key: k as u8,
                        model: use_.model,
                        size: use_.size,
                        input,
                        cached: scaled(input, &[cached_share]).min(input),
                        output: requests * per_out,
                        requests,
                        units,
                    };
                    builder.bill_usage(&row);
                    usage.push(row);
                }
            }
            let mut rng = SplitMix64::for_cell(seed, &[day as u64, 0x5EA4C4]);
            if !weekend && rng.chance(700) {
                let calls = scaled(rng.range(40, 400), &[growth]);
                let at = (day, SEARCH_PROJECT, None);
                builder.bill(
                    at,
                    "web search tool calls".into(),
                    calls,
                    models::WEB_SEARCH_CALL,
                );
            }
            if day >= vector_from {
                let megabytes = 2_500 + 30 * (day - vector_from) as u64 + rng.range(0, 20);
                vector.push(VectorRow {
                    project: SEARCH_PROJECT,
                    megabytes,
                });
                let item = builder.item("Vector storage".into(), 3);
                builder.costs.push(CostRow {
                    day,
                    project: SEARCH_PROJECT,
                    key: None,
                    item,
                    nanos: megabytes * models::VECTOR_STORAGE_MB_DAY,
                    quantity: megabytes,
                });
            }
            usage.close_day();
            vector.close_day();
            builder.costs.close_day();
        }
        let mut last_used_at = vec![None; org.keys.len()];
        for row in usage.all() {
            last_used_at[usize::from(row.key)] =
                Some(row.day * 86_400 + 61_200 + i64::from(row.key) * 97);
        }
        debug_assert_eq!(PROJECTS.len(), org.projects.len());
        Self {
            seed,
            org,
            first_day,
            last_day,
            line_items: builder.items,
            usage,
            vector,
            costs: builder.costs,
            last_used_at,
        }
    }

    /// The end of the last day with data, the default `end_time`.
    pub(crate) fn default_end(&self) -> i64 {
        (self.last_day + 1) * 86_400
    }
}
