//! The stand-ins' billed usage, read from their ground truth, as one row per (day, provider,
//! API key, model[, variant]) with disjoint token buckets (or a unit quantity) and a number of
//! calls.

use spendlens_fakes::anthropic::AnthropicTruth;
use spendlens_fakes::openai::OpenAiTruth;
use time::Date;

/// The stand-ins whose billed usage the traffic follows.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub openai: Option<OpenAiTruth>,
    pub anthropic: Option<AnthropicTruth>,
}

/// What a row's calls consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Disjoint token buckets: uncached input, cache reads, cache writes, output.
    Tokens {
        input: u64,
        cache_read: u64,
        cache_write: u64,
        output: u64,
    },
    /// A non-token quantity (images, characters, seconds).
    Units { quantity: u64, unit: &'static str },
}

impl Work {
    /// This work's share `num / den`, bucket by bucket (rounded down).
    pub(crate) fn share(self, num: u64, den: u64) -> Work {
        let part = |n: u64| mul_div(n, num, den);
        match self {
            Work::Tokens {
                input,
                cache_read,
                cache_write,
                output,
            } => Work::Tokens {
                input: part(input),
                cache_read: part(cache_read),
                cache_write: part(cache_write),
                output: part(output),
            },
            Work::Units { quantity, unit } => Work::Units {
                quantity: part(quantity),
                unit,
            },
        }
    }

    /// Whether the work is nothing at all.
    pub(crate) fn is_empty(self) -> bool {
        match self {
            Work::Tokens {
                input,
                cache_read,
                cache_write,
                output,
            } => input + cache_read + cache_write + output == 0,
            Work::Units { quantity, .. } => quantity == 0,
        }
    }
}

/// `n * num / den` without overflow, rounded down.
pub(crate) fn mul_div(n: u64, num: u64, den: u64) -> u64 {
    if den == 0 {
        return 0;
    }
    let v = u128::from(n) * u128::from(num) / u128::from(den);
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// One day's billed use of one key and model, as the stand-in generated it.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) provider: &'static str,
    pub(crate) day: Date,
    /// The provider's API key id (`None`: console use, which no application meters).
    pub(crate) key_id: Option<String>,
    pub(crate) key_name: String,
    /// The OpenAI project or Anthropic workspace id.
    pub(crate) workspace: Option<String>,
    pub(crate) model: String,
    /// Image size, service tier or context window: what tells two rows of one model apart.
    pub(crate) variant: String,
    pub(crate) work: Work,
    /// Requests as billed (OpenAI) or estimated from the tokens (Anthropic reports none).
    pub(crate) calls: u64,
    /// Calls with more than 200k tokens of context (Anthropic's `200k-1M` window).
    pub(crate) long_context: bool,
    /// Anthropic Message Batches: jobs, not live calls.
    pub(crate) batch: bool,
}

/// Every row from `from` to `to`, OpenAI first, in the stand-ins' order.
pub(crate) fn rows(sources: &Sources, from: Date, to: Date) -> Vec<Row> {
    let mut out = Vec::new();
    if let Some(truth) = &sources.openai {
        openai_rows(truth, from, to, &mut out);
    }
    if let Some(truth) = &sources.anthropic {
        anthropic_rows(truth, from, to, &mut out);
    }
    out
}

fn openai_rows(truth: &OpenAiTruth, from: Date, to: Date, out: &mut Vec<Row>) {
    let keys = truth.api_keys();
    for line in truth.usage_lines(from, to) {
        let t = line.totals;
        let work = match line.model.as_str() {
            m if m.starts_with("dall-e") => Work::Units {
                quantity: t.images,
                unit: "images",
            },
            m if m.starts_with("tts") => Work::Units {
                quantity: t.characters,
                unit: "characters",
            },
            m if m.starts_with("whisper") => Work::Units {
                quantity: t.seconds,
                unit: "seconds",
            },
            _ => Work::Tokens {
                input: t.input_tokens.saturating_sub(t.input_cached_tokens),
                cache_read: t.input_cached_tokens,
                cache_write: 0,
                output: t.output_tokens,
            },
        };
        let key_name = keys
            .iter()
            .find(|k| k.id == line.api_key_id)
            .map(|k| k.name.clone())
            .unwrap_or_default();
        out.push(Row {
            provider: "openai",
            day: line.day,
            key_id: Some(line.api_key_id),
            key_name,
            workspace: Some(line.project_id),
            model: line.model,
            variant: line.size.unwrap_or_default(),
            work,
            calls: t.num_model_requests,
            long_context: false,
            batch: false,
        });
    }
}

/// Tokens of a typical Anthropic call in the stand-in's mix, to estimate call counts.
const ANTHROPIC_TOKENS_PER_CALL: u64 = 6_000;

fn anthropic_rows(truth: &AnthropicTruth, from: Date, to: Date, out: &mut Vec<Row>) {
    let keys = truth.api_keys();
    for line in truth.usage_lines(from, to) {
        let t = line.totals;
        let key_name = line
            .api_key_id
            .as_ref()
            .and_then(|id| keys.iter().find(|k| &k.id == id))
            .map(|k| k.name.clone())
            .unwrap_or_default();
        let tokens = t.input_tokens() + t.output_tokens;
        out.push(Row {
            provider: "anthropic",
            day: line.day,
            key_id: line.api_key_id,
            key_name,
            workspace: line.workspace_id,
            model: line.model,
            variant: format!("{}/{}", line.service_tier, line.context_window),
            work: Work::Tokens {
                input: t.uncached_input_tokens,
                cache_read: t.cache_read_input_tokens,
                cache_write: t.cache_creation_5m_input_tokens + t.cache_creation_1h_input_tokens,
                output: t.output_tokens,
            },
            calls: (tokens / ANTHROPIC_TOKENS_PER_CALL).max(1),
            long_context: line.context_window.starts_with("200k"),
            batch: line.service_tier == "batch",
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_taken_bucket_by_bucket_without_overflow() {
        let w = Work::Tokens {
            input: 1000,
            cache_read: 10,
            cache_write: 0,
            output: u64::MAX,
        };
        assert_eq!(
            w.share(9, 10),
            Work::Tokens {
                input: 900,
                cache_read: 9,
                cache_write: 0,
                output: u64::MAX / 10 * 9 + 9 * (u64::MAX % 10) / 10,
            }
        );
        assert!(w.share(0, 10).is_empty());
        assert_eq!(mul_div(5, 1, 0), 0);
    }
}
