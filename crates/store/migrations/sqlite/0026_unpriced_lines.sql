-- Usage with no known price (issue 12): a cost line can say its cost is unknown rather than
-- $0 (PiAPI tasks charged in a usage type with no documented dollar rate, e.g. Midjourney
-- `point`). The cost kinds count such lines (x0) and their requests (x1), so views show
-- "3,120 requests unpriced" beside the priced cost.
ALTER TABLE cost_lines ADD COLUMN unpriced BOOLEAN NOT NULL DEFAULT FALSE;

-- PiAPI lines stored before this mark: the raw usage of those usage types, kept at $0.
-- Their tasks were counted on the connection's `tasks` lines then, so these lines carry no
-- requests until the next sync re-reads their days.
UPDATE cost_lines SET unpriced = TRUE
WHERE unit LIKE '%\_usage' ESCAPE '\' AND cost_nanos = 0 AND credits_nanos = 0
  AND connection_id IN (SELECT id FROM connections WHERE provider = 'piapi');

-- The cost kinds again, from the lines, now with the unpriced counts.
DELETE FROM rollup_cum WHERE series_id IN (SELECT id FROM rollup_series WHERE kind IN
    ('cost.workspace', 'cost.key', 'cost.model', 'cost.workspace_model', 'cost.image'));
DELETE FROM rollup_series WHERE kind IN
    ('cost.workspace', 'cost.key', 'cost.model', 'cost.workspace_model', 'cost.image');

-- backfill: the cost kinds from the cost lines (also run by Store::rebuild_cost_rollups).

INSERT INTO rollup_series (org_id, kind, connection_id, d0)
SELECT DISTINCT org_id, 'cost.workspace', connection_id, COALESCE(CAST(workspace_ref AS TEXT), '') FROM cost_lines;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1)
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
    CAST(SUM(g.x1) OVER w AS BIGINT)
FROM (SELECT org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '') AS d0,
    SUM(cost_nanos) AS cost_nanos,
    SUM(credits_nanos) AS credits_nanos,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens,
    SUM(cache_write_tokens) AS cache_write_tokens,
    SUM(COALESCE(requests, 0)) AS requests,
    SUM(CASE WHEN requests IS NULL THEN 1 ELSE 0 END) AS requests_unknown,
    SUM(quantity_micros) AS quantity_micros,
    COUNT(*) AS lines,
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines,
    SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS x0,
    SUM(CASE WHEN unpriced THEN COALESCE(requests, 0) ELSE 0 END) AS x1
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '')) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.workspace' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = '' AND s.d2 = '' AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1)
SELECT DISTINCT org_id, 'cost.key', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), '') FROM cost_lines;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1)
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
    CAST(SUM(g.x1) OVER w AS BIGINT)
FROM (SELECT org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '') AS d0, COALESCE(CAST(api_key_ref AS TEXT), '') AS d1,
    SUM(cost_nanos) AS cost_nanos,
    SUM(credits_nanos) AS credits_nanos,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens,
    SUM(cache_write_tokens) AS cache_write_tokens,
    SUM(COALESCE(requests, 0)) AS requests,
    SUM(CASE WHEN requests IS NULL THEN 1 ELSE 0 END) AS requests_unknown,
    SUM(quantity_micros) AS quantity_micros,
    COUNT(*) AS lines,
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines,
    SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS x0,
    SUM(CASE WHEN unpriced THEN COALESCE(requests, 0) ELSE 0 END) AS x1
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), '')) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.key' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = '' AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2)
SELECT DISTINCT org_id, 'cost.model', connection_id, model, category, unit FROM cost_lines;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1)
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
    CAST(SUM(g.x1) OVER w AS BIGINT)
FROM (SELECT org_id, connection_id, day, model AS d0, category AS d1, unit AS d2,
    SUM(cost_nanos) AS cost_nanos,
    SUM(credits_nanos) AS credits_nanos,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens,
    SUM(cache_write_tokens) AS cache_write_tokens,
    SUM(COALESCE(requests, 0)) AS requests,
    SUM(CASE WHEN requests IS NULL THEN 1 ELSE 0 END) AS requests_unknown,
    SUM(quantity_micros) AS quantity_micros,
    COUNT(*) AS lines,
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines,
    SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS x0,
    SUM(CASE WHEN unpriced THEN COALESCE(requests, 0) ELSE 0 END) AS x1
    FROM cost_lines GROUP BY org_id, connection_id, day, model, category, unit) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.model' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2, d3)
SELECT DISTINCT org_id, 'cost.workspace_model', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), model, category, unit FROM cost_lines;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1)
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
    CAST(SUM(g.x1) OVER w AS BIGINT)
FROM (SELECT org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '') AS d0, model AS d1, category AS d2, unit AS d3,
    SUM(cost_nanos) AS cost_nanos,
    SUM(credits_nanos) AS credits_nanos,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens,
    SUM(cache_write_tokens) AS cache_write_tokens,
    SUM(COALESCE(requests, 0)) AS requests,
    SUM(CASE WHEN requests IS NULL THEN 1 ELSE 0 END) AS requests_unknown,
    SUM(quantity_micros) AS quantity_micros,
    COUNT(*) AS lines,
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines,
    SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS x0,
    SUM(CASE WHEN unpriced THEN COALESCE(requests, 0) ELSE 0 END) AS x1
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), model, category, unit) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.workspace_model' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = g.d3 AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2, d3)
SELECT DISTINCT org_id, 'cost.image', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), ''), model, detail FROM cost_lines WHERE category = 'image' AND unit = 'images';

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines, x0, x1)
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
    CAST(SUM(g.x1) OVER w AS BIGINT)
FROM (SELECT org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '') AS d0, COALESCE(CAST(api_key_ref AS TEXT), '') AS d1, model AS d2, detail AS d3,
    SUM(cost_nanos) AS cost_nanos,
    SUM(credits_nanos) AS credits_nanos,
    SUM(input_tokens) AS input_tokens,
    SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens,
    SUM(cache_write_tokens) AS cache_write_tokens,
    SUM(COALESCE(requests, 0)) AS requests,
    SUM(CASE WHEN requests IS NULL THEN 1 ELSE 0 END) AS requests_unknown,
    SUM(quantity_micros) AS quantity_micros,
    COUNT(*) AS lines,
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines,
    SUM(CASE WHEN unpriced THEN 1 ELSE 0 END) AS x0,
    SUM(CASE WHEN unpriced THEN COALESCE(requests, 0) ELSE 0 END) AS x1
    FROM cost_lines WHERE category = 'image' AND unit = 'images' GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), ''), model, detail) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.image' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = g.d3 AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);
