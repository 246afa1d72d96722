//! Who each stand-in key's calls are for: the product (the application), the agent and the
//! workflow inside it, whether calls serve named customers, and the environment. Keys the
//! table does not know get a product named after the key.

/// Attribution of one key's calls to one model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) product: String,
    pub(crate) agent: &'static str,
    pub(crate) workflow: Option<&'static str>,
    /// Whether calls serve end customers (a customer id on each call).
    pub(crate) customers: bool,
    pub(crate) env: &'static str,
}

/// The demo's customers, most active first (picked with falling weights).
pub(crate) const CUSTOMERS: [&str; 14] = [
    "acme-corp",
    "globex",
    "initech",
    "umbrella-health",
    "stark-industries",
    "wayne-enterprises",
    "hooli",
    "pied-piper",
    "soylent",
    "tyrell",
    "cyberdyne",
    "wonka-foods",
    "vandelay-imports",
    "massive-dynamic",
];

/// Weights of [`CUSTOMERS`]: roughly 1/rank, so a few customers dominate.
pub(crate) const CUSTOMER_WEIGHTS: [u64; 14] =
    [420, 210, 140, 105, 84, 70, 60, 52, 47, 42, 38, 35, 32, 30];

/// The OpenAI stand-in key whose calls no application meters (a person's notebook calling the
/// API directly).
pub(crate) const UNMETERED_KEY: (&str, &str) = ("openai", "alice-notebook");

/// The OpenAI stand-in key and model reported under a fine-tuned name the catalog does not price.
pub(crate) const UNPRICED: (&str, &str, &str) = (
    "support-evals",
    "gpt-4.1",
    "ft:gpt-4.1-2025-04-14:acme:support-grader:9xQ2Lm",
);

/// The anomaly the demo plants: one key's calls to one model jump on the last days (the
/// OpenAI stand-in bills them), and most of the extra calls serve one customer — a runaway
/// agent loop, which the anomaly list explains by that key, model and customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spike {
    pub key: &'static str,
    /// A prefix of the served model name.
    pub model: &'static str,
    /// The last days of the window, today included.
    pub days: u32,
    pub factor: u64,
    pub customer: &'static str,
}

/// The demo's spike (see [`Spike`]).
pub const SPIKE: Spike = Spike {
    key: "support-prod",
    model: "gpt-4o-2024",
    days: 2,
    factor: 6,
    customer: "initech",
};

/// The key and model of the burst of failed calls.
pub(crate) const FAILED_BURST: (&str, &str) = ("support-prod", "gpt-4o-mini");

pub(crate) fn profile(provider: &str, key_name: &str, model: &str) -> Profile {
    let p = |product: &str, agent, workflow, customers| Profile {
        product: product.to_owned(),
        agent,
        workflow,
        customers,
        env: "production",
    };
    let by_model = |pairs: &[(&str, &'static str)], default: &'static str| {
        pairs
            .iter()
            .find(|(prefix, _)| model.starts_with(prefix))
            .map_or(default, |(_, agent)| agent)
    };
    let mut profile = match (provider, key_name) {
        ("openai", "default-key") => p("internal-tools", "assistant", Some("ad-hoc"), false),
        ("openai", "support-prod") => p(
            "support-bot",
            by_model(
                &[
                    ("gpt-4o-mini", "triage"),
                    ("gpt-4o", "resolver"),
                    ("omni-moderation", "guard"),
                    ("text-embedding", "retriever"),
                ],
                "triage",
            ),
            Some("ticket-reply"),
            true,
        ),
        ("openai", "support-staging") => Profile {
            env: "staging",
            ..p("support-bot", "triage", Some("ticket-reply"), false)
        },
        ("openai", "support-evals") => p("support-bot", "grader", Some("nightly-evals"), false),
        ("openai", "search-indexer") => p("search", "indexer", Some("kb-index"), false),
        ("openai", "search-api") => p(
            "search",
            by_model(&[("gpt-4o-mini", "reranker")], "answerer"),
            Some("answer-question"),
            true,
        ),
        ("openai", "search-legacy") => p(
            "search",
            by_model(&[("text-embedding", "retriever")], "answerer-v1"),
            Some("answer-question"),
            true,
        ),
        ("openai", "creative-studio") => p("studio", "illustrator", Some("campaign-assets"), true),
        ("openai", "voice-over") => p("studio", "narrator", Some("campaign-assets"), true),
        ("openai", "transcriber") => p("studio", "transcriber", Some("meeting-notes"), true),
        ("openai", "legacy-bot") => p("legacy-chat", "chatbot", Some("chat"), true),
        ("openai", "legacy-batch") => p(
            "legacy-chat",
            "batch-summarizer",
            Some("nightly-digest"),
            false,
        ),
        ("anthropic", "prod-api") => p(
            "copilot",
            by_model(
                &[("claude-haiku", "classifier"), ("claude-opus", "planner")],
                "drafter",
            ),
            Some("draft-reply"),
            true,
        ),
        ("anthropic", "prod-batch") => p("copilot", "batch-analyst", Some("weekly-report"), true),
        ("anthropic", "prod-old") => p("copilot", "drafter-v1", Some("draft-reply"), true),
        ("anthropic", "research-agents") => p(
            "research",
            by_model(&[("claude-opus", "planner")], "researcher"),
            Some("deep-research"),
            false,
        ),
        ("anthropic", "research-evals") => p("research", "grader", Some("nightly-evals"), false),
        ("anthropic", "tools-slackbot") => {
            p("internal-tools", "slackbot", Some("answer-question"), false)
        }
        ("anthropic", "tools-summarizer") => {
            p("internal-tools", "summarizer", Some("meeting-notes"), false)
        }
        (_, name) if name.starts_with("sandbox") => Profile {
            env: "development",
            ..p("sandbox", "playground", None, false)
        },
        (_, name) => p(
            name.split('-')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("app"),
            "assistant",
            None,
            false,
        ),
    };
    if profile.product.is_empty() {
        profile.product = "app".to_owned();
    }
    profile
}

/// A typical latency for one call to `model`, in milliseconds.
pub(crate) fn base_latency_ms(model: &str) -> u64 {
    let table: [(&str, u64); 14] = [
        ("ft:", 1_600),
        ("o4-mini", 4_200),
        ("gpt-4o-mini", 700),
        ("gpt-4o", 1_800),
        ("gpt-4.1", 1_500),
        ("text-embedding", 120),
        ("omni-moderation", 90),
        ("dall-e", 11_000),
        ("tts", 2_600),
        ("whisper", 3_800),
        ("claude-opus", 5_200),
        ("claude-sonnet", 2_800),
        ("claude-haiku", 800),
        ("claude-3-5-haiku", 900),
    ];
    table
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map_or(1_500, |(_, ms)| *ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_get_their_product_and_agent_and_others_a_named_product() {
        let support = profile("openai", "support-prod", "gpt-4o-2024-08-06");
        assert_eq!(
            (support.product.as_str(), support.agent),
            ("support-bot", "resolver")
        );
        assert!(support.customers);
        let mini = profile("openai", "support-prod", "gpt-4o-mini-2024-07-18");
        assert_eq!(mini.agent, "triage");
        let other = profile("anthropic", "billing-worker", "claude-x");
        assert_eq!(other.product, "billing");
        assert_eq!(profile("openai", "", "m").product, "app");
        assert_eq!(profile("anthropic", "sandbox-bob", "m").env, "development");
        assert_eq!(CUSTOMERS.len(), CUSTOMER_WEIGHTS.len());
        assert!(base_latency_ms("gpt-4o-mini-x") < base_latency_ms("gpt-4o-x"));
    }
}
