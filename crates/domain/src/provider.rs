//! The AI providers spendlens syncs from, and what each calls its natural workspace.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A provider whose billing API spendlens reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    Bedrock,
    Vertex,
    Fal,
    Runway,
    OpenRouter,
    LiteLlm,
    #[serde(rename = "azure-openai")]
    AzureOpenAi,
    PiApi,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider \"{0}\"; expected one of: {list}", list = ProviderKind::ALL_NAMES)]
pub struct UnknownProvider(pub String);

impl ProviderKind {
    pub const ALL: [ProviderKind; 10] = [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Bedrock,
        ProviderKind::Vertex,
        ProviderKind::Fal,
        ProviderKind::Runway,
        ProviderKind::OpenRouter,
        ProviderKind::LiteLlm,
        ProviderKind::AzureOpenAi,
        ProviderKind::PiApi,
    ];
    const ALL_NAMES: &'static str =
        "openai, anthropic, bedrock, vertex, fal, runway, openrouter, litellm, azure-openai, piapi";

    /// The stable identifier used in URLs, the CLI, JSON and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Vertex => "vertex",
            ProviderKind::Fal => "fal",
            ProviderKind::Runway => "runway",
            ProviderKind::OpenRouter => "openrouter",
            ProviderKind::LiteLlm => "litellm",
            ProviderKind::AzureOpenAi => "azure-openai",
            ProviderKind::PiApi => "piapi",
        }
    }

    /// The name people know it by.
    pub const fn display_name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "OpenAI",
            ProviderKind::Anthropic => "Anthropic",
            ProviderKind::Bedrock => "AWS Bedrock",
            ProviderKind::Vertex => "Google Vertex AI",
            ProviderKind::Fal => "fal.ai",
            ProviderKind::Runway => "Runway",
            ProviderKind::OpenRouter => "OpenRouter",
            ProviderKind::LiteLlm => "LiteLLM",
            ProviderKind::AzureOpenAi => "Azure OpenAI",
            ProviderKind::PiApi => "PiAPI",
        }
    }

    /// Whether the provider's billing API reports request counts. Where it does not, request
    /// counts are unknown (`N/A`), never zero.
    pub const fn reports_request_counts(self) -> bool {
        matches!(
            self,
            ProviderKind::OpenAi
                | ProviderKind::OpenRouter
                | ProviderKind::LiteLlm
                | ProviderKind::PiApi
        )
    }

    /// Whether the provider's bill names the API key of each amount (so an amount without a key
    /// belongs to no key, rather than to be spread over keys). OpenAI and Anthropic bill per
    /// project/workspace and line item; the others bill per key or have no keys at all.
    pub const fn bills_per_key(self) -> bool {
        !matches!(self, ProviderKind::OpenAi | ProviderKind::Anthropic)
    }

    /// What this provider's natural workspace is called.
    pub const fn workspace_noun(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "project",
            ProviderKind::Anthropic => "workspace",
            ProviderKind::Bedrock => "AWS account",
            ProviderKind::Vertex => "GCP project",
            ProviderKind::Fal => "account",
            ProviderKind::Runway => "organization",
            ProviderKind::OpenRouter => "account",
            ProviderKind::LiteLlm => "team",
            ProviderKind::AzureOpenAi => "Azure OpenAI resource",
            ProviderKind::PiApi => "account",
        }
    }
}

impl FromStr for ProviderKind {
    type Err = UnknownProvider;

    fn from_str(text: &str) -> Result<ProviderKind, UnknownProvider> {
        let wanted = text.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "aws" | "aws-bedrock" | "aws_bedrock" => "bedrock",
            "google" | "gcp" | "google-vertex" | "vertex-ai" => "vertex",
            "fal.ai" | "fal-ai" => "fal",
            "pi-api" | "piapi.ai" => "piapi",
            "azure_openai" | "azureopenai" | "azure-openai-service" | "aoai" => "azure-openai",
            other => other,
        };
        ProviderKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == alias)
            .ok_or_else(|| UnknownProvider(text.to_owned()))
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_round_trips_through_its_name() {
        for kind in ProviderKind::ALL {
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
        }
    }

    #[test]
    fn azure_openai_is_spelled_with_a_hyphen_everywhere() {
        let kind = ProviderKind::AzureOpenAi;
        assert_eq!(kind.as_str(), "azure-openai");
        assert_eq!(serde_json::to_string(&kind).unwrap(), "\"azure-openai\"");
        assert_eq!("AOAI".parse::<ProviderKind>().unwrap(), kind);
        // "azure" alone stays unknown: Azure sells more than OpenAI models.
        assert!("azure".parse::<ProviderKind>().is_err());
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = "azure".parse::<ProviderKind>().unwrap_err().to_string();
        assert!(err.contains("openai, anthropic"), "{err}");
    }
}
