//! The Azure fake's generated cost data: daily rows per (resource, meter) with exact money in
//! femto-units (1e-15) of the billing currency, so the wire shows 15–17 significant digits as
//! Cost Management does, and quantities in micro-units of the meter's unit.

use crate::common::prng::SplitMix64;

/// The USD subscription (two resource groups, three accounts, one Marketplace SaaS resource).
pub const USD_SUBSCRIPTION: &str = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff";
/// A subscription billed in EUR (one account).
pub const EUR_SUBSCRIPTION: &str = "eeeeeeee-0000-4000-8000-000000000e0e";
/// A subscription with no Cognitive Services spend: the query answers 204.
pub const EMPTY_SUBSCRIPTION: &str = "00000000-0000-4000-8000-0000000e3971";
/// A subscription the app has no role on: 403 `AuthorizationFailed`.
pub const NO_ROLE_SUBSCRIPTION: &str = "00000000-0000-4000-8000-00000000403a";
/// USD per EUR, as ten-thousandths (1.0842).
pub(crate) const EUR_USD_RATE_E4: i128 = 10_842;

pub(crate) const COGNITIVE: &str = "microsoft.cognitiveservices/accounts";
pub(crate) const SAAS: &str = "microsoft.saas/resources";

/// A resource the data has rows for.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// As Azure writes it (mixed case); rows send it lower-case, some days in this casing.
    pub(crate) id: String,
    pub(crate) resource_type: &'static str,
    pub(crate) currency: &'static str,
    pub(crate) meters: &'static [&'static str],
}

const OPENAI_METERS: &[&str] = &[
    "gpt 4o 0513 Input global Tokens",
    "gpt 4o 0513 Output global Tokens",
    "gpt 4o 1120 cached Inp glbl Tokens",
    "gpt 4o mini0718 BatchOutp DataZone Tokens",
    "GPT 5 Inpt Glbl 1M Tokens",
    "GPT 5 Outpt Glbl 1M Tokens",
    "text-embedding-3-large-glbl Tokens",
];
const FOUNDRY_METERS: &[&str] = &[
    "o4-mini 0416 Inp glbl Tokens",
    "o4-mini 0416 Outp glbl Tokens",
    "Provisioned Managed Global Unit",
    "Sora 2 dzone Second",
    "Content Safety Text Records",
];
const RESEARCH_METERS: &[&str] = &[
    "gpt-4o-0806-Inp-glbl Tokens",
    "gpt-4o-0806-Outp-glbl Tokens",
];
const EU_METERS: &[&str] = &[
    "gpt 4o 0513 Input Data Zone Tokens",
    "gpt 4o 0513 Output Data Zone Tokens",
];
const SAAS_METERS: &[&str] = &["paygo-inference-input-tokens"];

/// Every resource of the fake, in a fixed order.
pub(crate) fn resources() -> Vec<Resource> {
    let account = |sub: &str, group: &str, name: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{name}"
        )
    };
    vec![
        Resource {
            id: account(USD_SUBSCRIPTION, "rg-ai-prod", "aoai-eastus"),
            resource_type: COGNITIVE,
            currency: "USD",
            meters: OPENAI_METERS,
        },
        Resource {
            id: account(USD_SUBSCRIPTION, "rg-ai-prod", "foundry-swedencentral"),
            resource_type: COGNITIVE,
            currency: "USD",
            meters: FOUNDRY_METERS,
        },
        Resource {
            id: account(USD_SUBSCRIPTION, "rg-research", "aoai-research"),
            resource_type: COGNITIVE,
            currency: "USD",
            meters: RESEARCH_METERS,
        },
        Resource {
            id: format!(
                "/subscriptions/{USD_SUBSCRIPTION}/resourceGroups/rg-ai-prod/providers/Microsoft.SaaS/resources/cohere-command"
            ),
            resource_type: SAAS,
            currency: "USD",
            meters: SAAS_METERS,
        },
        Resource {
            id: account(EUR_SUBSCRIPTION, "rg-eu", "aoai-westeurope"),
            resource_type: COGNITIVE,
            currency: "EUR",
            meters: EU_METERS,
        },
    ]
}

/// One generated row: a (day, resource, meter) with its amounts.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// Days since 1970-01-01.
    pub(crate) day: i64,
    pub(crate) resource: usize,
    pub(crate) meter: &'static str,
    /// Billing-currency amount in 1e-15.
    pub(crate) cost_femto: i128,
    /// USD amount in 1e-15 (equal to `cost_femto` for USD resources).
    pub(crate) usd_femto: i128,
    /// Quantity in 1e-6 of the meter's unit.
    pub(crate) quantity_micro: i64,
    /// Whether this day's row spells the resource group in upper case.
    pub(crate) upper_case: bool,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) today: i64,
    pub(crate) resources: Vec<Resource>,
    pub(crate) rows: Vec<Row>,
}

impl Data {
    pub(crate) fn generate(seed: u64, first_day: i64, today: i64) -> Data {
        let resources = resources();
        let mut rows = Vec::new();
        for day in first_day..=today {
            for (index, resource) in resources.iter().enumerate() {
                for (m, meter) in resource.meters.iter().enumerate() {
                    let mut rng =
                        SplitMix64::for_cell(seed, &[0x0A2E, day as u64, index as u64, m as u64]);
                    if !rng.chance(750) {
                        continue;
                    }
                    let cost_femto =
                        i128::from(rng.range(1_000_000_000_000, 4_000_000_000_000_000)) + 7;
                    let usd_femto = if resource.currency == "USD" {
                        cost_femto
                    } else {
                        cost_femto * EUR_USD_RATE_E4 / 10_000
                    };
                    let quantity_micro = i64::try_from(rng.range(1_000, 900_000_000)).unwrap_or(1);
                    rows.push(Row {
                        day,
                        resource: index,
                        meter,
                        cost_femto,
                        usd_femto,
                        quantity_micro,
                        upper_case: index == 0 && day % 3 == 0,
                    });
                }
            }
        }
        Data {
            today,
            resources,
            rows,
        }
    }

    /// The resource ID as a row spells it.
    pub(crate) fn row_resource_id(&self, row: &Row) -> String {
        let id = &self.resources[row.resource].id;
        if row.upper_case {
            id.replace("resourceGroups/rg-ai-prod", "resourceGroups/RG-AI-PROD")
        } else {
            id.to_ascii_lowercase()
        }
    }
}

/// `femto` (1e-15) as a decimal text with trailing zeros dropped.
pub(crate) fn femto_text(femto: i128) -> String {
    decimal_text(femto, 15)
}

/// `micro` (1e-6) as a decimal text with trailing zeros dropped.
pub(crate) fn micro_text(micro: i64) -> String {
    decimal_text(i128::from(micro), 6)
}

fn decimal_text(value: i128, scale: u32) -> String {
    let unit = 10_i128.pow(scale);
    let sign = if value < 0 { "-" } else { "" };
    let whole = value.abs() / unit;
    let fraction = value.abs() % unit;
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:0width$}", width = scale as usize);
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_exactly() {
        assert_eq!(femto_text(2_337_864_181_234_567), "2.337864181234567");
        assert_eq!(femto_text(1_000_000_000_000_000), "1");
        assert_eq!(micro_text(935_145_672), "935.145672");
    }
}
