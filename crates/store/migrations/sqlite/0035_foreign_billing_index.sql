-- The Providers view asks, on every load, which currencies other than USD each connection
-- billed in over the period (Store::foreign_billing_currencies). Read through
-- cost_lines_window that visits every line of the period (tens of milliseconds per
-- connection at 300k lines a month, growing with the bill). This partial index holds only the
-- lines billed in another currency, so the question costs a few index seeks per currency.
CREATE INDEX cost_lines_foreign_billing ON cost_lines (connection_id, billing_currency, day)
    WHERE billing_currency IS NOT NULL AND billing_currency <> currency;
