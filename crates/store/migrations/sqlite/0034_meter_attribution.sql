-- Metered calls per UTC day and attribution value alone (issue 8): the rollup kind
-- `meter.attribution`, one series per (attribution, value) — d0 is `customer`, `product` or
-- `agent`, d1 the value ('' for none). The Customers, Products and Agents views read it when no
-- provider or model filter applies: with 2,000 customers `meter_day` holds ~16,000 series (each
-- customer's models, keys and statuses) where this kind holds 2,000. Ingest and restate add to
-- it beside the other metered kinds.
--
-- backfill: from `meter_day` (which keeps every day, whatever the raw events' retention): each
-- series' running totals back to daily amounts, summed per day and value, then running totals
-- again per new series. Any rows of the kind already there are rebuilt whole from `meter_day`.

DELETE FROM rollup_cum WHERE series_id IN (SELECT id FROM rollup_series WHERE kind = 'meter.attribution');
DELETE FROM rollup_series WHERE kind = 'meter.attribution';

CREATE TEMPORARY TABLE meter_attribution_backfill AS
WITH md AS (
    SELECT s.org_id, c.bucket AS day, s.d3, s.d4, s.d5,
        c.cost_nanos - COALESCE(LAG(c.cost_nanos) OVER p, 0) AS cost_nanos,
        c.credits_nanos - COALESCE(LAG(c.credits_nanos) OVER p, 0) AS credits_nanos,
        c.input_tokens - COALESCE(LAG(c.input_tokens) OVER p, 0) AS input_tokens,
        c.output_tokens - COALESCE(LAG(c.output_tokens) OVER p, 0) AS output_tokens,
        c.cache_read_tokens - COALESCE(LAG(c.cache_read_tokens) OVER p, 0) AS cache_read_tokens,
        c.cache_write_tokens - COALESCE(LAG(c.cache_write_tokens) OVER p, 0) AS cache_write_tokens,
        c.requests - COALESCE(LAG(c.requests) OVER p, 0) AS requests,
        c.requests_unknown - COALESCE(LAG(c.requests_unknown) OVER p, 0) AS requests_unknown,
        c.quantity_micros - COALESCE(LAG(c.quantity_micros) OVER p, 0) AS quantity_micros,
        c.lines - COALESCE(LAG(c.lines) OVER p, 0) AS lines,
        c.allocated_lines - COALESCE(LAG(c.allocated_lines) OVER p, 0) AS allocated_lines,
        c.x0 - COALESCE(LAG(c.x0) OVER p, 0) AS x0,
        c.x1 - COALESCE(LAG(c.x1) OVER p, 0) AS x1,
        c.x2 - COALESCE(LAG(c.x2) OVER p, 0) AS x2,
        c.x3 - COALESCE(LAG(c.x3) OVER p, 0) AS x3,
        c.x4 - COALESCE(LAG(c.x4) OVER p, 0) AS x4,
        c.x5 - COALESCE(LAG(c.x5) OVER p, 0) AS x5
    FROM rollup_series s JOIN rollup_cum c ON c.series_id = s.id
    WHERE s.kind = 'meter_day'
    WINDOW p AS (PARTITION BY c.series_id ORDER BY c.bucket)
),
f AS (
    SELECT org_id, day, 'customer' AS d0, d3 AS d1, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1, x2, x3, x4, x5 FROM md
    UNION ALL
    SELECT org_id, day, 'product' AS d0, d4 AS d1, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1, x2, x3, x4, x5 FROM md
    UNION ALL
    SELECT org_id, day, 'agent' AS d0, d5 AS d1, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1, x2, x3, x4, x5 FROM md
)
SELECT f.org_id, f.day, f.d0, f.d1,
    CAST(SUM(f.cost_nanos) AS BIGINT) AS cost_nanos,
    CAST(SUM(f.credits_nanos) AS BIGINT) AS credits_nanos,
    CAST(SUM(f.input_tokens) AS BIGINT) AS input_tokens,
    CAST(SUM(f.output_tokens) AS BIGINT) AS output_tokens,
    CAST(SUM(f.cache_read_tokens) AS BIGINT) AS cache_read_tokens,
    CAST(SUM(f.cache_write_tokens) AS BIGINT) AS cache_write_tokens,
    CAST(SUM(f.requests) AS BIGINT) AS requests,
    CAST(SUM(f.requests_unknown) AS BIGINT) AS requests_unknown,
    CAST(SUM(f.quantity_micros) AS BIGINT) AS quantity_micros,
    CAST(SUM(f.lines) AS BIGINT) AS lines,
    CAST(SUM(f.allocated_lines) AS BIGINT) AS allocated_lines,
    CAST(SUM(f.x0) AS BIGINT) AS x0,
    CAST(SUM(f.x1) AS BIGINT) AS x1,
    CAST(SUM(f.x2) AS BIGINT) AS x2,
    CAST(SUM(f.x3) AS BIGINT) AS x3,
    CAST(SUM(f.x4) AS BIGINT) AS x4,
    CAST(SUM(f.x5) AS BIGINT) AS x5
FROM f GROUP BY f.org_id, f.day, f.d0, f.d1;

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1)
SELECT DISTINCT org_id, 'meter.attribution', 0, d0, d1 FROM meter_attribution_backfill;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1, x2, x3, x4, x5)
SELECT s.id, b.day,
    CAST(SUM(b.cost_nanos) OVER w AS BIGINT),
    CAST(SUM(b.credits_nanos) OVER w AS BIGINT),
    CAST(SUM(b.input_tokens) OVER w AS BIGINT),
    CAST(SUM(b.output_tokens) OVER w AS BIGINT),
    CAST(SUM(b.cache_read_tokens) OVER w AS BIGINT),
    CAST(SUM(b.cache_write_tokens) OVER w AS BIGINT),
    CAST(SUM(b.requests) OVER w AS BIGINT),
    CAST(SUM(b.requests_unknown) OVER w AS BIGINT),
    CAST(SUM(b.quantity_micros) OVER w AS BIGINT),
    CAST(SUM(b.lines) OVER w AS BIGINT),
    CAST(SUM(b.allocated_lines) OVER w AS BIGINT),
    CAST(SUM(b.x0) OVER w AS BIGINT),
    CAST(SUM(b.x1) OVER w AS BIGINT),
    CAST(SUM(b.x2) OVER w AS BIGINT),
    CAST(SUM(b.x3) OVER w AS BIGINT),
    CAST(SUM(b.x4) OVER w AS BIGINT),
    CAST(SUM(b.x5) OVER w AS BIGINT)
FROM meter_attribution_backfill b
JOIN rollup_series s ON s.org_id = b.org_id AND s.kind = 'meter.attribution' AND s.connection_id = 0
    AND s.d0 = b.d0 AND s.d1 = b.d1 AND s.d2 = '' AND s.d3 = '' AND s.d4 = ''
    AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY b.day);

DROP TABLE meter_attribution_backfill;
