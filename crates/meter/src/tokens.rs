//! Token normalization (METERING.md §3): every emitter's counts become disjoint buckets —
//! uncached input, cache read, cache write, visible output, reasoning output — so that each token
//! is in exactly one bucket and nothing is priced twice.
//!
//! OpenAI, Gemini, LiteLLM and OpenTelemetry-spec emitters report `input` *including* cached
//! tokens; raw Anthropic and Bedrock usage reports disjoint parts. Reasoning is part of `output`
//! for OpenAI and Anthropic, and separate from it for Gemini (`thoughtsTokenCount`).

use serde::Serialize;

/// Counts as the sender reported them, in the sender's own semantics. `None` = not sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawTokens {
    pub input: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    pub output: Option<u64>,
    pub reasoning: Option<u64>,
    /// A total, when the sender reports one: used only to check the semantics, never priced.
    pub total: Option<u64>,
}

impl RawTokens {
    pub fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.cache_read.is_none()
            && self.cache_write.is_none()
            && self.output.is_none()
            && self.reasoning.is_none()
    }
}

/// Whether `input` includes the cache reads and writes, and `output` the reasoning tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSemantics {
    pub input_includes_cache: bool,
    pub output_includes_reasoning: bool,
}

impl InputSemantics {
    /// OpenAI-style (and OpenTelemetry spec): input ⊇ cache, output ⊇ reasoning.
    pub const INCLUSIVE: InputSemantics = InputSemantics {
        input_includes_cache: true,
        output_includes_reasoning: true,
    };

    /// The provider's own convention, for a normalized provider name.
    pub fn for_provider(provider: &str) -> InputSemantics {
        match provider {
            // Anthropic Messages and Bedrock Converse report disjoint input parts.
            "anthropic" | "bedrock" => InputSemantics {
                input_includes_cache: false,
                output_includes_reasoning: true,
            },
            // Gemini counts thoughts apart from candidates.
            "vertex" | "gemini" => InputSemantics {
                input_includes_cache: true,
                output_includes_reasoning: false,
            },
            _ => InputSemantics::INCLUSIVE,
        }
    }
}

/// Disjoint buckets: each token counted in exactly one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct TokenBuckets {
    pub input_uncached: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output_visible: u64,
    pub output_reasoning: u64,
}

impl TokenBuckets {
    /// All input tokens (OpenTelemetry's inclusive `input_tokens`).
    pub fn input_total(&self) -> u64 {
        self.input_uncached
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }

    /// All output tokens, reasoning included.
    pub fn output_total(&self) -> u64 {
        self.output_visible.saturating_add(self.output_reasoning)
    }
}

/// What normalization decided that the sender did not say outright.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct TokenFlags {
    /// `input` was said (or assumed) to include the cache but was smaller than the cache
    /// counts, so it was read as disjoint.
    pub input_read_as_disjoint: bool,
    /// `output` was said (or assumed) to include reasoning but was smaller than it, so reasoning
    /// was read as separate.
    pub reasoning_read_as_separate: bool,
    /// The reported total matched neither reading; the counts were kept as normalized.
    pub total_mismatch: bool,
}

impl TokenFlags {
    pub fn any(&self) -> bool {
        self.input_read_as_disjoint || self.reasoning_read_as_separate || self.total_mismatch
    }
}

/// Normalizes raw counts into disjoint buckets. Returns `None` when no count was reported at
/// all (unknown usage is not zero usage).
pub fn normalize_tokens(
    raw: &RawTokens,
    semantics: InputSemantics,
) -> Option<(TokenBuckets, TokenFlags)> {
    if raw.is_empty() {
        return None;
    }
    let mut flags = TokenFlags::default();
    let input = raw.input.unwrap_or(0);
    let read = raw.cache_read.unwrap_or(0);
    let write = raw.cache_write.unwrap_or(0);
    let output = raw.output.unwrap_or(0);
    let reasoning = raw.reasoning.unwrap_or(0);
    let cache = read.saturating_add(write);

    let mut inclusive = semantics.input_includes_cache;
    // The arithmetic check of §3.3: a total decides when it is unambiguous.
    if let Some(total) = raw.total
        && cache > 0
    {
        let out_incl = if semantics.output_includes_reasoning {
            output
        } else {
            output.saturating_add(reasoning)
        };
        let as_inclusive = input.saturating_add(out_incl);
        let as_exclusive = input.saturating_add(cache).saturating_add(out_incl);
        if total == as_inclusive {
            inclusive = true;
        } else if total == as_exclusive {
            inclusive = false;
        } else {
            flags.total_mismatch = true;
        }
    }
    if inclusive && input < cache {
        // An inclusive input cannot be smaller than its parts (OpenLIT's Anthropic spans).
        inclusive = false;
        flags.input_read_as_disjoint = true;
    }
    let input_uncached = if inclusive { input - cache } else { input };

    let mut reasoning_inside = semantics.output_includes_reasoning;
    if reasoning_inside && output < reasoning {
        reasoning_inside = false;
        flags.reasoning_read_as_separate = true;
    }
    let output_visible = if reasoning_inside {
        output - reasoning
    } else {
        output
    };
    Some((
        TokenBuckets {
            input_uncached,
            cache_read: read,
            cache_write: write,
            output_visible,
            output_reasoning: reasoning,
        },
        flags,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(input: u64, read: u64, write: u64, output: u64, reasoning: u64) -> RawTokens {
        RawTokens {
            input: Some(input),
            cache_read: Some(read),
            cache_write: Some(write),
            output: Some(output),
            reasoning: Some(reasoning),
            total: None,
        }
    }

    #[test]
    fn openai_input_includes_cached_tokens() {
        let (b, flags) = normalize_tokens(
            &raw(1200, 1024, 0, 85, 40),
            InputSemantics::for_provider("openai"),
        )
        .unwrap();
        assert_eq!(b.input_uncached, 176);
        assert_eq!(b.cache_read, 1024);
        assert_eq!(b.output_visible, 45);
        assert_eq!(b.output_reasoning, 40);
        assert_eq!(b.input_total(), 1200);
        assert_eq!(b.output_total(), 85);
        assert!(!flags.any());
    }

    /// The worked example of METERING.md §3.3 (LiteLLM #9812): three views of one call, one result.
    #[test]
    fn anthropic_three_views_of_one_call_agree() {
        let expected = TokenBuckets {
            input_uncached: 3,
            cache_read: 0,
            cache_write: 12_304,
            output_visible: 550,
            output_reasoning: 0,
        };
        let anthropic = InputSemantics::for_provider("anthropic");
        let (raw_view, _) = normalize_tokens(&raw(3, 0, 12_304, 550, 0), anthropic).unwrap();
        let (spec_view, _) =
            normalize_tokens(&raw(12_307, 0, 12_304, 550, 0), InputSemantics::INCLUSIVE).unwrap();
        let (openlit_view, flags) =
            normalize_tokens(&raw(3, 0, 12_304, 550, 0), InputSemantics::INCLUSIVE).unwrap();
        assert_eq!(raw_view, expected);
        assert_eq!(spec_view, expected);
        assert_eq!(openlit_view, expected);
        assert!(flags.input_read_as_disjoint);
    }

    #[test]
    fn gemini_thoughts_are_separate_from_candidates() {
        let (b, flags) = normalize_tokens(
            &raw(100, 0, 0, 50, 30),
            InputSemantics::for_provider("vertex"),
        )
        .unwrap();
        assert_eq!(b.output_visible, 50);
        assert_eq!(b.output_reasoning, 30);
        assert_eq!(b.output_total(), 80);
        assert!(!flags.any());
    }

    #[test]
    fn reasoning_larger_than_output_is_read_as_separate() {
        let (b, flags) =
            normalize_tokens(&raw(10, 0, 0, 5, 20), InputSemantics::INCLUSIVE).unwrap();
        assert_eq!((b.output_visible, b.output_reasoning), (5, 20));
        assert!(flags.reasoning_read_as_separate);
    }

    #[test]
    fn a_total_decides_the_input_semantics() {
        let mut r = raw(1000, 200, 0, 10, 0);
        r.total = Some(1210); // exclusive: 1000 + 200 + 10
        let (b, _) = normalize_tokens(&r, InputSemantics::INCLUSIVE).unwrap();
        assert_eq!(b.input_uncached, 1000);
        r.total = Some(1010); // inclusive
        let (b, _) = normalize_tokens(&r, InputSemantics::for_provider("anthropic")).unwrap();
        assert_eq!(b.input_uncached, 800);
        r.total = Some(5);
        let (_, flags) = normalize_tokens(&r, InputSemantics::INCLUSIVE).unwrap();
        assert!(flags.total_mismatch);
    }

    #[test]
    fn no_counts_is_unknown_usage_not_zero() {
        assert_eq!(
            normalize_tokens(&RawTokens::default(), InputSemantics::INCLUSIVE),
            None
        );
    }

    proptest! {
        /// Whatever the sender's convention, the same call normalizes to the same buckets, and
        /// the buckets add up to what was consumed: never double counted, never lost.
        #[test]
        fn inclusive_and_disjoint_views_agree(
            uncached in 0u64..10_000_000,
            read in 0u64..10_000_000,
            write in 0u64..10_000_000,
            visible in 0u64..1_000_000,
            reasoning in 0u64..1_000_000,
        ) {
            let consumed = TokenBuckets {
                input_uncached: uncached,
                cache_read: read,
                cache_write: write,
                output_visible: visible,
                output_reasoning: reasoning,
            };
            let openai_view = raw(uncached + read + write, read, write, visible + reasoning, reasoning);
            let anthropic_view = raw(uncached, read, write, visible + reasoning, reasoning);
            let gemini_view = raw(uncached + read + write, read, write, visible, reasoning);
            let (a, _) = normalize_tokens(&openai_view, InputSemantics::for_provider("openai")).unwrap();
            let (b, _) = normalize_tokens(&anthropic_view, InputSemantics::for_provider("anthropic")).unwrap();
            let (c, _) = normalize_tokens(&gemini_view, InputSemantics::for_provider("vertex")).unwrap();
            prop_assert_eq!(a, consumed);
            prop_assert_eq!(b, consumed);
            prop_assert_eq!(c, consumed);
        }

        /// Buckets never exceed what the sender reported in total.
        #[test]
        fn buckets_never_invent_tokens(
            input in 0u64..1_000_000, read in 0u64..1_000_000, write in 0u64..1_000_000,
            output in 0u64..1_000_000, reasoning in 0u64..1_000_000,
        ) {
            let (b, _) = normalize_tokens(&raw(input, read, write, output, reasoning), InputSemantics::INCLUSIVE).unwrap();
            prop_assert!(b.input_total() <= input.max(input + read + write));
            prop_assert!(b.input_total() >= input);
            prop_assert!(b.output_total() == output.max(reasoning) || b.output_total() == output + reasoning);
        }
    }
}
