//! What a Cost Explorer (SERVICE, USAGE_TYPE) pair means: which model, which kind of work, and
//! how to turn its `UsageQuantity` into tokens (shared/providers/aws-bedrock.md §6).
//!
//! Two families of services carry Bedrock spend:
//! - `Amazon Bedrock`: Bedrock's own offer (Nova, Titan, older Claude SKUs). The usage type names
//!   the model: `USE1-NovaPro-input-tokens` is model `nova-pro`, uncached input.
//! - `<Model> (Amazon Bedrock Edition)`: third-party models sold through AWS Marketplace. The
//!   service names the model (`Claude 3.5 Sonnet`); the usage type only the meter:
//!   `USE1-MP:USE1_CacheReadInputTokenCount-Units`.
//!
//! Nothing here is a fixed list of models: a name this module cannot read is kept as the model
//! (category `other`, unit from the pricing unit), so its money is never dropped.

use rust_decimal::Decimal;
use spendlens_domain::{Category, TokenClass, Unit};

/// The service of Bedrock's own models.
pub(crate) const FIRST_PARTY_SERVICE: &str = "Amazon Bedrock";
/// The suffix of every Marketplace model sold through Bedrock.
pub(crate) const MARKETPLACE_SUFFIX: &str = " (Amazon Bedrock Edition)";
/// The model credits on `Amazon Bedrock` itself (not on one model) are put on.
pub(crate) const GENERAL_MODEL: &str = "bedrock-general";

/// Whether Cost Explorer's SERVICE value is Bedrock spend.
pub(crate) fn is_bedrock_service(service: &str) -> bool {
    service == FIRST_PARTY_SERVICE || service.ends_with(MARKETPLACE_SUFFIX)
}

/// The model a Marketplace service is for (`Claude 3.5 Sonnet (Amazon Bedrock Edition)` →
/// `Claude 3.5 Sonnet`), `None` for any other service.
pub(crate) fn marketplace_model(service: &str) -> Option<&str> {
    service
        .strip_suffix(MARKETPLACE_SUFFIX)
        .map(str::trim)
        .filter(|model| !model.is_empty())
}

/// The model credits on `service` belong to.
pub(crate) fn credit_model(service: &str) -> String {
    marketplace_model(service).map_or_else(|| GENERAL_MODEL.to_owned(), str::to_owned)
}

/// What one usage type measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Tokens of one class, `UsageQuantity` × `tokens_per_unit` of them.
    Tokens(TokenClass),
    /// Generated images, one per unit of `UsageQuantity`.
    Images,
    /// Anything else, in its own unit (`Unit::parse` of the pricing unit, or `units`).
    Other,
}

/// The reading of one (SERVICE, USAGE_TYPE) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UsageKind {
    pub model: String,
    pub category: Category,
    pub measure: Measure,
    /// A Marketplace meter (`…-MP:…`): priced per 1M tokens ("Units").
    pub marketplace: bool,
    /// Batch inference (`_Batch`, `-batch-`).
    pub batch: bool,
    /// Global cross-region inference (`_Global`, `global`).
    pub global: bool,
}

/// Reads a usage type of `service` (`Amazon Bedrock` or a Marketplace service).
pub(crate) fn classify(service: &str, usage_type: &str) -> UsageKind {
    let rest = strip_region(usage_type.trim());
    let (marketplace, meter) = match rest.strip_prefix("MP:") {
        Some(meter) => {
            let meter = strip_region_underscore(meter);
            let meter = meter
                .strip_suffix("-Units")
                .or_else(|| meter.strip_suffix("-units"))
                .unwrap_or(meter);
            (true, meter)
        }
        None => (false, rest),
    };
    let words = words_of(meter);
    let has = |word: &str| words.iter().any(|w| w == word);
    let batch = has("batch");
    let global = has("global");
    let measure = if has("cache") || has("cached") || has("caching") {
        if has("write") || has("creation") {
            Measure::Tokens(TokenClass::CacheWrite)
        } else {
            Measure::Tokens(TokenClass::CachedInput)
        }
    } else if has("output") || has("reasoning") || has("thinking") {
        Measure::Tokens(TokenClass::Output)
    } else if has("input") {
        Measure::Tokens(TokenClass::Input)
    } else if has("image") || has("images") {
        Measure::Images
    } else {
        Measure::Other
    };

    let model = match marketplace_model(service) {
        Some(model) => model.to_owned(),
        None => first_party_model(meter, &measure),
    };
    let category = category_of(&model, &measure);
    UsageKind {
        model,
        category,
        measure,
        marketplace,
        batch,
        global,
    }
}

/// The model of a first-party usage type (`NovaPro-input-tokens` → `nova-pro`): the dash-separated
/// parts before the first part that describes the meter. A usage type with no such part is
/// not a token meter spendlens knows: the whole usage type (without region) is kept as the
/// model, so it still has a line of its own.
fn first_party_model(meter: &str, measure: &Measure) -> String {
    let parts: Vec<&str> = meter.split('-').collect();
    let first_meter_part = parts.iter().position(|part| {
        let lower = part.to_ascii_lowercase();
        METER_WORDS.contains(&lower.as_str())
    });
    match (first_meter_part, measure) {
        (Some(index), Measure::Tokens(_) | Measure::Images) if index > 0 => {
            slug(&parts[..index].join("-"))
        }
        _ => meter.to_owned(),
    }
}

/// Parts of a first-party usage type that describe the meter, not the model.
const METER_WORDS: [&str; 16] = [
    "input", "output", "cache", "cached", "read", "write", "tokens", "token", "batch", "global",
    "images", "image", "standard", "priority", "flex", "latency",
];

/// `NovaPro` → `nova-pro`, `Claude2.0` → `claude-2.0`, `TitanEmbedTextV2` → `titan-embed-text-v2`.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous: Option<char> = None;
    for c in name.chars() {
        let boundary = match previous {
            Some(p) => {
                (c.is_ascii_uppercase() && (p.is_ascii_lowercase() || p.is_ascii_digit()))
                    || (c.is_ascii_digit() && p.is_ascii_lowercase())
            }
            None => false,
        };
        if c == '_' || c == ' ' || c == '-' {
            if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        } else {
            if boundary && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        }
        previous = Some(c);
    }
    out.trim_matches('-').to_owned()
}

/// The category of a model's token usage (`Claude 3.5 Sonnet` → text, an embedding model →
/// embedding), for amounts that name the model but no meter, such as credits.
pub(crate) fn model_category(model: &str) -> Category {
    category_of(model, &Measure::Tokens(TokenClass::Input))
}

/// Embedding models by name; image models by name or by an image meter; the rest text (or
/// `other` for a meter that is neither tokens nor images).
fn category_of(model: &str, measure: &Measure) -> Category {
    let lower = model.to_ascii_lowercase();
    if lower.contains("embed") {
        return Category::Embedding;
    }
    let image_model = [
        "canvas",
        "image",
        "stable diffusion",
        "stable-diffusion",
        "sd3",
    ]
    .iter()
    .any(|word| lower.contains(word));
    if image_model || *measure == Measure::Images {
        return Category::Image;
    }
    if lower.contains("rerank") {
        return Category::Other;
    }
    match measure {
        Measure::Tokens(_) => Category::Text,
        Measure::Images => Category::Image,
        Measure::Other => Category::Other,
    }
}

/// Drops a leading region code such as `USE1-` or `APS3-` (letters then a digit).
fn strip_region(text: &str) -> &str {
    match text.split_once('-') {
        Some((head, rest)) if is_region_code(head) => rest,
        _ => text,
    }
}

/// Drops the region of a Marketplace meter (`USE1_InputTokenCount` → `InputTokenCount`).
fn strip_region_underscore(text: &str) -> &str {
    match text.split_once('_') {
        Some((head, rest)) if is_region_code(head) => rest,
        _ => text,
    }
}

fn is_region_code(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(last) = chars.next_back() else {
        return false;
    };
    let letters: Vec<char> = chars.collect();
    last.is_ascii_digit()
        && (2..=4).contains(&letters.len())
        && letters.iter().all(char::is_ascii_uppercase)
}

/// Lower-case words of a meter: split on `-`, `_`, `:` and camel case
/// (`CacheWrite1hInputTokenCount_Global` → cache, write, 1h, input, token, count, global).
fn words_of(meter: &str) -> Vec<String> {
    slug(meter)
        .split('-')
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How many tokens one unit of `UsageQuantity` stands for, from the pricing unit Cost Explorer
/// gives for the usage type (GetDimensionValues USAGE_TYPE `unit` attribute) when it names a
/// scale, else from the family's documented price unit: first-party types are priced per 1K
/// tokens, Marketplace "Units" per 1M tokens (shared/providers/aws-bedrock.md §6).
pub(crate) fn tokens_per_unit(kind: &UsageKind, pricing_unit: Option<&str>) -> Decimal {
    if let Some(scale) = pricing_unit.and_then(scale_of_unit) {
        return scale;
    }
    if kind.marketplace {
        Decimal::from(1_000_000)
    } else {
        Decimal::from(1_000)
    }
}

/// The scale a pricing unit names: `1K tokens` → 1000, `Million Tokens` → 1e6, `Tokens` → 1.
/// `None` for a unit that names no scale of tokens (`Units`, `N/A`).
pub(crate) fn scale_of_unit(unit: &str) -> Option<Decimal> {
    let lower = unit.trim().to_ascii_lowercase();
    if !lower.contains("token") {
        return None;
    }
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with("1m") || compact.contains("million") || compact.starts_with("mtoken") {
        Some(Decimal::from(1_000_000))
    } else if compact.starts_with("1k")
        || compact.contains("thousand")
        || compact.starts_with("1000")
        || compact.starts_with("ktoken")
    {
        Some(Decimal::from(1_000))
    } else {
        Some(Decimal::ONE)
    }
}

/// The unit of a meter that is not tokens: images, or the pricing unit's own name.
pub(crate) fn other_unit(measure: &Measure, pricing_unit: Option<&str>) -> Unit {
    match measure {
        Measure::Images => Unit::images(),
        _ => pricing_unit
            .filter(|unit| !unit.trim().is_empty() && unit.trim() != "N/A")
            .and_then(|unit| Unit::parse(unit).ok())
            .unwrap_or_else(|| Unit::parse("units").unwrap_or_else(|_| Unit::requests())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(class: TokenClass) -> Measure {
        Measure::Tokens(class)
    }

    #[test]
    fn first_party_usage_types_name_model_and_direction() {
        let kind = classify("Amazon Bedrock", "USE1-NovaPro-input-tokens");
        assert_eq!(kind.model, "nova-pro");
        assert_eq!(kind.measure, tokens(TokenClass::Input));
        assert_eq!(kind.category, Category::Text);
        assert!(!kind.marketplace);
        let kind = classify("Amazon Bedrock", "USE1-NovaPro-output-tokens");
        assert_eq!(kind.measure, tokens(TokenClass::Output));
        let kind = classify("Amazon Bedrock", "USE1-Claude2.0-input-tokens");
        assert_eq!(kind.model, "claude-2.0");
        let kind = classify("Amazon Bedrock", "EUC1-NovaLite-cache-read-input-tokens");
        assert_eq!(kind.model, "nova-lite");
        assert_eq!(kind.measure, tokens(TokenClass::CachedInput));
        let kind = classify("Amazon Bedrock", "USW2-NovaMicro-batch-output-tokens");
        assert_eq!(kind.model, "nova-micro");
        assert!(kind.batch);
        assert_eq!(kind.measure, tokens(TokenClass::Output));
    }

    #[test]
    fn marketplace_usage_types_take_the_model_from_the_service() {
        let service = "Claude 3.5 Sonnet (Amazon Bedrock Edition)";
        let kind = classify(service, "USE1-MP:USE1_InputTokenCount-Units");
        assert_eq!(kind.model, "Claude 3.5 Sonnet");
        assert_eq!(kind.measure, tokens(TokenClass::Input));
        assert!(kind.marketplace);
        let kind = classify(service, "USE1-MP:USE1_CacheReadInputTokenCount-Units");
        assert_eq!(kind.measure, tokens(TokenClass::CachedInput));
        let kind = classify(
            service,
            "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units",
        );
        assert_eq!(kind.measure, tokens(TokenClass::CacheWrite));
        assert!(kind.global);
        let kind = classify(service, "USE1-MP:USE1_OutputTokenCount_Batch-Units");
        assert_eq!(kind.measure, tokens(TokenClass::Output));
        assert!(kind.batch);
        let kind = classify(service, "APS3-MP:APS3_input_tokens_global_standard-Units");
        assert_eq!(kind.measure, tokens(TokenClass::Input));
        assert!(kind.global);
    }

    #[test]
    fn unknown_usage_types_are_kept_as_their_own_model() {
        let kind = classify(
            "Amazon Bedrock",
            "USE1-ProvisionedThroughput-NovaPro-ModelUnits",
        );
        assert_eq!(kind.model, "ProvisionedThroughput-NovaPro-ModelUnits");
        assert_eq!(kind.measure, Measure::Other);
        assert_eq!(kind.category, Category::Other);
        let kind = classify(
            "Cohere Rerank (Amazon Bedrock Edition)",
            "USE1-MP:USE1_Search-Units",
        );
        assert_eq!(kind.model, "Cohere Rerank");
        assert_eq!(kind.category, Category::Other);
    }

    #[test]
    fn embedding_and_image_models_get_their_category() {
        let kind = classify("Amazon Bedrock", "USE1-TitanEmbedTextV2-input-tokens");
        assert_eq!(kind.model, "titan-embed-text-v2");
        assert_eq!(kind.category, Category::Embedding);
        let kind = classify("Amazon Bedrock", "USE1-NovaCanvas-images");
        assert_eq!(kind.model, "nova-canvas");
        assert_eq!(kind.measure, Measure::Images);
        assert_eq!(kind.category, Category::Image);
    }

    #[test]
    fn only_bedrock_services_count() {
        assert!(is_bedrock_service("Amazon Bedrock"));
        assert!(is_bedrock_service(
            "Claude Sonnet 4.5 (Amazon Bedrock Edition)"
        ));
        assert!(!is_bedrock_service("Amazon Bedrock AgentCore"));
        assert!(!is_bedrock_service(
            "Amazon Elastic Compute Cloud - Compute"
        ));
        assert_eq!(credit_model("Amazon Bedrock"), "bedrock-general");
        assert_eq!(
            credit_model("Jamba 1.5 Mini (Amazon Bedrock Edition)"),
            "Jamba 1.5 Mini"
        );
    }

    #[test]
    fn pricing_units_scale_tokens() {
        let first = classify("Amazon Bedrock", "USE1-NovaPro-input-tokens");
        let market = classify(
            "Claude (Amazon Bedrock Edition)",
            "USE1-MP:USE1_InputTokenCount-Units",
        );
        assert_eq!(tokens_per_unit(&first, None), Decimal::from(1000));
        assert_eq!(tokens_per_unit(&market, None), Decimal::from(1_000_000));
        assert_eq!(
            tokens_per_unit(&market, Some("Units")),
            Decimal::from(1_000_000)
        );
        assert_eq!(
            tokens_per_unit(&first, Some("1K tokens")),
            Decimal::from(1000)
        );
        assert_eq!(
            tokens_per_unit(&market, Some("Million Tokens")),
            Decimal::from(1_000_000)
        );
        assert_eq!(tokens_per_unit(&first, Some("Tokens")), Decimal::ONE);
        assert_eq!(scale_of_unit("Hrs"), None);
    }
}
