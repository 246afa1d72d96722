//! Azure OpenAI meter names → model, token class, deployment type and unit
//! (shared/providers/azure-openai.md §8).
//!
//! Meter names have no consistent grammar (`gpt 4o 0513 Input global Tokens`,
//! `gpt-4o-mini-0718-Outp-regnl Tokens`, `GPT 5 cchd Inpt DZone 1M Tokens`,
//! `Provisioned Managed Global Unit`, `Sora 2 dzone Second`), so they are read with a tolerant
//! tokenizer. The Query API does not return the unit of measure: `1M` in the name means a
//! million tokens, `Tokens` without it a thousand. A meter that does not parse is still money:
//! it becomes an "other" line under its raw name, with its quantity in `meter_units`.

use rust_decimal::Decimal;
use spendlens_domain::{Category, TokenClass, Unit};

/// What a meter name says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meter {
    /// `gpt-4o-0513`, `gpt-5`, `text-embedding-3-large`; the raw name when it does not parse.
    pub model: String,
    pub category: Category,
    pub token_class: Option<TokenClass>,
    pub unit: MeterUnit,
    /// Deployment type and batch (`global`, `data zone, batch`); empty when not named.
    pub detail: String,
}

/// The unit of a meter's `UsageQuantity`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MeterUnit {
    /// Tokens in blocks of this many (1,000 or 1,000,000).
    Tokens(i64),
    Hours,
    Seconds,
    Images,
    /// Not said by the name: the quantity is kept as the meter counts it.
    Unknown,
}

impl MeterUnit {
    pub(crate) fn unit(&self) -> Unit {
        match self {
            MeterUnit::Tokens(_) => Unit::tokens(),
            MeterUnit::Hours => Unit::parse("hours").unwrap_or_else(|_| Unit::tokens()),
            MeterUnit::Seconds => Unit::seconds(),
            MeterUnit::Images => Unit::parse("image_units").unwrap_or_else(|_| Unit::images()),
            MeterUnit::Unknown => Unit::parse("meter_units").unwrap_or_else(|_| Unit::tokens()),
        }
    }

    /// Whole tokens for a quantity in this unit (rounded: the API's quantities are in 1K/1M
    /// blocks with up to ~6 decimals); `None` when the unit is not tokens.
    pub(crate) fn tokens(&self, quantity: Decimal) -> Option<i64> {
        let MeterUnit::Tokens(block) = self else {
            return None;
        };
        let tokens = quantity.checked_mul(Decimal::from(*block))?.round();
        i64::try_from(tokens).ok()
    }
}

fn tokens_of(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in name
        .to_ascii_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|t| !t.is_empty())
    {
        // `BatchOutp`, `mini0718`: a glued prefix or version is its own token.
        let mut token = raw.to_owned();
        if let Some(rest) = token.strip_prefix("batch")
            && !rest.is_empty()
        {
            out.push("batch".to_owned());
            token = rest.to_owned();
        }
        let digits = token.chars().rev().take_while(char::is_ascii_digit).count();
        if digits == 4 && token.len() > 4 && token.chars().all(|c| c.is_ascii_alphanumeric()) {
            let (head, version) = token.split_at(token.len() - 4);
            if head.chars().all(|c| c.is_ascii_alphabetic()) {
                out.push(head.to_owned());
                out.push(version.to_owned());
                continue;
            }
        }
        out.push(token);
    }
    out
}

/// Reads a meter name; never fails (an unreadable meter is an "other" line).
pub(crate) fn parse_meter(raw: &str) -> Meter {
    let raw = raw.trim();
    let tokens = tokens_of(raw);
    let other = || Meter {
        model: raw.to_owned(),
        category: Category::Other,
        token_class: None,
        unit: MeterUnit::Unknown,
        detail: String::new(),
    };
    let has = |word: &str| tokens.iter().any(|t| t == word);
    let unit = if has("tokens") || has("token") {
        let block = if has("1m") { 1_000_000 } else { 1_000 };
        MeterUnit::Tokens(block)
    } else if has("provisioned") || has("hour") || has("hours") {
        MeterUnit::Hours
    } else if has("second") || has("seconds") {
        MeterUnit::Seconds
    } else if has("images") || has("image") && tokens.last().is_some_and(|t| t.starts_with("image"))
    {
        MeterUnit::Images
    } else {
        return other();
    };

    let mut direction: Option<TokenClass> = None;
    let mut cached = false;
    let mut batch = false;
    let mut deployment: Option<&str> = None;
    let mut model: Vec<&str> = Vec::new();
    let mut iter = tokens.iter().map(String::as_str).peekable();
    while let Some(token) = iter.next() {
        match token {
            "cached" | "cchd" => cached = true,
            "input" | "inp" | "inpt" | "in" => direction = Some(TokenClass::Input),
            "output" | "outp" | "outpt" | "opt" | "out" => direction = Some(TokenClass::Output),
            "batch" => batch = true,
            "global" | "glbl" | "gl" => deployment = Some("global"),
            "datazone" | "dzone" | "dz" => deployment = Some("data zone"),
            "data" if iter.peek() == Some(&"zone") => {
                iter.next();
                deployment = Some("data zone");
            }
            "regional" | "regnl" | "rgnl" => deployment = Some("regional"),
            "tokens" | "token" | "1m" | "1k" | "second" | "seconds" | "hour" | "hours" | "unit"
            | "units" | "images" => {}
            other => model.push(other),
        }
    }
    if model.is_empty() {
        return other();
    }
    let mut name = model.join("-");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("gpt-{name}");
    }
    let embedding = name.contains("embedding");
    let category = match unit {
        MeterUnit::Tokens(_) if embedding => Category::Embedding,
        MeterUnit::Tokens(_) => Category::Text,
        MeterUnit::Seconds => Category::Video,
        MeterUnit::Images => Category::Image,
        MeterUnit::Hours | MeterUnit::Unknown => Category::Other,
    };
    let token_class = match unit {
        MeterUnit::Tokens(_) if cached => Some(TokenClass::CachedInput),
        MeterUnit::Tokens(_) if embedding && direction.is_none() => Some(TokenClass::Input),
        MeterUnit::Tokens(_) => direction,
        _ => None,
    };
    let mut detail: Vec<&str> = deployment.into_iter().collect();
    if batch {
        detail.push("batch");
    }
    Meter {
        model: name,
        category,
        token_class,
        unit,
        detail: detail.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &str) -> (String, Option<TokenClass>, MeterUnit, String) {
        let m = parse_meter(raw);
        (m.model, m.token_class, m.unit, m.detail)
    }

    #[test]
    fn every_documented_spelling_reads() {
        use MeterUnit::*;
        use TokenClass::*;
        let k = Tokens(1_000);
        let m = Tokens(1_000_000);
        let cases = [
            (
                "gpt 4o 0513 Input global Tokens",
                "gpt-4o-0513",
                Some(Input),
                k.clone(),
                "global",
            ),
            (
                "gpt 4o 0513 Output regional Tokens",
                "gpt-4o-0513",
                Some(Output),
                k.clone(),
                "regional",
            ),
            (
                "gpt 4o 0513 Input Data Zone Tokens",
                "gpt-4o-0513",
                Some(Input),
                k.clone(),
                "data zone",
            ),
            (
                "gpt 4o 1120 cached Inp glbl Tokens",
                "gpt-4o-1120",
                Some(CachedInput),
                k.clone(),
                "global",
            ),
            (
                "gpt 4o 1120 Batch Inp glbl Tokens",
                "gpt-4o-1120",
                Some(Input),
                k.clone(),
                "global, batch",
            ),
            (
                "gpt-4o-0806-Inp-glbl Tokens",
                "gpt-4o-0806",
                Some(Input),
                k.clone(),
                "global",
            ),
            (
                "gpt-4o-mini-0718-Outp-regnl Tokens",
                "gpt-4o-mini-0718",
                Some(Output),
                k.clone(),
                "regional",
            ),
            (
                "gpt 4o mini0718 BatchOutp DataZone Tokens",
                "gpt-4o-mini-0718",
                Some(Output),
                k.clone(),
                "data zone, batch",
            ),
            (
                "o3 mini 0131 cached input Data Zone Tokens",
                "o3-mini-0131",
                Some(CachedInput),
                k.clone(),
                "data zone",
            ),
            (
                "GPT 5 Inpt Glbl 1M Tokens",
                "gpt-5",
                Some(Input),
                m.clone(),
                "global",
            ),
            (
                "GPT 5 cchd Inpt DZone 1M Tokens",
                "gpt-5",
                Some(CachedInput),
                m.clone(),
                "data zone",
            ),
            (
                "5.4 inp Gl 1M Tokens",
                "gpt-5.4",
                Some(Input),
                m.clone(),
                "global",
            ),
            (
                "text-embedding-3-large-glbl Tokens",
                "text-embedding-3-large",
                Some(Input),
                k.clone(),
                "global",
            ),
            (
                "Provisioned Managed Global Unit",
                "provisioned-managed",
                None,
                Hours,
                "global",
            ),
            ("Sora 2 dzone Second", "sora-2", None, Seconds, "data zone"),
        ];
        for (raw, model, class, unit, detail) in cases {
            assert_eq!(
                read(raw),
                (model.to_owned(), class, unit, detail.to_owned()),
                "{raw}"
            );
        }
        assert_eq!(parse_meter("Sora 2 dzone Second").category, Category::Video);
        assert_eq!(
            parse_meter("text-embedding-3-large-glbl Tokens").category,
            Category::Embedding
        );
    }

    #[test]
    fn an_unreadable_meter_is_kept_under_its_raw_name() {
        let m = parse_meter("Widget Foo Bar");
        assert_eq!(m.model, "Widget Foo Bar");
        assert_eq!(m.category, Category::Other);
        assert_eq!(m.unit, MeterUnit::Unknown);
        assert_eq!(m.unit.unit().as_str(), "meter_units");
    }

    #[test]
    fn quantities_become_whole_tokens_in_the_meter_s_blocks() {
        let q: Decimal = "935.145672".parse().unwrap();
        assert_eq!(MeterUnit::Tokens(1_000).tokens(q), Some(935_146));
        assert_eq!(
            MeterUnit::Tokens(1_000_000).tokens("1.025".parse().unwrap()),
            Some(1_025_000)
        );
        assert_eq!(MeterUnit::Hours.tokens(q), None);
    }
}
