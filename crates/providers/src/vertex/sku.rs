//! What a billing-export SKU is for: the model, the kind of work and the token direction, read
//! from `sku.description` (shared/providers/google-vertex.md §6), and what its pricing unit
//! measures.
//!
//! `Gemini 2.5 Flash GA Text Input - Predictions` is model `gemini-2.5-flash`, uncached input;
//! `Generate content cached input token count gemini 2.5 flash …` is cached input;
//! `… Thinking Text Output …` is output. A SKU this module cannot read is kept as its own model
//! (its description), category `other`, in its own pricing unit: its money is never dropped.

use rust_decimal::Decimal;
use spendlens_domain::{Category, TokenClass, Unit};

/// What a SKU measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SkuMeasure {
    /// Tokens of one class.
    Tokens(TokenClass),
    /// Anything else (storage hours, requests, images, seconds, months), in the pricing unit.
    Other,
}

/// The reading of one SKU description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SkuKind {
    pub model: String,
    pub category: Category,
    pub measure: SkuMeasure,
}

/// Reads a SKU description.
pub(crate) fn classify(description: &str) -> SkuKind {
    let text = description.trim();
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ':' | ';' | '/'))
        .filter(|word| !word.is_empty() && *word != "-")
        .collect();
    let has = |word: &str| words.contains(&word);

    if has("grounding") {
        return SkuKind {
            model: collapse(&lower),
            category: Category::Tool,
            measure: SkuMeasure::Other,
        };
    }
    let storage = has("storage");
    let direction = if storage {
        None
    } else if has("thinking") || has("output") {
        Some(TokenClass::Output)
    } else if has("cached") || has("caching") || has("cache") {
        Some(TokenClass::CachedInput)
    } else if has("input") {
        Some(TokenClass::Input)
    } else {
        None
    };

    let model = model_of(&words);
    let embedding = lower.contains("embed");
    let category = match (&model, direction) {
        _ if embedding => Category::Embedding,
        (Some(name), _) if name.starts_with("imagen") => Category::Image,
        (Some(name), _) if name.starts_with("veo") => Category::Video,
        (Some(_), Some(_)) => Category::Text,
        _ => Category::Other,
    };
    let measure = match direction {
        Some(class) if category != Category::Image && category != Category::Video => {
            SkuMeasure::Tokens(class)
        }
        _ => SkuMeasure::Other,
    };
    let category = if storage { Category::Other } else { category };
    SkuKind {
        model: model.unwrap_or_else(|| text.to_owned()),
        category,
        measure,
    }
}

/// The model a SKU names: `Gemini <version> <Pro|Flash|Flash-Lite|Flash Lite>`, a model id
/// written as one word (`gemini-embedding-001`, `text-embedding-005`), or `Imagen 3` / `Veo 2`.
fn model_of(words: &[&str]) -> Option<String> {
    for (index, word) in words.iter().enumerate() {
        let next = |offset: usize| words.get(index + offset).copied();
        if *word == "gemini"
            && let Some(version) = next(1).filter(|v| is_version(v))
        {
            let variant = match (next(2), next(3)) {
                (Some("flash-lite"), _) | (Some("flash"), Some("lite")) => Some("flash-lite"),
                (Some("flash"), _) => Some("flash"),
                (Some("pro"), _) => Some("pro"),
                _ => None,
            };
            if let Some(variant) = variant {
                return Some(format!("gemini-{version}-{variant}"));
            }
        }
        if (word.starts_with("gemini-")
            || word.contains("embedding-")
            || word.starts_with("textembedding"))
            && word.len() > 7
        {
            return Some(word.trim_end_matches(['.', '-']).to_owned());
        }
        // Partner models sold through Vertex: `Claude Sonnet 4.5 Input Tokens` is
        // `claude-sonnet-4-5`, `Llama 3.3 70B …` `llama-3.3-70b`, `Mistral Large …`
        // `mistral-large`: the maker's word and the words up to the direction.
        if matches!(
            *word,
            "claude" | "llama" | "mistral" | "codestral" | "jamba"
        ) {
            let stop = [
                "input",
                "output",
                "tokens",
                "token",
                "count",
                "cached",
                "caching",
                "thinking",
                "text",
                "predictions",
                "requests",
                "characters",
            ];
            let rest: Vec<&str> = words[index + 1..]
                .iter()
                .copied()
                .take_while(|w| !stop.contains(w))
                .collect();
            let mut name = std::iter::once(*word)
                .chain(rest)
                .collect::<Vec<_>>()
                .join("-");
            if *word == "claude" {
                name = name.replace('.', "-");
            }
            return Some(name);
        }
        if (*word == "imagen" || *word == "veo")
            && let Some(version) = next(1).filter(|v| is_version(v))
        {
            return Some(format!("{word}-{version}"));
        }
    }
    None
}

fn is_version(text: &str) -> bool {
    !text.is_empty()
        && text.chars().next().is_some_and(|c| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A pricing unit, read as a scale and a base: `count` → (1, count), `1000 count` →
/// (1000, count), `1k characters` → (1000, characters), `hour` → (1, hour).
pub(crate) fn pricing_unit(text: &str) -> (Decimal, String) {
    let lower = text.trim().to_ascii_lowercase();
    let mut words = lower.split_whitespace();
    let first = words.next().unwrap_or("");
    let scale = match first {
        "1k" | "k" | "thousand" => Some(Decimal::from(1_000)),
        "1m" | "m" | "million" => Some(Decimal::from(1_000_000)),
        number if number.chars().all(|c| c.is_ascii_digit()) && !number.is_empty() => {
            number.parse::<u64>().ok().map(Decimal::from)
        }
        _ => None,
    };
    match scale {
        Some(scale) => (scale, words.collect::<Vec<_>>().join(" ")),
        None => (Decimal::ONE, lower),
    }
}

/// Whether a pricing unit's base counts tokens.
pub(crate) fn counts_tokens(base: &str) -> bool {
    matches!(base, "count" | "token" | "tokens" | "")
}

/// The unit of a line that is not tokens, from the pricing unit's base (`characters`,
/// `hour` → `hour`, `gibibyte month` → `gibibyte_month`), or `units` when there is none.
pub(crate) fn other_unit(base: &str) -> Unit {
    let base = base.trim();
    let parsed = if base.is_empty() || base == "count" {
        Unit::parse("units")
    } else {
        Unit::parse(base)
    };
    parsed.unwrap_or_else(|_| Unit::requests())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> (String, Category, SkuMeasure) {
        let kind = classify(text);
        (kind.model, kind.category, kind.measure)
    }

    #[test]
    fn partner_model_skus_name_their_model_and_direction() {
        let claude = classify("Claude Sonnet 4.5 Output Tokens");
        assert_eq!(claude.model, "claude-sonnet-4-5");
        assert_eq!(claude.category, Category::Text);
        assert_eq!(claude.measure, SkuMeasure::Tokens(TokenClass::Output));
        let llama = classify("Llama 3.3 70B Input Tokens");
        assert_eq!(llama.model, "llama-3.3-70b");
        assert_eq!(llama.measure, SkuMeasure::Tokens(TokenClass::Input));
        assert_eq!(
            classify("Mistral Large Input Tokens").model,
            "mistral-large"
        );
    }

    #[test]
    fn vertex_gemini_skus_give_model_and_direction() {
        assert_eq!(
            kind("Gemini 2.5 Flash GA Text Input - Predictions"),
            (
                "gemini-2.5-flash".into(),
                Category::Text,
                SkuMeasure::Tokens(TokenClass::Input)
            )
        );
        assert_eq!(
            kind("Gemini 2.5 Flash GA Text Output - Predictions").2,
            SkuMeasure::Tokens(TokenClass::Output)
        );
        assert_eq!(
            kind("Gemini 2.5 Flash GA Thinking Text Output - Predictions").2,
            SkuMeasure::Tokens(TokenClass::Output)
        );
        assert_eq!(
            kind("Gemini 3 Flash Text Input Caching"),
            (
                "gemini-3-flash".into(),
                Category::Text,
                SkuMeasure::Tokens(TokenClass::CachedInput)
            )
        );
        assert_eq!(
            kind("Gemini 3 Flash Text Input Caching Storage"),
            ("gemini-3-flash".into(), Category::Other, SkuMeasure::Other)
        );
        assert_eq!(
            kind("Gemini 2.0 Flash Lite Text Input - Predictions").0,
            "gemini-2.0-flash-lite"
        );
        assert_eq!(
            kind("Gemini 2.5 Flash-Lite Text Output").0,
            "gemini-2.5-flash-lite"
        );
    }

    #[test]
    fn gemini_api_skus_give_model_and_direction() {
        assert_eq!(
            kind("Generate content input token count Gemini 2.5 Pro short input text"),
            (
                "gemini-2.5-pro".into(),
                Category::Text,
                SkuMeasure::Tokens(TokenClass::Input)
            )
        );
        assert_eq!(
            kind("Generate content output token count gemini 2.5 flash long output text").2,
            SkuMeasure::Tokens(TokenClass::Output)
        );
        assert_eq!(
            kind("Generate content cached input token count gemini 2.5 flash input image").2,
            SkuMeasure::Tokens(TokenClass::CachedInput)
        );
        assert_eq!(
            kind("GenerateContent text output token count for Gemini 2.0 Flash").0,
            "gemini-2.0-flash"
        );
        assert_eq!(
            kind("EmbedContent input token count for gemini-embedding-001"),
            (
                "gemini-embedding-001".into(),
                Category::Embedding,
                SkuMeasure::Tokens(TokenClass::Input)
            )
        );
    }

    #[test]
    fn tools_storage_and_unknown_skus_are_kept() {
        assert_eq!(
            kind("Grounding with Google Search"),
            (
                "grounding with google search".into(),
                Category::Tool,
                SkuMeasure::Other
            )
        );
        assert_eq!(
            kind("Cached content storage token hours"),
            (
                "Cached content storage token hours".into(),
                Category::Other,
                SkuMeasure::Other
            )
        );
        assert_eq!(
            kind("Vertex AI: Provisioned Throughput 1 month"),
            (
                "Vertex AI: Provisioned Throughput 1 month".into(),
                Category::Other,
                SkuMeasure::Other
            )
        );
        assert_eq!(kind("Imagen 3 Generation - Predictions").1, Category::Image);
    }

    #[test]
    fn pricing_units_read_their_scale() {
        assert_eq!(pricing_unit("count"), (Decimal::ONE, "count".to_owned()));
        assert_eq!(
            pricing_unit("1000 count"),
            (Decimal::from(1000), "count".to_owned())
        );
        assert_eq!(
            pricing_unit("1k characters"),
            (Decimal::from(1000), "characters".to_owned())
        );
        assert_eq!(pricing_unit("hour"), (Decimal::ONE, "hour".to_owned()));
        assert!(counts_tokens("count"));
        assert!(!counts_tokens("requests"));
        assert_eq!(other_unit("gibibyte month").as_str(), "gibibyte_month");
        assert_eq!(other_unit("requests"), Unit::requests());
    }
}
