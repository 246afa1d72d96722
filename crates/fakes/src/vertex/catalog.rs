//! What the fake billing account buys, in the Cloud Billing export's words
//! (`google-vertex.md` §5–§7): services, SKUs with their pricing units and prices, projects.
//!
//! Service ids of Vertex AI and the Gemini API and the SKU `1127-99B9-1860` are the document's;
//! the BigQuery and Compute Engine service ids are Google's public ones; every other SKU id is
//! invented in Google's `XXXX-XXXX-XXXX` shape. SKU descriptions follow the document's §6
//! examples; the Gemini API's older rows carry its former name (a renamed service, matched by
//! id). Partner models sold through Vertex (doc §6: Marketplace line items with
//! `transaction_type` `THIRD_PARTY_RESELLER` and a `seller_name`) are Claude (Anthropic), Llama
//! (Meta) and Mistral (Mistral AI), each a service of its own with an invented id. Prices are
//! list prices per pricing-unit step, written as integer nano-dollars.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Service {
    pub(crate) id: &'static str,
    pub(crate) description: &'static str,
    /// AI spend: Vertex AI, the Gemini API and the partner models (what a connector keeps by
    /// default); BigQuery and Compute Engine are not.
    pub(crate) ai: bool,
    /// `transaction_type`: `GOOGLE`, or `THIRD_PARTY_RESELLER` for partner models.
    pub(crate) transaction_type: &'static str,
    /// `seller_name`.
    pub(crate) seller: &'static str,
    /// The name the export gave the service before it was renamed (doc §6 names the Gemini API
    /// also as the Generative Language API; its id stays): rows dated more than [`RENAMED_DAYS_AGO`] days before the
    /// data's last day carry it.
    pub(crate) former: Option<&'static str>,
}

/// A renamed service's rows older than this many days before the data's last day carry its
/// former name.
pub(crate) const RENAMED_DAYS_AGO: i64 = 60;

impl Service {
    /// Sold by Google itself (its credits and discounts apply).
    pub(crate) fn first_party(&self) -> bool {
        self.transaction_type == "GOOGLE"
    }

    /// The `service.description` of a row dated `day` in data ending `last_day`.
    pub(crate) fn description_on(&self, day: i64, last_day: i64) -> &'static str {
        match self.former {
            Some(former) if day < last_day - RENAMED_DAYS_AGO => former,
            _ => self.description,
        }
    }
}

pub(crate) const VERTEX_AI: Service = Service {
    id: "C7E2-9256-1C43",
    description: "Vertex AI",
    transaction_type: "GOOGLE",
    seller: "Google",
    ai: true,
    former: None,
};
pub(crate) const GEMINI_API: Service = Service {
    id: "AEFD-7695-64FA",
    description: "Gemini API",
    transaction_type: "GOOGLE",
    seller: "Google",
    ai: true,
    // The Generative Language API's billing name before it became the Gemini API.
    former: Some("Generative Language API"),
};
pub(crate) const BIGQUERY: Service = Service {
    id: "24E6-581D-38E5",
    description: "BigQuery",
    transaction_type: "GOOGLE",
    seller: "Google",
    ai: false,
    former: None,
};
pub(crate) const CLAUDE: Service = partner("7A1C-33D5-E2B8", "Claude Sonnet 4.5", "Anthropic");
pub(crate) const LLAMA: Service = partner("4B9E-0C62-D7A1", "Llama 3.3 API Service", "Meta");
pub(crate) const MISTRAL: Service =
    partner("E03F-8B47-1A6C", "Mistral Large (24.11)", "Mistral AI");

const fn partner(id: &'static str, description: &'static str, seller: &'static str) -> Service {
    Service {
        id,
        description,
        ai: true,
        transaction_type: "THIRD_PARTY_RESELLER",
        seller,
        former: None,
    }
}
pub(crate) const COMPUTE_ENGINE: Service = Service {
    id: "6F81-5844-456A",
    description: "Compute Engine",
    transaction_type: "GOOGLE",
    seller: "Google",
    ai: false,
    former: None,
};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Sku {
    pub(crate) service: Service,
    pub(crate) id: &'static str,
    pub(crate) description: &'static str,
    /// `usage.pricing_unit`.
    pub(crate) pricing_unit: &'static str,
    /// `usage.amount_in_pricing_units` = quantity / 10^quantity_scale.
    pub(crate) quantity_scale: u32,
    /// Nano-dollars per quantity step (10^-quantity_scale pricing units).
    pub(crate) price_nanos: u64,
}

const fn sku(
    service: Service,
    id: &'static str,
    description: &'static str,
    pricing_unit: &'static str,
    quantity_scale: u32,
    price_nanos: u64,
) -> Sku {
    Sku {
        service,
        id,
        description,
        pricing_unit,
        quantity_scale,
        price_nanos,
    }
}

/// Every SKU, indexed by the `u8` rows carry. Token SKUs count single tokens (`count`).
#[rustfmt::skip]
pub(crate) const SKUS: [Sku; 21] = [
    sku(VERTEX_AI, "FDAB-647C-5A22", "Gemini 2.5 Flash GA Text Input - Predictions", "count", 0, 300),
    sku(VERTEX_AI, "AF57-7C5A-6E3B", "Gemini 2.5 Flash GA Text Output - Predictions", "count", 0, 2_500),
    sku(VERTEX_AI, "6A1B-1F3D-7C09", "Gemini 2.5 Flash GA Thinking Text Output - Predictions", "count", 0, 2_500),
    sku(VERTEX_AI, "1127-99B9-1860", "Gemini 2.0 Flash Text Input - Predictions", "count", 0, 150),
    sku(VERTEX_AI, "A121-E2B5-1418", "Gemini 2.5 Pro Text Input - Predictions", "count", 0, 1_250),
    sku(VERTEX_AI, "5DA2-3F77-1CA5", "Gemini 2.5 Pro Text Output - Predictions", "count", 0, 10_000),
    sku(VERTEX_AI, "D3B1-5F0A-2C44", "Gemini 3 Flash Text Input Caching", "count", 0, 50),
    // Storage of cached input, in micro-GiB-hours: tiny daily sums, written in exponent form.
    sku(VERTEX_AI, "0C9E-77D2-A4B6", "Gemini 3 Flash Text Input Caching Storage", "gibibyte hour", 6, 250),
    sku(GEMINI_API, "9F2C-A0E1-4B7D", "Generate content input token count Gemini 2.5 Pro short input text", "count", 0, 1_250),
    sku(GEMINI_API, "9F2C-A0E1-4B7E", "Generate content input token count Gemini 2.5 Pro long input text", "count", 0, 2_500),
    sku(GEMINI_API, "B7D4-1E22-93A0", "Generate content output token count gemini 2.5 flash text output", "count", 0, 2_500),
    sku(GEMINI_API, "3E8A-55C1-0F6D", "Generate content cached input token count gemini 2.5 flash input image", "count", 0, 75),
    sku(GEMINI_API, "5C6B-0E4A-D791", "Grounding with Google Search", "count", 0, 35_000_000),
    sku(GEMINI_API, "E1F0-2A8C-6D35", "EmbedContent input token count for gemini-embedding-001", "count", 0, 150),
    // Not AI: a connector's `services` filter must leave these out.
    sku(BIGQUERY, "5D8F-0D17-AAA2", "Analysis", "tebibyte", 6, 6_250),
    sku(COMPUTE_ENGINE, "2E27-4F75-95CD", "N1 Predefined Instance Core running in Americas", "hour", 0, 31_611_000),
    // Partner models: tokens at the partners' list prices.
    sku(CLAUDE, "91D2-6E0B-C4F7", "Claude Sonnet 4.5 Input Tokens", "count", 0, 3_000),
    sku(CLAUDE, "91D2-6E0B-C4F8", "Claude Sonnet 4.5 Output Tokens", "count", 0, 15_000),
    sku(LLAMA, "2C5A-9F13-08E6", "Llama 3.3 70B Input Tokens", "count", 0, 720),
    sku(LLAMA, "2C5A-9F13-08E7", "Llama 3.3 70B Output Tokens", "count", 0, 720),
    sku(MISTRAL, "D86B-4E20-7F95", "Mistral Large Input Tokens", "count", 0, 2_000),
];

pub(crate) mod ids {
    pub(crate) const FLASH_IN: u8 = 0;
    pub(crate) const FLASH_OUT: u8 = 1;
    pub(crate) const FLASH_THINKING: u8 = 2;
    pub(crate) const FLASH_20_IN: u8 = 3;
    pub(crate) const PRO_IN: u8 = 4;
    pub(crate) const PRO_OUT: u8 = 5;
    pub(crate) const CACHING: u8 = 6;
    pub(crate) const CACHING_STORAGE: u8 = 7;
    pub(crate) const API_PRO_SHORT_IN: u8 = 8;
    pub(crate) const API_PRO_LONG_IN: u8 = 9;
    pub(crate) const API_FLASH_OUT: u8 = 10;
    pub(crate) const API_CACHED_IMAGE: u8 = 11;
    pub(crate) const GROUNDING: u8 = 12;
    pub(crate) const EMBEDDING: u8 = 13;
    pub(crate) const BQ_ANALYSIS: u8 = 14;
    pub(crate) const N1_CORE: u8 = 15;
    pub(crate) const CLAUDE_IN: u8 = 16;
    pub(crate) const CLAUDE_OUT: u8 = 17;
    pub(crate) const LLAMA_IN: u8 = 18;
    pub(crate) const LLAMA_OUT: u8 = 19;
    pub(crate) const MISTRAL_IN: u8 = 20;
}

pub(crate) fn sku_of(index: u8) -> &'static Sku {
    &SKUS[usize::from(index) % SKUS.len()]
}

/// Every service, for lookups by description or id.
pub(crate) const SERVICES: [Service; 7] = [
    VERTEX_AI,
    GEMINI_API,
    BIGQUERY,
    COMPUTE_ENGINE,
    CLAUDE,
    LLAMA,
    MISTRAL,
];

/// A GCP project (a spendlens workspace).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Project {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
}

pub(crate) const PROJECTS: [Project; 3] = [
    Project {
        id: "demo-app",
        name: "Demo App",
    },
    Project {
        id: "research-ml",
        name: "Research ML",
    },
    Project {
        id: "data-platform",
        name: "Data Platform",
    },
];

pub(crate) const DEMO_APP: u8 = 0;
pub(crate) const RESEARCH_ML: u8 = 1;
pub(crate) const DATA_PLATFORM: u8 = 2;

/// `cost_type` values the fake uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CostType {
    Regular,
    Tax,
    Adjustment,
}

impl CostType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::Tax => "tax",
            Self::Adjustment => "adjustment",
        }
    }
}
