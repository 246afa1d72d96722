//! The Claude models the fake Anthropic organization uses, the usage dimensions it reports, and
//! the fake's own price table in integer nano-dollars per token.
//!
//! Prices are Anthropic's public list prices (per 1M tokens: input / output / 5-minute cache
//! write / 1-hour cache write / cache read): Opus 4.1 $15 / $75 / $18.75 / $30 / $1.50;
//! Sonnet 4.5 $3 / $15 / $3.75 / $6 / $0.30, and above 200k context $6 / $22.50 / $7.50 / $12 /
//! $0.60; Haiku 4.5 $1 / $5 / $1.25 / $2 / $0.10; Haiku 3.5 $0.80 / $4 / $1 / $1.60 / $0.08.
//! The Batch tier costs half. Web search is $10 per 1,000 searches; code execution $0.05 per
//! container-hour. All are whole nano-dollars per unit, so every cost is exact.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Model {
    Opus41,
    Sonnet45,
    Haiku45,
    Haiku35,
}

impl Model {
    pub(crate) const ALL: [Model; 4] = [
        Model::Opus41,
        Model::Sonnet45,
        Model::Haiku45,
        Model::Haiku35,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Opus41 => "claude-opus-4-1-20250805",
            Self::Sonnet45 => "claude-sonnet-4-5-20250929",
            Self::Haiku45 => "claude-haiku-4-5-20251001",
            Self::Haiku35 => "claude-3-5-haiku-20241022",
        }
    }

    /// The name the cost report's descriptions use.
    pub(crate) fn display(self) -> &'static str {
        match self {
            Self::Opus41 => "Claude Opus 4.1",
            Self::Sonnet45 => "Claude Sonnet 4.5",
            Self::Haiku45 => "Claude Haiku 4.5",
            Self::Haiku35 => "Claude Haiku 3.5",
        }
    }

    /// `inference_geo` (a newer dimension): older models report `not_available`.
    pub(crate) fn inference_geo(self) -> &'static str {
        match self {
            Self::Haiku35 => "not_available",
            _ => "global",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tier {
    Standard,
    Batch,
    /// Priority Tier: in the usage report, never in the cost report (anthropic.md pitfall 4).
    Priority,
}

impl Tier {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Batch => "batch",
            Self::Priority => "priority",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Context {
    Upto200k,
    Over200k,
}

impl Context {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Upto200k => "0-200k",
            Self::Over200k => "200k-1M",
        }
    }
}

/// The five billed token types, matching the usage fields one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TokenType {
    Uncached,
    Output,
    CacheRead,
    CacheWrite5m,
    CacheWrite1h,
}

impl TokenType {
    pub(crate) const ALL: [TokenType; 5] = [
        TokenType::Uncached,
        TokenType::Output,
        TokenType::CacheRead,
        TokenType::CacheWrite5m,
        TokenType::CacheWrite1h,
    ];

    /// `token_type` in the cost report.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Uncached => "uncached_input_tokens",
            Self::Output => "output_tokens",
            Self::CacheRead => "cache_read_input_tokens",
            Self::CacheWrite5m => "cache_creation.ephemeral_5m_input_tokens",
            Self::CacheWrite1h => "cache_creation.ephemeral_1h_input_tokens",
        }
    }

    /// The part of a cost description after the dash.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Uncached => "Input Tokens",
            Self::Output => "Output Tokens",
            Self::CacheRead => "Cache Read Input Tokens",
            Self::CacheWrite5m => "Cache Write Input Tokens (5m)",
            Self::CacheWrite1h => "Cache Write Input Tokens (1h)",
        }
    }
}

/// Nano-dollars per token.
pub(crate) fn token_price(model: Model, context: Context, tier: Tier, token: TokenType) -> u64 {
    // (input, output, 5m write, 1h write, read)
    let (input, output, write5m, write1h, read) = match (model, context) {
        (Model::Opus41, _) => (15_000, 75_000, 18_750, 30_000, 1_500),
        (Model::Sonnet45, Context::Upto200k) => (3_000, 15_000, 3_750, 6_000, 300),
        (Model::Sonnet45, Context::Over200k) => (6_000, 22_500, 7_500, 12_000, 600),
        (Model::Haiku45, _) => (1_000, 5_000, 1_250, 2_000, 100),
        (Model::Haiku35, _) => (800, 4_000, 1_000, 1_600, 80),
    };
    let list = match token {
        TokenType::Uncached => input,
        TokenType::Output => output,
        TokenType::CacheWrite5m => write5m,
        TokenType::CacheWrite1h => write1h,
        TokenType::CacheRead => read,
    };
    match tier {
        Tier::Standard | Tier::Priority => list,
        Tier::Batch => list / 2,
    }
}

/// Nano-dollars per web search.
pub(crate) const WEB_SEARCH: u64 = 10_000_000;
/// Nano-dollars per hundredth of a code-execution container-hour ($0.05 per hour).
pub(crate) const CODE_EXECUTION_CENTIHOUR: u64 = 500_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_prices_are_exact_halves() {
        for model in Model::ALL {
            for context in [Context::Upto200k, Context::Over200k] {
                for token in TokenType::ALL {
                    let list = token_price(model, context, Tier::Standard, token);
                    assert_eq!(token_price(model, context, Tier::Batch, token) * 2, list);
                }
            }
        }
    }
}
