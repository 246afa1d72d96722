//! What the fake organization buys, in Cost Explorer's words (`aws-bedrock.md` §6): SERVICE
//! values, USAGE_TYPE values with their pricing units, prices, and the Bedrock product
//! attributes.
//!
//! Choices where the document is not precise (all documented in the module docs of
//! [`crate::bedrock`]):
//! - first-party (`Amazon Bedrock`) token usage types count `UsageQuantity` in **thousands** of
//!   tokens (unit `1K tokens`), Marketplace (`… (Amazon Bedrock Edition)`) ones in **millions**
//!   (unit `Units`, 1 Unit = 1M tokens), the EC2 usage type in hours (`Hrs`);
//! - prices are list prices per token written as integer nano-dollars, so every amount is exact;
//! - product-attribute values (`provider`, `model`, `inferenceType`, `feature`) are invented:
//!   the document names the keys, not the values.

/// Which family a SERVICE value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `Amazon Bedrock`: Bedrock's own offer.
    FirstParty,
    /// `<Model> (Amazon Bedrock Edition)`: a model sold through AWS Marketplace.
    Marketplace,
    /// Not Bedrock at all: a connector must leave it out.
    Other,
}

/// One (SERVICE, USAGE_TYPE) pair the organization can be billed for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Product {
    pub(crate) service: &'static str,
    pub(crate) usage_type: &'static str,
    pub(crate) family: Family,
    /// Nano-dollars per token (per hour for EC2).
    pub(crate) price_nanos: u64,
    /// `UsageQuantity` = raw count / 10^quantity_exponent (3: thousands, 6: millions, 0: hours).
    pub(crate) quantity_exponent: u32,
    /// The pricing unit GetDimensionValues reports for the usage type.
    pub(crate) unit: &'static str,
    pub(crate) region: &'static str,
    pub(crate) provider: &'static str,
    pub(crate) model: &'static str,
    pub(crate) inference_type: &'static str,
    pub(crate) feature: &'static str,
}

pub(crate) const BEDROCK: &str = "Amazon Bedrock";
pub(crate) const SONNET: &str = "Claude Sonnet 4.5 (Amazon Bedrock Edition)";
pub(crate) const HAIKU: &str = "Claude Haiku 4.5 (Amazon Bedrock Edition)";
pub(crate) const OPUS: &str = "Claude Opus 4.1 (Amazon Bedrock Edition)";
pub(crate) const JAMBA: &str = "Jamba 1.5 Mini (Amazon Bedrock Edition)";
pub(crate) const EC2: &str = "Amazon Elastic Compute Cloud - Compute";

const USE1: &str = "us-east-1";
const USW2: &str = "us-west-2";

#[expect(
    clippy::too_many_arguments,
    reason = "a table row, read as one line each below"
)]
const fn product(
    service: &'static str,
    usage_type: &'static str,
    family: Family,
    price_nanos: u64,
    region: &'static str,
    (provider, model): (&'static str, &'static str),
    inference_type: &'static str,
    feature: &'static str,
) -> Product {
    let (quantity_exponent, unit) = match family {
        Family::FirstParty => (3, "1K tokens"),
        Family::Marketplace => (6, "Units"),
        Family::Other => (0, "Hrs"),
    };
    Product {
        service,
        usage_type,
        family,
        price_nanos,
        quantity_exponent,
        unit,
        region,
        provider,
        model,
        inference_type,
        feature,
    }
}

use Family::{FirstParty, Marketplace, Other};

const NOVA_PRO: (&str, &str) = ("Amazon", "Nova Pro");
const NOVA_LITE: (&str, &str) = ("Amazon", "Nova Lite");
const TITAN: (&str, &str) = ("Amazon", "Titan Text Embeddings V2");
const CLAUDE_SONNET: (&str, &str) = ("Anthropic", "Claude Sonnet 4.5");
const CLAUDE_HAIKU: (&str, &str) = ("Anthropic", "Claude Haiku 4.5");
const CLAUDE_OPUS: (&str, &str) = ("Anthropic", "Claude Opus 4.1");
const JAMBA_MINI: (&str, &str) = ("AI21 Labs", "Jamba 1.5 Mini");
const NONE: (&str, &str) = ("", "");

/// Every product, indexed by the `u8` the rows carry.
pub(crate) const PRODUCTS: [Product; 20] = [
    product(
        BEDROCK,
        "USE1-NovaPro-input-tokens",
        FirstParty,
        800,
        USE1,
        NOVA_PRO,
        "on-demand",
        "input-tokens",
    ),
    product(
        BEDROCK,
        "USE1-NovaPro-output-tokens",
        FirstParty,
        3_200,
        USE1,
        NOVA_PRO,
        "on-demand",
        "output-tokens",
    ),
    product(
        BEDROCK,
        "USE1-NovaLite-input-tokens",
        FirstParty,
        60,
        USE1,
        NOVA_LITE,
        "on-demand",
        "input-tokens",
    ),
    product(
        BEDROCK,
        "USE1-NovaLite-output-tokens",
        FirstParty,
        240,
        USE1,
        NOVA_LITE,
        "on-demand",
        "output-tokens",
    ),
    product(
        BEDROCK,
        "USE1-TitanEmbedTextV2-input-tokens",
        FirstParty,
        20,
        USE1,
        TITAN,
        "on-demand",
        "input-tokens",
    ),
    product(
        SONNET,
        "USE1-MP:USE1_InputTokenCount-Units",
        Marketplace,
        3_000,
        USE1,
        CLAUDE_SONNET,
        "on-demand",
        "input-tokens",
    ),
    product(
        SONNET,
        "USE1-MP:USE1_OutputTokenCount-Units",
        Marketplace,
        15_000,
        USE1,
        CLAUDE_SONNET,
        "on-demand",
        "output-tokens",
    ),
    product(
        SONNET,
        "USE1-MP:USE1_CacheReadInputTokenCount-Units",
        Marketplace,
        300,
        USE1,
        CLAUDE_SONNET,
        "on-demand",
        "cache-read-input-tokens",
    ),
    product(
        SONNET,
        "USE1-MP:USE1_CacheWriteInputTokenCount-Units",
        Marketplace,
        3_750,
        USE1,
        CLAUDE_SONNET,
        "on-demand",
        "cache-write-input-tokens",
    ),
    product(
        SONNET,
        "USE1-MP:USE1_InputTokenCount_Global-Units",
        Marketplace,
        3_000,
        USE1,
        CLAUDE_SONNET,
        "cross-region-global",
        "input-tokens",
    ),
    product(
        SONNET,
        "USE1-MP:USE1_OutputTokenCount_Global-Units",
        Marketplace,
        15_000,
        USE1,
        CLAUDE_SONNET,
        "cross-region-global",
        "output-tokens",
    ),
    product(
        HAIKU,
        "USE1-MP:USE1_InputTokenCount-Units",
        Marketplace,
        1_000,
        USE1,
        CLAUDE_HAIKU,
        "on-demand",
        "input-tokens",
    ),
    product(
        HAIKU,
        "USE1-MP:USE1_OutputTokenCount-Units",
        Marketplace,
        5_000,
        USE1,
        CLAUDE_HAIKU,
        "on-demand",
        "output-tokens",
    ),
    product(
        HAIKU,
        "USE1-MP:USE1_InputTokenCount_Batch-Units",
        Marketplace,
        500,
        USE1,
        CLAUDE_HAIKU,
        "batch",
        "input-tokens",
    ),
    product(
        HAIKU,
        "USE1-MP:USE1_OutputTokenCount_Batch-Units",
        Marketplace,
        2_500,
        USE1,
        CLAUDE_HAIKU,
        "batch",
        "output-tokens",
    ),
    product(
        OPUS,
        "USE1-MP:USE1_input_tokens_standard-Units",
        Marketplace,
        15_000,
        USE1,
        CLAUDE_OPUS,
        "on-demand",
        "input-tokens",
    ),
    product(
        OPUS,
        "USE1-MP:USE1_output_tokens_standard-Units",
        Marketplace,
        75_000,
        USE1,
        CLAUDE_OPUS,
        "on-demand",
        "output-tokens",
    ),
    product(
        JAMBA,
        "USW2-MP:USW2_InputTokenCount-Units",
        Marketplace,
        200,
        USW2,
        JAMBA_MINI,
        "on-demand",
        "input-tokens",
    ),
    product(
        JAMBA,
        "USW2-MP:USW2_OutputTokenCount-Units",
        Marketplace,
        400,
        USW2,
        JAMBA_MINI,
        "on-demand",
        "output-tokens",
    ),
    product(
        EC2,
        "USE1-BoxUsage:g5.xlarge",
        Other,
        1_006_000_000,
        USE1,
        NONE,
        "",
        "",
    ),
];

/// Indexes into [`PRODUCTS`], by name, for the usage plan.
pub(crate) mod ids {
    pub(crate) const NOVA_PRO_IN: u8 = 0;
    pub(crate) const NOVA_PRO_OUT: u8 = 1;
    pub(crate) const NOVA_LITE_IN: u8 = 2;
    pub(crate) const NOVA_LITE_OUT: u8 = 3;
    pub(crate) const TITAN_IN: u8 = 4;
    pub(crate) const SONNET_IN: u8 = 5;
    pub(crate) const SONNET_OUT: u8 = 6;
    pub(crate) const SONNET_CACHE_READ: u8 = 7;
    pub(crate) const SONNET_CACHE_WRITE: u8 = 8;
    pub(crate) const SONNET_GLOBAL_IN: u8 = 9;
    pub(crate) const SONNET_GLOBAL_OUT: u8 = 10;
    pub(crate) const HAIKU_IN: u8 = 11;
    pub(crate) const HAIKU_OUT: u8 = 12;
    pub(crate) const HAIKU_BATCH_IN: u8 = 13;
    pub(crate) const HAIKU_BATCH_OUT: u8 = 14;
    pub(crate) const OPUS_IN: u8 = 15;
    pub(crate) const OPUS_OUT: u8 = 16;
    pub(crate) const JAMBA_IN: u8 = 17;
    pub(crate) const JAMBA_OUT: u8 = 18;
    pub(crate) const EC2_G5: u8 = 19;
}

pub(crate) fn product_of(index: u8) -> &'static Product {
    &PRODUCTS[usize::from(index) % PRODUCTS.len()]
}

/// RECORD_TYPE values the fake produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RecordType {
    Usage,
    Credit,
    Refund,
    /// An EDP (Enterprise Discount Program) or private-pricing discount, negative.
    Discount,
    /// A bundled discount, negative.
    BundledDiscount,
}

impl RecordType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Usage => "Usage",
            Self::Credit => "Credit",
            Self::Refund => "Refund",
            Self::Discount => "Discount",
            Self::BundledDiscount => "BundledDiscount",
        }
    }
}

impl Product {
    /// BILLING_ENTITY: Marketplace models are billed by "AWS Marketplace" (§6).
    pub(crate) fn billing_entity(&self) -> &'static str {
        match self.family {
            Family::Marketplace => "AWS Marketplace",
            Family::FirstParty | Family::Other => "AWS",
        }
    }

    pub(crate) fn is_bedrock(&self) -> bool {
        self.family != Family::Other
    }
}
