//! Stored cost lines and metered day series → FOCUS rows (pure mapping, no I/O).

use rust_decimal::Decimal;
use spendlens_domain::credential::mask_stored_key;
use spendlens_domain::{Day, Money, ProviderKind};
use spendlens_store::{ExportLine, MeterDayRow, meter_extra};

/// Where a row's figures come from (`x_SpendlensSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// As the provider billed it.
    Billed,
    /// Spread down to an API key from a coarser billed grain.
    Allocated,
    /// Reported by applications; not a charge (all FOCUS costs 0, estimate in x_MeteredCost).
    Metered,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Billed => "billed",
            Source::Allocated => "allocated",
            Source::Metered => "metered",
        }
    }

    pub(crate) fn order(self) -> u8 {
        match self {
            Source::Billed => 0,
            Source::Allocated => 1,
            Source::Metered => 2,
        }
    }
}

/// The FOCUS ChargeCategory values spendlens writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChargeCategory {
    Usage = 0,
    Credit = 1,
}

impl ChargeCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeCategory::Usage => "Usage",
            ChargeCategory::Credit => "Credit",
        }
    }
}

/// One FOCUS row. Costs are exact; `None` is a null cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusRow {
    pub source: Source,
    pub charge_category: ChargeCategory,
    pub day: Day,
    /// BilledCost = EffectiveCost = ListCost = ContractedCost (no commitments, no amortization;
    /// a cost line's cost is its list cost before credits, and credits are their own rows).
    /// In `currency`, the billing currency (FOCUS BillingCurrency).
    pub billed_cost: Money,
    pub currency: String,
    /// BilledCost in USD (`x_BilledCostInUsd`): the same as `billed_cost` for USD bills, the
    /// exact conversion at the provider's own rate otherwise.
    pub billed_cost_usd: Money,
    pub billing_account_id: String,
    pub billing_account_name: String,
    pub description: String,
    /// ProviderName and InvoiceIssuerName (the same: nothing is sold through a marketplace
    /// whose payments a third party receives).
    pub provider_name: String,
    pub publisher_name: String,
    pub service_name: String,
    /// PricingQuantity and PricingUnit (null on credit rows).
    pub pricing: Option<Measure>,
    /// ConsumedQuantity and ConsumedUnit (null on credit rows).
    pub consumed: Option<Measure>,
    /// SubAccountId and SubAccountName: the provider's workspace / project.
    pub sub_account: Option<(String, String)>,
    /// spendlens's provider name (`openai`, `bedrock`, or any name a sender used).
    pub provider_key: String,
    pub model: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub detail: Option<String>,
    pub api_key_id: Option<String>,
    pub api_key_name: Option<String>,
    /// Always masked.
    pub api_key_hint: Option<String>,
    pub customer: Option<String>,
    pub product: Option<String>,
    pub agent: Option<String>,
    pub workflow: Option<String>,
    pub call_status: Option<String>,
    /// Disjoint token classes: uncached input, cache reads, cache writes, output (reasoning
    /// included), and reasoning as a part of output. `None`: not known.
    pub input_tokens: Option<i64>,
    pub cache_read_tokens: Option<i64>,
    pub cache_write_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub requests: Option<i64>,
    pub requests_without_usage: Option<i64>,
    pub unpriced_requests: Option<i64>,
    pub estimated: bool,
    /// The meter's priced cost (metered rows; `None` when no call of the row was priced).
    pub metered_cost: Option<Money>,
    /// `priced`, `partly_unpriced` or `unpriced` (metered rows).
    pub metered_cost_status: Option<&'static str>,
    /// A correction of a closed billing period (ChargeClass `Correction`): the UTC day a sync
    /// saw the provider's restatement; the row is billed in that day's month and charged on
    /// `day`. `None`: an ordinary row, billed in `day`'s month.
    pub correction: Option<Day>,
}

/// The FOCUS ServiceName of a provider's AI service.
fn service_name(provider: Option<ProviderKind>, fallback: &str) -> String {
    match provider {
        Some(ProviderKind::OpenAi) => "OpenAI API",
        Some(ProviderKind::Anthropic) => "Anthropic API",
        Some(ProviderKind::Bedrock) => "Amazon Bedrock",
        Some(ProviderKind::Vertex) => "Vertex AI",
        Some(ProviderKind::Fal) => "fal.ai",
        Some(ProviderKind::Runway) => "Runway API",
        Some(ProviderKind::OpenRouter) => "OpenRouter",
        Some(ProviderKind::LiteLlm) => "LiteLLM Proxy",
        Some(ProviderKind::AzureOpenAi) => "Azure OpenAI Service",
        Some(ProviderKind::PiApi) => "PiAPI",
        None => return fallback.to_owned(),
    }
    .to_owned()
}

/// The FOCUS ProviderName / InvoiceIssuerName: who sells the service and issues the invoice.
fn provider_name(provider: Option<ProviderKind>, fallback: &str) -> String {
    match provider {
        Some(ProviderKind::Bedrock) => "Amazon Web Services".to_owned(),
        Some(ProviderKind::Vertex) => "Google Cloud".to_owned(),
        Some(ProviderKind::AzureOpenAi) => "Microsoft".to_owned(),
        Some(p) => p.display_name().to_owned(),
        None => fallback.to_owned(),
    }
}

/// The FOCUS PublisherName: who made the model (Anthropic for Claude on Bedrock), else the
/// provider.
fn publisher_name(model: &str, provider: &str) -> String {
    let m = model.to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| m.starts_with(p));
    let name = if m.contains("claude") {
        "Anthropic"
    } else if starts(&[
        "gpt",
        "o1",
        "o3",
        "o4",
        "dall-e",
        "whisper",
        "tts",
        "text-embedding",
        "omni-",
        "chatgpt",
        "sora",
        "davinci",
        "babbage",
        "computer-use",
    ]) || m.starts_with("ft:gpt")
    {
        "OpenAI"
    } else if starts(&["gemini", "imagen", "veo", "text-embedding-00", "gemma"]) {
        "Google"
    } else if m.contains("llama") {
        "Meta"
    } else if starts(&["mistral", "mixtral", "codestral", "pixtral", "ministral"]) {
        "Mistral AI"
    } else if starts(&["amazon.", "titan", "nova"]) {
        "Amazon"
    } else if starts(&["command", "cohere", "embed-"]) {
        "Cohere"
    } else if m.contains("deepseek") {
        "DeepSeek"
    } else {
        return provider.to_owned();
    };
    name.to_owned()
}

/// A unit's FOCUS name: `tokens` → `Tokens`, `video_seconds` → `Video Seconds`.
fn unit_name(unit: &str) -> String {
    unit.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// A quantity and its FOCUS unit.
pub type Measure = (Decimal, String);

/// Tokens as (consumed, pricing): `Tokens`, and millions of tokens in `1000000 Tokens` (the
/// unit AI price lists use).
fn token_quantities(tokens: i64) -> (Option<Measure>, Option<Measure>) {
    (
        Some((Decimal::from(tokens), "Tokens".to_owned())),
        Some((Decimal::new(tokens, 6), "1000000 Tokens".to_owned())),
    )
}

/// Cost lines → billed / allocated usage rows, plus a credit row beside each line with credits.
pub fn billed_rows(lines: &[ExportLine]) -> Vec<crate::focus::FocusRow> {
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let provider = Some(line.provider);
        let provider_text = provider_name(provider, line.provider.as_str());
        let source = if line.allocated {
            Source::Allocated
        } else {
            Source::Billed
        };
        let (consumed, pricing) = if line.unit == "tokens" {
            token_quantities(line.input_tokens.saturating_add(line.output_tokens))
        } else {
            let quantity = line.quantity.to_decimal();
            let unit = unit_name(&line.unit);
            (Some((quantity, unit.clone())), Some((quantity, unit)))
        };
        let mut description = format!("{} {}", line.model, line.category);
        if !line.detail.is_empty() {
            description.push_str(&format!(" ({})", line.detail));
        }
        if line.unit != "tokens" {
            description.push_str(&format!(", {}", line.unit.replace('_', " ")));
        }
        if line.allocated {
            description.push_str(", allocated to the API key from the billed total");
        }
        if line.estimated {
            description.push_str(", estimated by the provider's report");
        }
        if line.unpriced {
            description.push_str(
                ", unpriced: the provider documents no price for this usage, so its cost is \
                 unknown (not 0)",
            );
        }
        let uncached =
            (line.input_tokens - line.cache_read_tokens - line.cache_write_tokens).max(0);
        let row = FocusRow {
            source,
            charge_category: ChargeCategory::Usage,
            day: line.day,
            billed_cost: line.billing_cost,
            currency: line.billing_currency.clone(),
            billed_cost_usd: line.cost,
            billing_account_id: format!("spendlens-connection-{}", line.connection_id.0),
            billing_account_name: line.connection_name.clone(),
            description,
            provider_name: provider_text.clone(),
            publisher_name: publisher_name(&line.model, &provider_text),
            service_name: service_name(provider, line.provider.as_str()),
            pricing,
            consumed,
            sub_account: line.workspace.clone(),
            provider_key: line.provider.as_str().to_owned(),
            model: line.model.clone(),
            category: Some(line.category.clone()),
            unit: Some(line.unit.clone()),
            detail: non_empty(&line.detail),
            api_key_id: line.api_key_id.clone(),
            api_key_name: line.api_key_name.clone(),
            api_key_hint: line.api_key_hint.as_deref().map(mask_stored_key),
            customer: None,
            product: None,
            agent: None,
            workflow: None,
            call_status: None,
            input_tokens: Some(uncached),
            cache_read_tokens: Some(line.cache_read_tokens),
            cache_write_tokens: Some(line.cache_write_tokens),
            output_tokens: Some(line.output_tokens),
            reasoning_tokens: None,
            requests: line.requests,
            requests_without_usage: None,
            // As on metered rows: the requests whose cost is unknown, beside a cost of 0 that
            // FOCUS requires and that counts nothing for them.
            unpriced_requests: line.unpriced.then(|| line.requests.unwrap_or(0)),
            estimated: line.estimated,
            metered_cost: None,
            metered_cost_status: None,
            correction: None,
        };
        if !line.credits.is_zero() {
            let mut credit = row.clone();
            credit.charge_category = ChargeCategory::Credit;
            credit.billed_cost = Money::from_nanos(0) - line.billing_credits;
            credit.billed_cost_usd = Money::from_nanos(0) - line.credits;
            credit.description = format!("Credit applied to {}", row.description);
            credit.pricing = None;
            credit.consumed = None;
            credit.input_tokens = None;
            credit.cache_read_tokens = None;
            credit.cache_write_tokens = None;
            credit.output_tokens = None;
            credit.requests = None;
            rows.push(row);
            rows.push(credit);
        } else {
            rows.push(row);
        }
    }
    rows
}

/// Metered day series → metered usage rows (all FOCUS costs 0; the estimate in x_MeteredCost).
pub fn metered_rows(series: &[MeterDayRow]) -> Vec<FocusRow> {
    series
        .iter()
        .map(|s| {
            let dim = |i: usize| s.dims.get(i).cloned().unwrap_or_default();
            let (provider_key, model) = (dim(0), dim(1));
            let provider: Option<ProviderKind> = provider_key.parse().ok();
            let provider_text = provider_name(provider, &provider_key);
            let t = s.metrics.totals;
            let unpriced = s.metrics.extra[meter_extra::UNPRICED];
            let with_usage = t.requests - t.requests_unknown;
            let tokens = t
                .input_tokens
                .saturating_add(t.cache_read_tokens)
                .saturating_add(t.cache_write_tokens)
                .saturating_add(t.output_tokens);
            let (consumed, pricing) = if with_usage > 0 {
                token_quantities(tokens)
            } else {
                // No call of the row reported usage: what was measured is the calls.
                let calls = (Decimal::from(t.requests), "Requests".to_owned());
                (Some(calls.clone()), Some(calls))
            };
            let known = |v: i64| (with_usage > 0).then_some(v);
            let status = if unpriced == 0 {
                "priced"
            } else if unpriced >= t.requests {
                "unpriced"
            } else {
                "partly_unpriced"
            };
            let api_key = non_empty(&dim(2));
            FocusRow {
                source: Source::Metered,
                charge_category: ChargeCategory::Usage,
                day: s.day,
                billed_cost: Money::from_nanos(0),
                currency: "USD".to_owned(),
                billed_cost_usd: Money::ZERO,
                billing_account_id: format!("spendlens-meter-{provider_key}"),
                billing_account_name: format!("{provider_text} (metered by spendlens)"),
                description: format!(
                    "{model} calls metered by spendlens: not a charge (the bill's rows carry the cost; the meter's estimate is x_MeteredCost)"
                ),
                publisher_name: publisher_name(&model, &provider_text),
                provider_name: provider_text,
                service_name: service_name(provider, &provider_key),
                pricing,
                consumed,
                sub_account: None,
                provider_key,
                model,
                category: None,
                unit: None,
                detail: None,
                api_key_id: None,
                api_key_name: None,
                api_key_hint: api_key.as_deref().map(mask_stored_key),
                customer: non_empty(&dim(3)),
                product: non_empty(&dim(4)),
                agent: non_empty(&dim(5)),
                workflow: non_empty(&dim(6)),
                call_status: non_empty(&dim(7)),
                input_tokens: known(t.input_tokens),
                cache_read_tokens: known(t.cache_read_tokens),
                cache_write_tokens: known(t.cache_write_tokens),
                output_tokens: known(t.output_tokens),
                reasoning_tokens: known(s.metrics.extra[meter_extra::REASONING_TOKENS]),
                requests: Some(t.requests),
                requests_without_usage: Some(t.requests_unknown),
                unpriced_requests: Some(unpriced),
                estimated: true,
                metered_cost: (unpriced < t.requests).then_some(t.cost),
                metered_cost_status: Some(status),
                correction: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_publishers_read_as_focus_names() {
        assert_eq!(unit_name("tokens"), "Tokens");
        assert_eq!(unit_name("video_seconds"), "Video Seconds");
        assert_eq!(
            publisher_name("anthropic.claude-3-5-sonnet", "Amazon Web Services"),
            "Anthropic"
        );
        assert_eq!(publisher_name("gpt-4o-mini", "OpenAI"), "OpenAI");
        assert_eq!(
            publisher_name("meta-llama/llama-3.1-8b", "OpenRouter"),
            "Meta"
        );
        assert_eq!(publisher_name("gen4_turbo", "Runway"), "Runway");
    }

    fn line(allocated: bool, credits: &str) -> ExportLine {
        ExportLine {
            connection_id: spendlens_store::ConnectionId(3),
            connection_name: "aws".into(),
            provider: ProviderKind::Bedrock,
            day: "2026-11-30".parse().unwrap(),
            workspace: Some(("123456789012".into(), "prod account".into())),
            api_key_id: None,
            api_key_name: None,
            api_key_hint: None,
            model: "anthropic.claude-sonnet-4-5".into(),
            category: "text".into(),
            unit: "tokens".into(),
            detail: String::new(),
            input_tokens: 1_500_000,
            output_tokens: 500_000,
            cache_read_tokens: 1_000_000,
            cache_write_tokens: 0,
            requests: None,
            quantity: spendlens_domain::Quantity::ZERO,
            cost: Money::parse_units("12.345678901").unwrap(),
            credits: Money::parse_units(credits).unwrap(),
            currency: "USD".into(),
            estimated: false,
            allocated,
            billing_currency: "USD".into(),
            billing_cost: Money::parse_units("12.345678901").unwrap(),
            billing_credits: Money::parse_units(credits).unwrap(),
            unpriced: false,
        }
    }

    #[test]
    fn an_unpriced_line_costs_nothing_counted_and_says_its_cost_is_unknown() {
        let mut points = line(false, "0");
        points.provider = ProviderKind::PiApi;
        points.model = "mj".into();
        points.category = "image".into();
        points.unit = "point_usage".into();
        points.requests = Some(7);
        points.quantity = spendlens_domain::Quantity::from_whole(168);
        points.cost = Money::ZERO;
        points.billing_cost = Money::ZERO;
        points.unpriced = true;
        let rows = billed_rows(&[points, line(false, "0")]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].billed_cost, Money::ZERO);
        assert_eq!(rows[0].unpriced_requests, Some(7));
        assert!(
            rows[0].description.contains("unpriced"),
            "{}",
            rows[0].description
        );
        assert_eq!(
            rows[0].consumed,
            Some((rust_decimal::Decimal::from(168), "Point Usage".to_owned()))
        );
        assert_eq!(rows[1].unpriced_requests, None);
        assert!(!rows[1].description.contains("unpriced"));
    }

    #[test]
    fn a_line_billed_in_euros_is_billed_in_euros_with_its_dollars_beside() {
        let mut eur = line(false, "0.92");
        eur.provider = ProviderKind::Vertex;
        eur.billing_currency = "EUR".into();
        eur.billing_cost = Money::parse_units("9.2").unwrap();
        eur.billing_credits = Money::parse_units("0.92").unwrap();
        eur.cost = Money::parse_units("10").unwrap();
        eur.credits = Money::parse_units("1").unwrap();
        let rows = billed_rows(&[eur]);
        assert_eq!(rows[0].currency, "EUR");
        let units = |text: &str| Money::parse_units(text).unwrap();
        assert_eq!(rows[0].billed_cost, units("9.2"));
        assert_eq!(rows[0].billed_cost_usd, units("10"));
        assert_eq!(rows[1].billed_cost, units("-0.92"));
        assert_eq!(rows[1].billed_cost_usd, units("-1"));
    }

    #[test]
    fn a_line_with_credits_is_a_usage_row_and_a_credit_row_that_net_exactly() {
        let rows = billed_rows(&[line(false, "2.000000001"), line(true, "0")]);
        assert_eq!(rows.len(), 3);
        let (usage, credit) = (&rows[0], &rows[1]);
        assert_eq!(
            (usage.source, usage.charge_category),
            (Source::Billed, ChargeCategory::Usage)
        );
        assert_eq!(credit.charge_category, ChargeCategory::Credit);
        assert_eq!(
            credit.billed_cost,
            Money::parse_units("-2.000000001").unwrap()
        );
        assert_eq!(
            (usage.billed_cost + credit.billed_cost).to_exact_string(),
            "10.3456789"
        );
        assert!(credit.consumed.is_none() && credit.pricing.is_none());
        assert_eq!(usage.consumed.as_ref().unwrap().0, Decimal::from(2_000_000));
        assert_eq!(usage.input_tokens, Some(500_000), "uncached input only");
        assert_eq!(usage.provider_name, "Amazon Web Services");
        assert_eq!(usage.publisher_name, "Anthropic");
        assert_eq!(rows[2].source, Source::Allocated);
    }

    #[test]
    fn metered_rows_cost_nothing_and_say_what_is_unpriced() {
        let mut metrics = spendlens_store::Metrics::default();
        metrics.totals.cost = Money::parse_units("0.75").unwrap();
        metrics.totals.requests = 4;
        metrics.totals.input_tokens = 1000;
        metrics.totals.output_tokens = 200;
        metrics.extra[meter_extra::UNPRICED] = 1;
        let mut none = metrics;
        none.totals.requests_unknown = 4;
        none.extra[meter_extra::UNPRICED] = 4;
        let dims = |key: &str| {
            ["openai", "gpt-4o", key, "cus_1", "", "", "", "ok"]
                .map(str::to_owned)
                .to_vec()
        };
        let rows = metered_rows(&[
            MeterDayRow {
                day: "2026-11-30".parse().unwrap(),
                dims: dims("sk-proj-abcdefghijklmnopqrstuvwxyz"),
                metrics,
            },
            MeterDayRow {
                day: "2026-11-30".parse().unwrap(),
                dims: dims(""),
                metrics: none,
            },
        ]);
        assert_eq!(rows[0].billed_cost, Money::ZERO);
        assert_eq!(
            rows[0].metered_cost,
            Some(Money::parse_units("0.75").unwrap())
        );
        assert_eq!(rows[0].metered_cost_status, Some("partly_unpriced"));
        assert_eq!(rows[0].consumed.as_ref().unwrap().1, "Tokens");
        assert!(rows[0].api_key_hint.as_deref().unwrap().contains('…'));
        assert_eq!(rows[0].customer.as_deref(), Some("cus_1"));
        assert_eq!(rows[1].metered_cost, None);
        assert_eq!(rows[1].metered_cost_status, Some("unpriced"));
        assert_eq!(
            rows[1].consumed,
            Some((Decimal::from(4), "Requests".to_owned()))
        );
        assert_eq!(rows[1].input_tokens, None, "unknown, not zero");
    }

    #[test]
    fn token_quantities_are_exact_millions() {
        let (consumed, pricing) = token_quantities(1_234_567);
        assert_eq!(consumed.unwrap().0.to_string(), "1234567");
        assert_eq!(pricing.unwrap().0.to_string(), "1.234567");
    }
}
