//! Model id normalization: the many spellings of one model (`openai/gpt-4o`, Bedrock's
//! `us.anthropic.claude-3-7-sonnet-20250219-v1:0`, Vertex's `claude-3-7-sonnet@20250219`,
//! OpenRouter's `anthropic/claude-3.7-sonnet`) reduced to the id the catalog's globs match.

use crate::provider::ProviderKind;

/// Bedrock cross-region inference profile prefixes.
const BEDROCK_GEOS: [&str; 8] = ["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];

/// The id a catalog glob is matched against for `model` as reported for `provider`:
/// lower case, trimmed, the provider's own routing prefixes and version suffixes removed.
pub fn normalize_model(provider: ProviderKind, model: &str) -> String {
    let mut id = model.trim().to_ascii_lowercase();
    match provider {
        ProviderKind::OpenAi => {
            strip_prefixes(&mut id, &["openai/", "azure/"]);
        }
        ProviderKind::Anthropic => {
            strip_prefixes(&mut id, &["anthropic/"]);
            id = strip_vertex_version(&id);
        }
        ProviderKind::Bedrock => id = normalize_bedrock(&id),
        ProviderKind::Vertex => {
            // `projects/p/locations/l/publishers/google/models/gemini-2.5-pro`
            if let Some(at) = id.rfind("models/") {
                id = id[at + "models/".len()..].to_owned();
            }
            strip_prefixes(&mut id, &["vertex_ai/", "vertex/", "google/", "gemini/"]);
            id = strip_vertex_version(&id);
        }
        // fal endpoint ids (`fal-ai/flux/dev`) and Runway model names are used as they are;
        // OpenRouter and LiteLLM ids keep their upstream prefix (see [`upstream_model`]).
        ProviderKind::Fal
        | ProviderKind::Runway
        | ProviderKind::OpenRouter
        | ProviderKind::LiteLlm
        | ProviderKind::AzureOpenAi
        | ProviderKind::PiApi => {}
    }
    id
}

/// The provider whose list price applies to `model` when `provider` has no entry of its own:
/// for a gateway (OpenRouter, LiteLLM) the provider that served it (`anthropic/claude-3.7-sonnet`
/// → (Anthropic, `claude-3-7-sonnet`), `bedrock/us.anthropic…` → Bedrock, a bare `gpt-4o` →
/// OpenAI); for Claude on Bedrock or Vertex, Anthropic (they sell Claude at Anthropic's list
/// prices). `None` otherwise.
pub fn upstream_model(provider: ProviderKind, model: &str) -> Option<(ProviderKind, String)> {
    match provider {
        ProviderKind::Bedrock => {
            let id = normalize_model(provider, model);
            let claude = id.strip_prefix("anthropic.")?;
            return Some((ProviderKind::Anthropic, claude.to_owned()));
        }
        ProviderKind::Vertex => {
            let id = normalize_model(provider, model);
            return id
                .starts_with("claude")
                .then_some((ProviderKind::Anthropic, id));
        }
        ProviderKind::OpenRouter | ProviderKind::LiteLlm => {}
        _ => return None,
    }
    let id = model.trim().to_ascii_lowercase();
    let (prefix, rest) = match id.split_once('/') {
        Some((prefix, rest)) => (Some(prefix), rest),
        None => (None, id.as_str()),
    };
    // OpenRouter's `:free`, `:nitro`, `:floor` variants name routing, not another model.
    let rest = rest.split(':').next().unwrap_or(rest);
    let upstream = match prefix {
        Some("openai" | "azure" | "text-completion-openai") => ProviderKind::OpenAi,
        Some("anthropic") => ProviderKind::Anthropic,
        Some("bedrock" | "bedrock_converse") => ProviderKind::Bedrock,
        Some("vertex_ai" | "vertex_ai_beta" | "google" | "gemini") => ProviderKind::Vertex,
        Some("fal" | "fal_ai") => ProviderKind::Fal,
        Some(_) => return None,
        None => family_of(rest)?,
    };
    let mut upstream_id = normalize_model(upstream, rest);
    if upstream == ProviderKind::Anthropic {
        // OpenRouter spells versions with dots (`claude-3.7-sonnet`, `claude-sonnet-4.5`),
        // Anthropic with dashes.
        upstream_id = dots_between_digits_to_dashes(&upstream_id);
    }
    // `bedrock/anthropic.claude-…`, `vertex_ai/claude-…`: one more hop to Anthropic.
    if let Some(next) = upstream_model(upstream, &upstream_id) {
        return Some(next);
    }
    Some((upstream, upstream_id))
}

/// The provider of a bare model name, by family.
fn family_of(model: &str) -> Option<ProviderKind> {
    let openai = [
        "gpt-",
        "o1",
        "o3",
        "o4",
        "text-embedding-",
        "dall-e",
        "whisper",
        "tts-",
        "chatgpt-",
    ];
    if openai.iter().any(|p| model.starts_with(p)) {
        Some(ProviderKind::OpenAi)
    } else if model.starts_with("claude") {
        Some(ProviderKind::Anthropic)
    } else if model.starts_with("gemini") {
        Some(ProviderKind::Vertex)
    } else {
        None
    }
}

fn strip_prefixes(id: &mut String, prefixes: &[&str]) {
    for prefix in prefixes {
        if let Some(rest) = id.strip_prefix(prefix) {
            *id = rest.to_owned();
            return;
        }
    }
}

/// Vertex pins versions with `@`: `claude-3-7-sonnet@20250219` → `claude-3-7-sonnet`.
fn strip_vertex_version(id: &str) -> String {
    id.split('@').next().unwrap_or(id).to_owned()
}

/// `arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0`
/// → `anthropic.claude-3-7-sonnet-20250219`.
fn normalize_bedrock(id: &str) -> String {
    let mut id = id.rsplit('/').next().unwrap_or(id).to_owned();
    if let Some((geo, rest)) = id.split_once('.')
        && BEDROCK_GEOS.contains(&geo)
        && rest.contains('.')
    {
        id = rest.to_owned();
    }
    // `:0` throughput suffixes, then Claude's `-v1` / `-v2` (other families name different
    // models with `-vN`: Titan text embeddings v1 and v2 are priced differently).
    if let Some((head, tail)) = id.rsplit_once(':')
        && !tail.is_empty()
        && tail
            .chars()
            .all(|c| c.is_ascii_digit() || c == 'k' || c == 'm')
    {
        id = head.to_owned();
    }
    if let Some((head, tail)) = id.rsplit_once("-v")
        && id.starts_with("anthropic.")
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_digit())
    {
        id = head.to_owned();
    }
    id
}

fn dots_between_digits_to_dashes(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let between_digits = *c == '.'
                && i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if between_digits { '-' } else { *c }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProviderKind::*;

    #[test]
    fn provider_prefixes_and_versions_are_removed() {
        let cases = [
            (OpenAi, "openai/gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
            (OpenAi, " GPT-4o ", "gpt-4o"),
            (
                Anthropic,
                "anthropic/claude-3-7-sonnet-20250219",
                "claude-3-7-sonnet-20250219",
            ),
            (
                Bedrock,
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                "anthropic.claude-3-7-sonnet-20250219",
            ),
            (
                Bedrock,
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "anthropic.claude-sonnet-4-5-20250929",
            ),
            (
                Bedrock,
                "eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
                "anthropic.claude-3-5-sonnet-20240620",
            ),
            (
                Bedrock,
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-1-70b-instruct-v1:0",
                "meta.llama3-1-70b-instruct-v1",
            ),
            (Bedrock, "amazon.nova-pro-v1:0", "amazon.nova-pro-v1"),
            (
                Bedrock,
                "amazon.titan-embed-text-v2:0",
                "amazon.titan-embed-text-v2",
            ),
            (Vertex, "claude-3-7-sonnet@20250219", "claude-3-7-sonnet"),
            (
                Vertex,
                "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro",
                "gemini-2.5-pro",
            ),
            (
                Vertex,
                "google/gemini-2.0-flash-001",
                "gemini-2.0-flash-001",
            ),
            (Fal, "fal-ai/flux/dev", "fal-ai/flux/dev"),
        ];
        for (provider, raw, want) in cases {
            assert_eq!(normalize_model(provider, raw), want, "{provider} {raw}");
        }
    }

    #[test]
    fn gateways_name_the_upstream_provider() {
        let cases = [
            (
                OpenRouter,
                "anthropic/claude-3.7-sonnet",
                Some((Anthropic, "claude-3-7-sonnet")),
            ),
            (OpenRouter, "openai/gpt-4.1", Some((OpenAi, "gpt-4.1"))),
            (
                OpenRouter,
                "google/gemini-2.5-pro",
                Some((Vertex, "gemini-2.5-pro")),
            ),
            (
                OpenRouter,
                "openai/gpt-4o-mini:free",
                Some((OpenAi, "gpt-4o-mini")),
            ),
            (OpenRouter, "meta-llama/llama-3.1-70b-instruct", None),
            (LiteLlm, "gpt-4o-mini", Some((OpenAi, "gpt-4o-mini"))),
            (
                LiteLlm,
                "claude-sonnet-4-5",
                Some((Anthropic, "claude-sonnet-4-5")),
            ),
            (
                LiteLlm,
                "bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                Some((Anthropic, "claude-3-5-haiku-20241022")),
            ),
            (
                LiteLlm,
                "bedrock/amazon.nova-lite-v1:0",
                Some((Bedrock, "amazon.nova-lite-v1")),
            ),
            (
                Bedrock,
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                Some((Anthropic, "claude-3-7-sonnet-20250219")),
            ),
            (Bedrock, "amazon.nova-lite-v1:0", None),
            (
                Vertex,
                "claude-sonnet-4-5@20250929",
                Some((Anthropic, "claude-sonnet-4-5")),
            ),
            (Vertex, "gemini-2.5-pro", None),
            (LiteLlm, "my-company-alias", None),
            (OpenAi, "anthropic/claude-3.7-sonnet", None),
        ];
        for (provider, raw, want) in cases {
            let got = upstream_model(provider, raw);
            let want = want.map(|(p, m)| (p, m.to_owned()));
            assert_eq!(got, want, "{provider} {raw}");
        }
    }
}
