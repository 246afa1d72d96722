-- Work in its own units (issue 13): cost per (connection, workspace, API key, unit) and day, the
-- rollup kind `cost.key_unit` the Providers, Workspaces and API Keys views read to show the work
-- of providers that count no requests (fal.ai images and seconds, Runway credits) in its own
-- unit, never summed across units. Sync writes it with every window; this backfills it from the
-- cost lines already stored.

-- backfill: the key × unit kind from the cost lines (also run by Store::rebuild_cost_rollups).

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2)
SELECT DISTINCT org_id, 'cost.key_unit', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), ''), unit FROM cost_lines;

INSERT INTO rollup_cum (series_id, bucket, cost_nanos, credits_nanos, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, requests, requests_unknown, quantity_micros, lines, allocated_lines)
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
    CAST(SUM(g.allocated_lines) OVER w AS BIGINT)
FROM (SELECT org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '') AS d0, COALESCE(CAST(api_key_ref AS TEXT), '') AS d1, unit AS d2,
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
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), ''), unit) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.key_unit' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);
