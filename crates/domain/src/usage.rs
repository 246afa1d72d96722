//! What connectors produce: plain records of workspaces, API keys, usage and billed cost at the
//! provider's own grain, plus the categories and units they are described in.
//!
//! Connectors know the wire format; these records know nothing of HTTP or SQL. The allocator
//! (`crate::allocation`) turns usage plus billed cost into [`crate::CostLine`]s.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::calendar::Day;
use crate::money::{Currency, Money, Quantity};

/// What kind of AI work a cost line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Text,
    Embedding,
    Image,
    Video,
    Audio,
    Moderation,
    Tool,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Text,
        Category::Embedding,
        Category::Image,
        Category::Video,
        Category::Audio,
        Category::Moderation,
        Category::Tool,
        Category::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Text => "text",
            Category::Embedding => "embedding",
            Category::Image => "image",
            Category::Video => "video",
            Category::Audio => "audio",
            Category::Moderation => "moderation",
            Category::Tool => "tool",
            Category::Other => "other",
        }
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(text: &str) -> Result<Category, String> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| format!("unknown category \"{text}\""))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unit a line's work is measured in: `tokens`, or a non-token unit such as `images`,
/// `characters`, `seconds` or `credits`. Lower-case ASCII letters, digits and `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Unit(String);

impl Unit {
    pub fn tokens() -> Unit {
        Unit("tokens".to_owned())
    }
    pub fn images() -> Unit {
        Unit("images".to_owned())
    }
    pub fn characters() -> Unit {
        Unit("characters".to_owned())
    }
    pub fn seconds() -> Unit {
        Unit("seconds".to_owned())
    }
    pub fn credits() -> Unit {
        Unit("credits".to_owned())
    }
    pub fn requests() -> Unit {
        Unit("requests".to_owned())
    }

    /// Normalizes a provider's unit name (`"image"` → `images`, `"Video Seconds"` →
    /// `video_seconds`).
    pub fn parse(text: &str) -> Result<Unit, String> {
        let mut unit: String = text
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        unit = unit.trim_matches('_').to_owned();
        let unit = match unit.as_str() {
            "token" => "tokens".to_owned(),
            "image" => "images".to_owned(),
            "character" | "chars" => "characters".to_owned(),
            "second" | "secs" => "seconds".to_owned(),
            "credit" => "credits".to_owned(),
            "request" => "requests".to_owned(),
            _ => unit,
        };
        if unit.is_empty() || unit.len() > 40 {
            return Err(format!("\"{text}\" is not a unit name"));
        }
        Ok(Unit(unit))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_tokens(&self) -> bool {
        self.0 == "tokens"
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Token counts of one usage line. `input` counts *all* input tokens, cached or not;
/// `cache_read` and `cache_write` are the parts of `input` read from and written to the
/// prompt cache. OpenAI's `input_tokens` already has this meaning; Anthropic's disjoint parts
/// are summed into it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TokenCounts {
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
}

impl TokenCounts {
    pub fn total(self) -> i64 {
        self.input.saturating_add(self.output)
    }

    /// Input tokens neither read from nor written to the cache.
    pub fn uncached_input(self) -> i64 {
        (self.input - self.cache_read - self.cache_write).max(0)
    }

    pub fn of_class(self, class: TokenClass) -> i64 {
        match class {
            TokenClass::Input => self.uncached_input(),
            TokenClass::CachedInput => self.cache_read,
            TokenClass::CacheWrite => self.cache_write,
            TokenClass::Output => self.output,
        }
    }

    pub fn add(&mut self, other: TokenCounts) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
    }

    pub fn is_zero(self) -> bool {
        self == TokenCounts::default()
    }
}

/// The kind of token a billed amount pays for, when the bill says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenClass {
    /// Uncached input.
    Input,
    CachedInput,
    CacheWrite,
    Output,
}

impl TokenClass {
    pub const ALL: [TokenClass; 4] = [
        TokenClass::Input,
        TokenClass::CachedInput,
        TokenClass::CacheWrite,
        TokenClass::Output,
    ];
}

/// A provider's workspace (OpenAI project, Anthropic workspace, AWS account, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceRecord {
    /// The provider's id for it (`proj_…`, `wrkspc_…`, or `default`).
    pub provider_id: String,
    /// The provider's name for it.
    pub name: String,
    pub archived: bool,
    pub created_at: Option<OffsetDateTime>,
}

/// The status a provider reports for an API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Inactive,
    Archived,
    Expired,
    /// Seen in usage but not (any longer) in the provider's key list.
    Unlisted,
}

impl KeyStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Inactive => "inactive",
            KeyStatus::Archived => "archived",
            KeyStatus::Expired => "expired",
            KeyStatus::Unlisted => "unlisted",
        }
    }

    pub fn parse(text: &str) -> KeyStatus {
        match text.trim().to_ascii_lowercase().as_str() {
            "active" => KeyStatus::Active,
            "inactive" | "disabled" | "revoked" | "blocked" => KeyStatus::Inactive,
            "archived" | "deleted" => KeyStatus::Archived,
            "expired" => KeyStatus::Expired,
            _ => KeyStatus::Unlisted,
        }
    }
}

/// An API key as the provider lists it. The key itself is never here, only its hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The provider's id for the key (`key_…`, `apikey_…`).
    pub provider_id: String,
    pub name: Option<String>,
    /// The provider's redacted form of the key (`sk-ant-api03-R2D...igAA`).
    pub hint: Option<String>,
    /// The provider id of the workspace the key belongs to.
    pub workspace_id: Option<String>,
    pub status: KeyStatus,
    pub created_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

/// Usage the provider reports at its finest grain: one (day, workspace, key, model,
/// category, unit, detail) cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    pub day: Day,
    pub workspace_id: Option<String>,
    pub api_key_id: Option<String>,
    pub model: String,
    pub category: Category,
    pub unit: Unit,
    /// A sub-dimension that matters for the category, such as an image size (`1024x1024`).
    pub detail: String,
    pub tokens: TokenCounts,
    /// `None` when the provider does not report request counts (unknown is not zero).
    pub requests: Option<i64>,
    /// Non-token work in `unit` (images, characters, seconds, credits).
    pub quantity: Quantity,
    /// The provider charged for this usage at a rate no one documents (PiAPI's Midjourney
    /// `point` usage): its cost is unknown, never $0.
    pub unpriced: bool,
}

/// Money the provider billed, at the provider's billing grain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilledCost {
    pub day: Day,
    pub workspace_id: Option<String>,
    /// Set when the provider bills per key (then nothing is allocated).
    pub api_key_id: Option<String>,
    /// The model the amount is for, when the bill names one.
    pub model: Option<String>,
    /// The token kind the amount pays for, when the bill says so.
    pub token_class: Option<TokenClass>,
    /// The category, when the bill implies one.
    pub category: Option<Category>,
    /// The provider's own words for the line (`"gpt-4o-2024-08-06, input"`).
    pub description: String,
    /// List cost, before credits.
    pub cost: Money,
    /// Credits applied to this cost (zero or positive).
    pub credits: Money,
    pub currency: Currency,
    /// The provider gave usage but no price; the price catalog priced it.
    pub estimated: bool,
    /// The amount as billed when the provider bills in another currency than `currency`
    /// (`cost` and `credits` are then its conversion); `None`: billed as `cost` and `credits`.
    pub billing: Option<crate::billing::Billed>,
}

/// Everything one fetch of a connection's window produced.
#[derive(Clone, Debug, Default)]
pub struct FetchedWindow {
    pub workspaces: Vec<WorkspaceRecord>,
    pub api_keys: Vec<ApiKeyRecord>,
    pub usage: Vec<UsageRecord>,
    pub costs: Vec<BilledCost>,
    /// Things the user should know that are not errors (e.g. "billing export lags 24–48 h").
    pub notes: Vec<String>,
    /// The days the provider could serve, when fewer than the window asked for (OpenRouter
    /// keeps 30 days): only these days are replaced, so history older than the API keeps is
    /// never wiped by an empty answer. `None`: the whole window.
    pub served: Option<crate::DayRange>,
    /// The services the bill holds and whether their spend was kept (Vertex); empty where a
    /// provider's bill has no services to choose from.
    pub services: Vec<crate::services::BilledService>,
    /// The money kept per usage day and invoice month (Vertex's `invoice.month`); `None`: the
    /// provider's bill names no invoice month.
    pub invoice_months: Option<Vec<crate::services::InvoiceMonthAmount>>,
}
