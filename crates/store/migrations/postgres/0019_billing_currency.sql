-- Spend billed in another currency than USD (issue 12): each cost line keeps the amount as the
-- provider billed it beside its USD conversion (cost_nanos / credits_nanos stay USD, the
-- reporting currency). Lines stored before this were billed in their own currency.
ALTER TABLE cost_lines ADD COLUMN billing_currency TEXT;
ALTER TABLE cost_lines ADD COLUMN billing_cost_nanos BIGINT;
ALTER TABLE cost_lines ADD COLUMN billing_credits_nanos BIGINT;
UPDATE cost_lines SET billing_currency = currency, billing_cost_nanos = cost_nanos,
    billing_credits_nanos = credits_nanos;

-- How many days back each sync re-reads, when the user set it for this connection; NULL: the
-- provider's own look-back (ProviderKind::lookback). The older lookback_days column held one
-- fixed default for every provider.
ALTER TABLE connections ADD COLUMN lookback_override_days BIGINT;
