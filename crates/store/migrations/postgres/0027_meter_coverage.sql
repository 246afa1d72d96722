-- Coverage per workspace (issue 9): the rollup kind `meter.coverage` holds metered calls per UTC
-- day and (provider, workspace, API key, model, status) — the workspace (OpenAI project,
-- Anthropic workspace, GCP project, AWS account…) as the events name it, which `meter_day` does
-- not keep. Ingest and restate add to it beside `meter_hour` and `meter_day`; coverage reads it
-- instead of `meter_day` (no attribution dimensions to multiply its series); `meter.provider`,
-- per day and provider only, is its day-by-day series.
--
-- backfill: from the stored events, day by day. A day whose events were pruned (raw events are
-- kept only for the retention period; `meter_day` keeps them all) is taken from `meter_day`
-- with no workspace, so totals stay whole: a day is read from the events only when they are
-- all still there (their count equals the calls `meter_day` holds for the day).

CREATE TEMPORARY TABLE meter_coverage_backfill AS
WITH md AS (
    SELECT s.org_id, c.bucket AS day, s.d0 AS provider, s.d1 AS model, s.d2 AS api_key, s.d7 AS status,
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
md_days AS (SELECT org_id, day, SUM(lines) AS lines FROM md GROUP BY org_id, day),
ev_days AS (SELECT org_id, day, COUNT(*) AS lines FROM meter_events GROUP BY org_id, day),
whole AS (
    SELECT m.org_id, m.day FROM md_days m
    JOIN ev_days v ON v.org_id = m.org_id AND v.day = m.day AND v.lines = m.lines
),
f AS (
    SELECT e.org_id, CAST(e.day AS BIGINT) AS day, e.provider AS d0, COALESCE(e.workspace, '') AS d1,
        COALESCE(e.api_key, '') AS d2, e.model AS d3, e.status AS d4,
        COALESCE(e.cost_nanos, 0) AS cost_nanos,
        0 AS credits_nanos,
        COALESCE(e.input_tokens, 0) AS input_tokens,
        COALESCE(e.output_tokens, 0) + COALESCE(e.reasoning_tokens, 0) AS output_tokens,
        COALESCE(e.cache_read_tokens, 0) AS cache_read_tokens,
        COALESCE(e.cache_write_tokens, 0) AS cache_write_tokens,
        1 AS requests,
        CASE WHEN e.input_tokens IS NULL THEN 1 ELSE 0 END AS requests_unknown,
        0 AS quantity_micros,
        1 AS lines,
        0 AS allocated_lines,
        CASE WHEN e.cost_nanos IS NULL THEN 1 ELSE 0 END AS x0,
        CASE WHEN e.cost_source = 'reported' THEN 1 ELSE 0 END AS x1,
        COALESCE(e.reasoning_tokens, 0) AS x2,
        CASE WHEN e.status <> 'ok' THEN 1 ELSE 0 END AS x3,
        COALESCE(e.latency_ms, 0) AS x4,
        CASE WHEN e.latency_ms IS NULL THEN 0 ELSE 1 END AS x5
    FROM meter_events e
    JOIN whole w ON w.org_id = e.org_id AND w.day = e.day
    UNION ALL
    SELECT md.org_id, md.day, md.provider, '', md.api_key, md.model, md.status, md.cost_nanos, md.credits_nanos, md.input_tokens, md.output_tokens, md.cache_read_tokens, md.cache_write_tokens, md.requests, md.requests_unknown, md.quantity_micros, md.lines, md.allocated_lines, md.x0, md.x1, md.x2, md.x3, md.x4, md.x5
    FROM md LEFT JOIN whole w ON w.org_id = md.org_id AND w.day = md.day
    WHERE w.org_id IS NULL
)
SELECT f.org_id, f.day, f.d0, f.d1, f.d2, f.d3, f.d4,
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
FROM f GROUP BY f.org_id, f.day, f.d0, f.d1, f.d2, f.d3, f.d4;

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2, d3, d4)
SELECT DISTINCT org_id, 'meter.coverage', 0, d0, d1, d2, d3, d4 FROM meter_coverage_backfill;

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
FROM meter_coverage_backfill b
JOIN rollup_series s ON s.org_id = b.org_id AND s.kind = 'meter.coverage' AND s.connection_id = 0
    AND s.d0 = b.d0 AND s.d1 = b.d1 AND s.d2 = b.d2 AND s.d3 = b.d3 AND s.d4 = b.d4
    AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY b.day);

-- The daily series per provider (`meter.provider`), from the same rows.
INSERT INTO rollup_series (org_id, kind, connection_id, d0)
SELECT DISTINCT org_id, 'meter.provider', 0, d0 FROM meter_coverage_backfill;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1, x2, x3, x4, x5)
SELECT s.id, g.day,
    CAST(SUM(g.cost_nanos) OVER w AS BIGINT),
    CAST(SUM(g.credits_nanos) OVER w AS BIGINT),
    CAST(SUM(g.input_tokens) OVER w AS BIGINT),
    CAST(SUM(g.output_tokens) OVER w AS BIGINT),
    CAST(SUM(g.cache_read_tokens) OVER w AS BIGINT),
    CAST(SUM(g.cache_write_tokens) OVER w AS BIGINT),
    CAST(SUM(g.requests) OVER w AS BIGINT),
    CAST(SUM(g.requests_unknown) OVER w AS BIGINT),
    CAST(SUM(g.quantity_micros) OVER w AS BIGINT),
    CAST(SUM(g.lines) OVER w AS BIGINT),
    CAST(SUM(g.allocated_lines) OVER w AS BIGINT),
    CAST(SUM(g.x0) OVER w AS BIGINT),
    CAST(SUM(g.x1) OVER w AS BIGINT),
    CAST(SUM(g.x2) OVER w AS BIGINT),
    CAST(SUM(g.x3) OVER w AS BIGINT),
    CAST(SUM(g.x4) OVER w AS BIGINT),
    CAST(SUM(g.x5) OVER w AS BIGINT)
FROM (SELECT b.org_id, b.day, b.d0,
        SUM(b.cost_nanos) AS cost_nanos,
        SUM(b.credits_nanos) AS credits_nanos,
        SUM(b.input_tokens) AS input_tokens,
        SUM(b.output_tokens) AS output_tokens,
        SUM(b.cache_read_tokens) AS cache_read_tokens,
        SUM(b.cache_write_tokens) AS cache_write_tokens,
        SUM(b.requests) AS requests,
        SUM(b.requests_unknown) AS requests_unknown,
        SUM(b.quantity_micros) AS quantity_micros,
        SUM(b.lines) AS lines,
        SUM(b.allocated_lines) AS allocated_lines,
        SUM(b.x0) AS x0,
        SUM(b.x1) AS x1,
        SUM(b.x2) AS x2,
        SUM(b.x3) AS x3,
        SUM(b.x4) AS x4,
        SUM(b.x5) AS x5
    FROM meter_coverage_backfill b GROUP BY b.org_id, b.day, b.d0) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'meter.provider' AND s.connection_id = 0
    AND s.d0 = g.d0 AND s.d1 = '' AND s.d2 = '' AND s.d3 = '' AND s.d4 = ''
    AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

DROP TABLE meter_coverage_backfill;
