-- The rollup engine (crates/store/src/rollups): per-series cumulative sums.
-- The dyadic block tables are replaced; cost lines are summarized anew below.

DROP TABLE rollup_workspace;
DROP TABLE rollup_key;
DROP TABLE rollup_model;
DROP TABLE rollup_workspace_model;
-- Image totals are read from the engine's cost.image kind now.
DROP INDEX cost_lines_images;

-- One series per (organization, kind, connection, dimension values). connection_id is 0 for
-- kinds fed without a connection. Dimensions d0..d7 are text: ids in decimal ('' for none),
-- text as is; the kind (rollups::RollupKind) says which; unused ones are ''.
CREATE TABLE rollup_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    connection_id BIGINT NOT NULL,
    d0 TEXT NOT NULL DEFAULT '',
    d1 TEXT NOT NULL DEFAULT '',
    d2 TEXT NOT NULL DEFAULT '',
    d3 TEXT NOT NULL DEFAULT '',
    d4 TEXT NOT NULL DEFAULT '',
    d5 TEXT NOT NULL DEFAULT '',
    d6 TEXT NOT NULL DEFAULT '',
    d7 TEXT NOT NULL DEFAULT '',
    UNIQUE (org_id, kind, connection_id, d0, d1, d2, d3, d4, d5, d6, d7)
);
CREATE INDEX rollup_series_connection ON rollup_series (connection_id);

-- Running totals of every metric per series, at each bucket (day or hour number) where the
-- series has facts. A period [a, b] is cum(latest bucket <= b) - cum(latest bucket <= a-1).
-- x0..x5 are the extra metrics a kind declares.
CREATE TABLE rollup_cum (
    series_id BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    cost_nanos BIGINT NOT NULL DEFAULT 0,
    credits_nanos BIGINT NOT NULL DEFAULT 0,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    requests_unknown BIGINT NOT NULL DEFAULT 0,
    quantity_micros BIGINT NOT NULL DEFAULT 0,
    lines BIGINT NOT NULL DEFAULT 0,
    allocated_lines BIGINT NOT NULL DEFAULT 0,
    x0 BIGINT NOT NULL DEFAULT 0,
    x1 BIGINT NOT NULL DEFAULT 0,
    x2 BIGINT NOT NULL DEFAULT 0,
    x3 BIGINT NOT NULL DEFAULT 0,
    x4 BIGINT NOT NULL DEFAULT 0,
    x5 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;

-- backfill: the cost kinds from the cost lines (also run by Store::rebuild_cost_rollups).

INSERT INTO rollup_series (org_id, kind, connection_id, d0)
SELECT DISTINCT org_id, 'cost.workspace', connection_id, COALESCE(CAST(workspace_ref AS TEXT), '') FROM cost_lines;

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
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), '')) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.workspace' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = '' AND s.d2 = '' AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1)
SELECT DISTINCT org_id, 'cost.key', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), '') FROM cost_lines;

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
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), '')) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.key' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = '' AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2)
SELECT DISTINCT org_id, 'cost.model', connection_id, model, category, unit FROM cost_lines;

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
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines
    FROM cost_lines GROUP BY org_id, connection_id, day, model, category, unit) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.model' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = '' AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2, d3)
SELECT DISTINCT org_id, 'cost.workspace_model', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), model, category, unit FROM cost_lines;

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
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines
    FROM cost_lines GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), model, category, unit) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.workspace_model' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = g.d3 AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);

INSERT INTO rollup_series (org_id, kind, connection_id, d0, d1, d2, d3)
SELECT DISTINCT org_id, 'cost.image', connection_id, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), ''), model, detail FROM cost_lines WHERE category = 'image' AND unit = 'images';

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
    SUM(CASE WHEN allocated THEN 1 ELSE 0 END) AS allocated_lines
    FROM cost_lines WHERE category = 'image' AND unit = 'images' GROUP BY org_id, connection_id, day, COALESCE(CAST(workspace_ref AS TEXT), ''), COALESCE(CAST(api_key_ref AS TEXT), ''), model, detail) g
JOIN rollup_series s ON s.org_id = g.org_id AND s.kind = 'cost.image' AND s.connection_id = g.connection_id
    AND s.d0 = g.d0 AND s.d1 = g.d1 AND s.d2 = g.d2 AND s.d3 = g.d3 AND s.d4 = '' AND s.d5 = '' AND s.d6 = '' AND s.d7 = ''
WINDOW w AS (PARTITION BY s.id ORDER BY g.day);
