//! How far back each sync reads again, per provider: recent days keep changing (costs settle,
//! exports lag, estimates are re-rated) and a month's bill stays open for a few days after it
//! ends. Defaults come from each provider's document (shared/providers/*.md); a connection can
//! override them with a plain number of days.

use crate::calendar::{CalendarError, Day};
use crate::provider::ProviderKind;

/// The most days an override may ask for (two months and change).
pub const MAX_LOOKBACK_DAYS: i64 = 62;

/// Which days before the last synced day a sync reads again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookback {
    /// Trailing days before the watermark re-read every sync.
    pub days: i64,
    /// Re-read the whole current month: its figures are estimates until it closes.
    pub open_month: bool,
    /// Through this day of a month, re-read the whole previous month too (its bill can still
    /// change); 0: never.
    pub previous_month_until_day: u8,
}

impl Lookback {
    /// A fixed number of days (a connection's own setting).
    pub fn days(days: i64) -> Lookback {
        Lookback {
            days: days.clamp(0, MAX_LOOKBACK_DAYS),
            open_month: false,
            previous_month_until_day: 0,
        }
    }

    /// The first day to read when the data is synced through `through` and today is `today`.
    pub fn start(self, through: Day, today: Day) -> Result<Day, CalendarError> {
        let mut from = through.add_days(-self.days)?.min(today);
        if self.open_month {
            from = from.min(today.first_of_month());
        }
        if self.previous_month_until_day > 0 && today.date().day() <= self.previous_month_until_day
        {
            from = from.min(today.first_of_month().add_days(-1)?.first_of_month());
        }
        Ok(from)
    }

    /// In words, for notes and the CLI.
    pub fn describe(self) -> String {
        let mut text = format!("the last {} days", self.days);
        if self.open_month {
            text.push_str(" and the open month");
        }
        if self.previous_month_until_day > 0 {
            text.push_str(&format!(
                ", and the previous month through day {} of a month",
                self.previous_month_until_day
            ));
        }
        text
    }
}

impl ProviderKind {
    /// The look-back each provider's document asks for.
    pub fn lookback(self) -> Lookback {
        let (days, open_month, previous_month_until_day) = match self {
            // Costs "may keep changing for a while" (openai.md §4): a short window, and the
            // previous month until its invoice is issued in the first days of the month.
            ProviderKind::OpenAi => (3, false, 3),
            // Usage lands within minutes (anthropic.md); the cost report settles with the
            // month's invoice: the same policy as OpenAI.
            ProviderKind::Anthropic => (3, false, 3),
            // Cost Explorer keeps the open month `Estimated` and refreshes daily
            // (aws-bedrock.md §8: "3 days plus the open month"); the closed month's estimates
            // turn final in its first days.
            ProviderKind::Bedrock => (3, true, 5),
            // The billing export lags and late usage and credits land on the open invoice
            // month (google-vertex.md §11: "3 days plus the open invoice month").
            ProviderKind::Vertex => (3, true, 5),
            // "Each sync replaces the last 3 days and, until the 6th, the whole previous month"
            // and the open month is re-rated (azure-openai.md).
            ProviderKind::AzureOpenAi => (3, true, 5),
            // "Re-fetch the trailing 1–2 days" (fal.md).
            ProviderKind::Fal => (2, false, 0),
            // "Re-sync the trailing 2 days" (litellm.md).
            ProviderKind::LiteLlm => (2, false, 0),
            // Their documents give no figure: task history and activity settle when tasks end.
            ProviderKind::Runway | ProviderKind::OpenRouter | ProviderKind::PiApi => (3, false, 0),
        };
        Lookback {
            days,
            open_month,
            previous_month_until_day,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn aws_rereads_the_open_month_and_the_last_one_until_it_is_final() {
        let aws = ProviderKind::Bedrock.lookback();
        // Mid-month: from the 1st.
        assert_eq!(
            aws.start(day("2026-11-21"), day("2026-11-22")).unwrap(),
            day("2026-11-01")
        );
        // On the 3rd: the whole previous month too.
        assert_eq!(
            aws.start(day("2026-12-02"), day("2026-12-03")).unwrap(),
            day("2026-11-01")
        );
        // On the 6th: the previous month is final.
        assert_eq!(
            aws.start(day("2026-12-05"), day("2026-12-06")).unwrap(),
            day("2026-12-01")
        );
    }

    #[test]
    fn openai_keeps_a_short_window_and_the_previous_month_for_three_days() {
        let openai = ProviderKind::OpenAi.lookback();
        assert_eq!(
            openai.start(day("2026-11-21"), day("2026-11-22")).unwrap(),
            day("2026-11-18")
        );
        assert_eq!(
            openai.start(day("2027-01-01"), day("2027-01-02")).unwrap(),
            day("2026-12-01")
        );
        assert_eq!(
            openai.start(day("2027-01-03"), day("2027-01-04")).unwrap(),
            day("2026-12-31")
        );
    }

    #[test]
    fn a_connections_own_days_replace_the_providers_policy() {
        let own = Lookback::days(10);
        assert_eq!(
            own.start(day("2026-12-02"), day("2026-12-03")).unwrap(),
            day("2026-11-22")
        );
        assert_eq!(Lookback::days(1_000).days, MAX_LOOKBACK_DAYS);
        assert_eq!(
            ProviderKind::Fal
                .lookback()
                .start(day("2026-12-02"), day("2026-12-03"))
                .unwrap(),
            day("2026-11-30")
        );
    }

    #[test]
    fn a_watermark_in_the_future_never_starts_after_today() {
        let plain = Lookback::days(0);
        assert_eq!(
            plain.start(day("2026-12-09"), day("2026-12-03")).unwrap(),
            day("2026-12-03")
        );
    }
}
