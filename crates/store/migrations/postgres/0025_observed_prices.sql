-- Prices observed on bills (issue 9): what a provider billed one model on one day, per token
-- class where the bill names the class its money pays for (`input`, `cached_input`,
-- `cache_write`, `output`), else for all the model's tokens together (`all`), with the tokens
-- that money pays for. Exact: nano-dollars and token counts, the price is their ratio. Each
-- sync replaces its connection's window of days; the organization's `observed` catalog entries
-- (one per model: its latest day) are rebuilt from here in the same transaction.
CREATE TABLE observed_prices (
    org_id              BIGINT  NOT NULL,
    connection_id       BIGINT  NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    day                 BIGINT  NOT NULL,
    token_class         TEXT    NOT NULL CHECK (token_class IN ('input', 'cached_input', 'cache_write', 'output', 'all')),
    cost_nanos          BIGINT  NOT NULL,
    input_tokens        BIGINT  NOT NULL,
    cache_read_tokens   BIGINT  NOT NULL,
    cache_write_tokens  BIGINT  NOT NULL,
    output_tokens       BIGINT  NOT NULL,
    PRIMARY KEY (connection_id, day, model, token_class)
);
CREATE INDEX observed_prices_org_model ON observed_prices (org_id, provider, model, day);
