//! OpenAI's cost `line_item` strings: `"<model>, <piece>"`, optionally with a `"<tier> | "`
//! prefix, a modality word after the model (`"gpt-image-1 image, output"`) and more pieces
//! after the first (`", long context"`). See the addendum of shared/providers/openai.md.
//!
//! A line item that does not parse is still money: it keeps no model, category `other`, and
//! its own words as the description.

use spendlens_domain::{Category, TokenClass};

/// What a line item says about the money it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItem {
    /// The model the money is for; `None` when the line item names none.
    pub model: Option<String>,
    /// The token kind the money pays for, when the piece names one.
    pub token_class: Option<TokenClass>,
    pub category: Category,
    /// A `"<tier> | "` prefix such as `priority`.
    pub tier: Option<String>,
}

impl LineItem {
    fn unparsed() -> LineItem {
        LineItem {
            model: None,
            token_class: None,
            category: Category::Other,
            tier: None,
        }
    }
}

/// Words that name a modality after the model or as a piece.
fn modality(word: &str) -> Option<Category> {
    match word.to_ascii_lowercase().as_str() {
        "audio" => Some(Category::Audio),
        "image" | "images" => Some(Category::Image),
        "video" => Some(Category::Video),
        "text" => Some(Category::Text),
        "embedding" | "embeddings" => Some(Category::Embedding),
        "moderation" | "moderations" => Some(Category::Moderation),
        _ => None,
    }
}

/// The category a model's name implies when the line item names no modality.
fn category_of_model(model: &str) -> Category {
    let model = model.to_ascii_lowercase();
    if model.contains("embedding") {
        Category::Embedding
    } else if model.contains("moderation") {
        Category::Moderation
    } else if model.starts_with("whisper")
        || model.starts_with("tts")
        || model.contains("-tts")
        || model.contains("transcribe")
    {
        Category::Audio
    } else if model.starts_with("dall-e") || model.contains("image") {
        Category::Image
    } else if model.starts_with("sora") {
        Category::Video
    } else {
        Category::Text
    }
}

/// The token kind a piece names: `"cached input"` before `"input"`.
fn token_class(piece: &str) -> Option<TokenClass> {
    let words: Vec<&str> = piece.split_whitespace().collect();
    let has = |wanted: &str| words.iter().any(|w| w.eq_ignore_ascii_case(wanted));
    if has("cached") && has("input") {
        Some(TokenClass::CachedInput)
    } else if (has("cache") && has("write")) || (has("cache") && has("creation")) {
        Some(TokenClass::CacheWrite)
    } else if has("input") {
        Some(TokenClass::Input)
    } else if has("output") {
        Some(TokenClass::Output)
    } else {
        None
    }
}

pub fn parse_line_item(text: &str) -> LineItem {
    let mut rest = text.trim();
    let mut tier = None;
    if let Some((prefix, after)) = rest.split_once('|') {
        let prefix = prefix.trim();
        if prefix.is_empty() || prefix.contains(',') {
            return LineItem::unparsed();
        }
        tier = Some(prefix.to_owned());
        rest = after.trim();
    }
    let Some((head, pieces)) = rest.split_once(',') else {
        return LineItem::unparsed();
    };
    let mut head = head.trim();
    let mut category = None;
    if let Some((model, word)) = head.rsplit_once(char::is_whitespace)
        && let Some(found) = modality(word)
    {
        head = model.trim_end();
        category = Some(found);
    }
    if head.is_empty() || head.contains(char::is_whitespace) {
        return LineItem::unparsed();
    }
    let first_piece = pieces.split(',').next().unwrap_or_default().trim();
    let piece_class = token_class(first_piece);
    if category.is_none() && piece_class.is_none() {
        category = first_piece.split_whitespace().find_map(modality);
    }
    LineItem {
        model: Some(head.to_owned()),
        token_class: piece_class,
        category: category.unwrap_or_else(|| category_of_model(head)),
        tier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(
        model: Option<&str>,
        token_class: Option<TokenClass>,
        category: Category,
        tier: Option<&str>,
    ) -> LineItem {
        LineItem {
            model: model.map(str::to_owned),
            token_class,
            category,
            tier: tier.map(str::to_owned),
        }
    }

    #[test]
    fn every_example_of_the_doc_parses_as_expected() {
        use Category::*;
        use TokenClass::*;
        let table = [
            (
                "gpt-4o-mini-2024-07-18, input",
                item(Some("gpt-4o-mini-2024-07-18"), Some(Input), Text, None),
            ),
            (
                "gpt-4o-mini-2024-07-18, cached input",
                item(
                    Some("gpt-4o-mini-2024-07-18"),
                    Some(CachedInput),
                    Text,
                    None,
                ),
            ),
            (
                "gpt-4.1-2025-04-14, output",
                item(Some("gpt-4.1-2025-04-14"), Some(Output), Text, None),
            ),
            (
                "ft-gpt-4o-2024-08-06, input",
                item(Some("ft-gpt-4o-2024-08-06"), Some(Input), Text, None),
            ),
            (
                "gpt-audio-mini-2025-12-15 audio, input",
                item(Some("gpt-audio-mini-2025-12-15"), Some(Input), Audio, None),
            ),
            (
                "gpt-image-1 image, output",
                item(Some("gpt-image-1"), Some(Output), Image, None),
            ),
            (
                "whisper-1, audio",
                item(Some("whisper-1"), None, Audio, None),
            ),
            (
                "priority | gpt-5.6-sol, output, long context",
                item(Some("gpt-5.6-sol"), Some(Output), Text, Some("priority")),
            ),
            ("web search tool calls", item(None, None, Other, None)),
            ("Vector storage", item(None, None, Other, None)),
            ("Image models", item(None, None, Other, None)),
        ];
        for (text, expected) in table {
            assert_eq!(parse_line_item(text), expected, "{text}");
        }
    }

    #[test]
    fn model_names_imply_a_category_when_no_modality_is_named() {
        let cases = [
            ("text-embedding-3-small, input", Category::Embedding),
            ("omni-moderation-latest, input", Category::Moderation),
            ("tts-1, characters", Category::Audio),
            ("gpt-4o-mini-tts, input", Category::Audio),
            ("dall-e-3, images", Category::Image),
            ("o3-2025-04-16, output", Category::Text),
        ];
        for (text, category) in cases {
            assert_eq!(parse_line_item(text).category, category, "{text}");
        }
    }

    #[test]
    fn odd_shapes_do_not_parse_but_are_never_lost() {
        for text in [
            "",
            " , input",
            "some thing else, input",
            "| gpt-4o, input",
            "a, b | c, input",
        ] {
            let parsed = parse_line_item(text);
            assert_eq!(parsed.model, None, "{text}");
            assert_eq!(parsed.category, Category::Other, "{text}");
        }
    }

    #[test]
    fn an_unknown_piece_keeps_the_model_without_a_token_kind() {
        let parsed = parse_line_item("gpt-5-codex, reasoning summary");
        assert_eq!(parsed.model.as_deref(), Some("gpt-5-codex"));
        assert_eq!(parsed.token_class, None);
        assert_eq!(parsed.category, Category::Text);
        assert_eq!(
            parse_line_item("gpt-4o, cache write").token_class,
            Some(TokenClass::CacheWrite)
        );
        assert_eq!(
            parse_line_item("Gpt-4o , Cached Input").token_class,
            Some(TokenClass::CachedInput)
        );
    }
}
