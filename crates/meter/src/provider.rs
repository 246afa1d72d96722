//! Provider names as senders spell them (OpenTelemetry's `gen_ai.provider.name`, the older
//! `gen_ai.system`, vendor spellings) mapped to the names spendlens syncs under, so metered
//! traffic joins the synced bills.

/// The normalized provider name: the eight synced providers under their spendlens names,
/// anything else lower-cased as sent.
pub fn normalize_provider(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    let name = match lower.as_str() {
        "openai" => "openai",
        "az.ai.openai" | "azure.ai.openai" => "azure.ai.openai",
        "anthropic" => "anthropic",
        "aws.bedrock" | "bedrock" | "aws" | "amazon_bedrock" => "bedrock",
        "gcp.vertex_ai" | "vertex_ai" | "vertex" | "gcp.gen_ai" | "gcp.gemini" | "gemini"
        | "google" => "vertex",
        "fal" | "fal.ai" | "fal_ai" => "fal",
        "runway" | "runwayml" => "runway",
        "openrouter" => "openrouter",
        "litellm" => "litellm",
        "xai" | "x_ai" => "x_ai",
        "mistralai" | "mistral_ai" | "mistral" => "mistral_ai",
        other => other,
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generation_of_names_maps_to_one() {
        for (raw, want) in [
            ("openai", "openai"),
            ("az.ai.openai", "azure.ai.openai"),
            ("Anthropic", "anthropic"),
            ("aws.bedrock", "bedrock"),
            ("AWS", "bedrock"),
            ("gcp.vertex_ai", "vertex"),
            ("gcp.gen_ai", "vertex"),
            ("xai", "x_ai"),
            ("x_ai", "x_ai"),
            ("groq", "groq"),
        ] {
            assert_eq!(normalize_provider(raw), want, "{raw}");
        }
    }
}
