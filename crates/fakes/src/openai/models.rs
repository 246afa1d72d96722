//! The models the fake OpenAI organization uses, which usage endpoint reports each, and the
//! fake's own price table in integer nano-dollars (1e-9 USD) per unit.
//!
//! Prices follow OpenAI's public list prices of 2025 (per 1M tokens: gpt-4o $2.50 / $1.25 cached
//! / $10; gpt-4o-mini $0.15 / $0.075 / $0.60; gpt-4.1 $2 / $0.50 / $8; o4-mini $1.10 / $0.275 /
//! $4.40; text-embedding-3-small $0.02; moderation free; dall-e-3 standard $0.04 (1024²) and
//! $0.08 (1024×1792) per image; tts-1 $15 per 1M characters; whisper-1 $0.006 per minute). Every
//! one of them is a whole number of nano-dollars per unit, so every cost is exact.

/// A usage endpoint, `/v1/organization/usage/<path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Endpoint {
    Completions,
    Embeddings,
    Moderations,
    Images,
    AudioSpeeches,
    AudioTranscriptions,
    VectorStores,
    CodeInterpreterSessions,
}

impl Endpoint {
    pub(crate) fn from_path(segment: &str) -> Option<Self> {
        Some(match segment {
            "completions" => Self::Completions,
            "embeddings" => Self::Embeddings,
            "moderations" => Self::Moderations,
            "images" => Self::Images,
            "audio_speeches" => Self::AudioSpeeches,
            "audio_transcriptions" => Self::AudioTranscriptions,
            "vector_stores" => Self::VectorStores,
            "code_interpreter_sessions" => Self::CodeInterpreterSessions,
            _ => return None,
        })
    }

    /// The `object` of each result.
    pub(crate) fn result_object(self) -> &'static str {
        match self {
            Self::Completions => "organization.usage.completions.result",
            Self::Embeddings => "organization.usage.embeddings.result",
            Self::Moderations => "organization.usage.moderations.result",
            Self::Images => "organization.usage.images.result",
            Self::AudioSpeeches => "organization.usage.audio_speeches.result",
            Self::AudioTranscriptions => "organization.usage.audio_transcriptions.result",
            Self::VectorStores => "organization.usage.vector_stores.result",
            Self::CodeInterpreterSessions => "organization.usage.code_interpreter_sessions.result",
        }
    }

    /// The `group_by` values the endpoint accepts, as documented.
    pub(crate) fn group_by(self) -> &'static [&'static str] {
        const DIMS: &[&str] = &["project_id", "user_id", "api_key_id", "model"];
        match self {
            Self::Completions => &[
                "project_id",
                "user_id",
                "api_key_id",
                "model",
                "batch",
                "service_tier",
            ],
            Self::Images => &[
                "project_id",
                "user_id",
                "api_key_id",
                "model",
                "size",
                "source",
            ],
            Self::Embeddings
            | Self::Moderations
            | Self::AudioSpeeches
            | Self::AudioTranscriptions => DIMS,
            Self::VectorStores | Self::CodeInterpreterSessions => &["project_id"],
        }
    }
}

/// `size` of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ImageSize {
    Square1024,
    Portrait1024x1792,
}

impl ImageSize {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Square1024 => "1024x1024",
            Self::Portrait1024x1792 => "1024x1792",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Model {
    Gpt4o,
    Gpt4oMini,
    Gpt41,
    O4Mini,
    TextEmbedding3Small,
    OmniModeration,
    DallE3,
    Tts1,
    Whisper1,
}

/// Nano-dollars per unit of each priced quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Price {
    /// Per uncached input token (or per character, per second of audio).
    pub(crate) input: u64,
    pub(crate) cached_input: u64,
    pub(crate) output: u64,
}

impl Model {
    pub(crate) const ALL: [Model; 9] = [
        Model::Gpt4o,
        Model::Gpt4oMini,
        Model::Gpt41,
        Model::O4Mini,
        Model::TextEmbedding3Small,
        Model::OmniModeration,
        Model::DallE3,
        Model::Tts1,
        Model::Whisper1,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Gpt4o => "gpt-4o-2024-08-06",
            Self::Gpt4oMini => "gpt-4o-mini-2024-07-18",
            Self::Gpt41 => "gpt-4.1-2025-04-14",
            Self::O4Mini => "o4-mini-2025-04-16",
            Self::TextEmbedding3Small => "text-embedding-3-small",
            Self::OmniModeration => "omni-moderation-latest",
            Self::DallE3 => "dall-e-3",
            Self::Tts1 => "tts-1",
            Self::Whisper1 => "whisper-1",
        }
    }

    pub(crate) fn endpoint(self) -> Endpoint {
        match self {
            Self::Gpt4o | Self::Gpt4oMini | Self::Gpt41 | Self::O4Mini => Endpoint::Completions,
            Self::TextEmbedding3Small => Endpoint::Embeddings,
            Self::OmniModeration => Endpoint::Moderations,
            Self::DallE3 => Endpoint::Images,
            Self::Tts1 => Endpoint::AudioSpeeches,
            Self::Whisper1 => Endpoint::AudioTranscriptions,
        }
    }

    /// Token, character and second prices (images are priced by [`image_price`]).
    pub(crate) fn price(self) -> Price {
        let p = |input, cached_input, output| Price {
            input,
            cached_input,
            output,
        };
        match self {
            Self::Gpt4o => p(2_500, 1_250, 10_000),
            Self::Gpt4oMini => p(150, 75, 600),
            Self::Gpt41 => p(2_000, 500, 8_000),
            Self::O4Mini => p(1_100, 275, 4_400),
            Self::TextEmbedding3Small => p(20, 0, 0),
            Self::OmniModeration | Self::DallE3 => p(0, 0, 0),
            Self::Tts1 => p(15_000, 0, 0),
            Self::Whisper1 => p(100_000, 0, 0),
        }
    }
}

/// Nano-dollars per dall-e-3 standard-quality image.
pub(crate) fn image_price(size: ImageSize) -> u64 {
    match size {
        ImageSize::Square1024 => 40_000_000,
        ImageSize::Portrait1024x1792 => 80_000_000,
    }
}

/// Nano-dollars per web search tool call ($10 per 1,000 calls).
pub(crate) const WEB_SEARCH_CALL: u64 = 10_000_000;

/// Nano-dollars per megabyte-day of vector storage ($0.10 per GB per day).
pub(crate) const VECTOR_STORAGE_MB_DAY: u64 = 100_000;
