//! Services of a provider's bill and which of them count as AI spend (Vertex: the services of
//! the Cloud Billing export, shared/providers/google-vertex.md §6): what a sync found, the
//! user's include/exclude choice per service, and the invoice months money was billed in.
//!
//! A service counts by default when it is one of Google's AI services (Vertex AI, the Gemini
//! API, matched by id) or a partner model sold through Vertex (a third-party line item whose
//! seller or name is a model maker); every other service (BigQuery, Compute Engine, …) does not.
//! A user's choice overrides the default, one service at a time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Day, Money};

/// What a service is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Vertex AI or the Gemini API.
    GoogleAi,
    /// A partner's model sold through Vertex (Claude, Llama, Mistral, …).
    PartnerModel,
    /// Anything else on the bill (BigQuery, Compute Engine, …): not AI spend by default.
    Other,
}

impl ServiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoogleAi => "google_ai",
            Self::PartnerModel => "partner_model",
            Self::Other => "other",
        }
    }

    /// Whether spend of this kind counts when the user has not chosen.
    pub fn counts_by_default(self) -> bool {
        self != Self::Other
    }

    /// For people: "Google AI service", "partner model", "other service".
    pub fn label(self) -> &'static str {
        match self {
            Self::GoogleAi => "Google AI service",
            Self::PartnerModel => "partner model",
            Self::Other => "not AI by default",
        }
    }
}

impl FromStr for ServiceKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "google_ai" => Ok(Self::GoogleAi),
            "partner_model" => Ok(Self::PartnerModel),
            "other" => Ok(Self::Other),
            other => Err(format!("service kind \"{other}\"")),
        }
    }
}

/// A user's choice for one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceChoice {
    Include,
    Exclude,
}

impl ServiceChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Include => "include",
            Self::Exclude => "exclude",
        }
    }
}

impl fmt::Display for ServiceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceChoice {
    type Err = String;

    /// `include` or `exclude`; `default` is not a choice (it clears one: see
    /// [`parse_choice`]).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "include" => Ok(Self::Include),
            "exclude" => Ok(Self::Exclude),
            other => Err(format!(
                "\"{other}\" is not a service choice: use include, exclude or default"
            )),
        }
    }
}

/// `include`, `exclude`, or `default` (no choice: the kind's default), as typed by a user.
pub fn parse_choice(text: &str) -> Result<Option<ServiceChoice>, String> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    text.parse().map(Some)
}

/// The choices of one connection, by service id.
pub type ServiceChoices = BTreeMap<String, ServiceChoice>;

/// Whether a service of `kind` counts, given the user's `choice`.
pub fn counts(kind: ServiceKind, choice: Option<ServiceChoice>) -> bool {
    match choice {
        Some(ServiceChoice::Include) => true,
        Some(ServiceChoice::Exclude) => false,
        None => kind.counts_by_default(),
    }
}

/// A service a sync found on the bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilledService {
    pub id: String,
    /// Its current name (the one its latest rows carry, or Google's name for its own AI
    /// services).
    pub name: String,
    /// Other names its rows carried (a renamed service's former name).
    pub other_names: Vec<String>,
    pub kind: ServiceKind,
    /// `transaction_type` (`GOOGLE`, `THIRD_PARTY_RESELLER`, …) where the bill gives it.
    pub transaction_type: Option<String>,
    /// `seller_name` where the bill gives it.
    pub seller: Option<String>,
    /// Its gross cost over the sync's window, in `currency` (the billing account's).
    pub cost: Money,
    pub currency: String,
    /// The last usage day of its rows in the window.
    pub last_day: Option<Day>,
    /// Whether the sync kept its spend.
    pub counted: bool,
}

/// One usage day's money billed on one invoice month (`YYYYMM`), in USD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceMonthAmount {
    pub day: Day,
    pub invoice_month: InvoiceMonth,
    pub cost: Money,
    pub credits: Money,
}

/// A calendar month an invoice is for, as the bill writes it (`202611`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvoiceMonth(u32);

impl InvoiceMonth {
    /// `YYYYMM` with a month 01–12 and a year 1970–9999.
    pub fn parse(text: &str) -> Option<InvoiceMonth> {
        let text = text.trim();
        if text.len() != 6 || !text.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let value: u32 = text.parse().ok()?;
        let (year, month) = (value / 100, value % 100);
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(InvoiceMonth(value))
    }

    /// The month of a day.
    pub fn of(day: Day) -> InvoiceMonth {
        let date = day.date();
        InvoiceMonth(date.year().unsigned_abs() * 100 + u32::from(u8::from(date.month())))
    }

    /// `202611`.
    pub fn number(self) -> u32 {
        self.0
    }

    pub fn from_number(number: i64) -> Option<InvoiceMonth> {
        InvoiceMonth::parse(&format!("{number:06}"))
    }
}

impl fmt::Display for InvoiceMonth {
    /// `2026-11`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.0 / 100, self.0 % 100)
    }
}

impl TryFrom<String> for InvoiceMonth {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let digits = text.replace('-', "");
        InvoiceMonth::parse(&digits).ok_or_else(|| format!("invoice month \"{text}\""))
    }
}

impl From<InvoiceMonth> for String {
    fn from(month: InvoiceMonth) -> String {
        month.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoice_months_read_as_the_export_writes_them() {
        let month = InvoiceMonth::parse("202611").unwrap();
        assert_eq!(month.to_string(), "2026-11");
        assert_eq!(month.number(), 202_611);
        assert_eq!(InvoiceMonth::from_number(202_611), Some(month));
        assert_eq!(InvoiceMonth::of("2026-11-30".parse().unwrap()), month);
        for bad in ["202613", "202600", "2026-11", "20261", "abcdef", ""] {
            assert_eq!(InvoiceMonth::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_choice_overrides_the_default_of_its_kind() {
        assert!(counts(ServiceKind::GoogleAi, None));
        assert!(counts(ServiceKind::PartnerModel, None));
        assert!(!counts(ServiceKind::Other, None));
        assert!(!counts(
            ServiceKind::PartnerModel,
            Some(ServiceChoice::Exclude)
        ));
        assert!(counts(ServiceKind::Other, Some(ServiceChoice::Include)));
        assert_eq!(parse_choice("Default"), Ok(None));
        assert_eq!(parse_choice("exclude"), Ok(Some(ServiceChoice::Exclude)));
        assert!(
            parse_choice("maybe")
                .unwrap_err()
                .contains("include, exclude or default")
        );
    }
}
