//! The OpenAPI 3.1 document of the JSON API, served at `/api/v1/openapi.json`.
//!
//! Written by hand next to the routes it describes; a test checks that every route in
//! [`super::routes`] is in it and every path in it answers.

use axum::Json;
use serde_json::{Value, json};

/// The documented paths, in the router's syntax (`{id}`), with their methods.
pub const PATHS: &[(&str, &str)] = &[
    ("get", "/reports/{view}"),
    ("get", "/coverage"),
    ("get", "/forecasts"),
    ("get", "/anomalies"),
    ("get", "/anomaly-thresholds"),
    ("put", "/anomaly-thresholds"),
    ("delete", "/anomaly-thresholds"),
    ("get", "/connections"),
    ("post", "/connections"),
    ("get", "/connections/{id}"),
    ("delete", "/connections/{id}"),
    ("post", "/connections/{id}/test"),
    ("put", "/connections/{id}/credential"),
    ("get", "/connections/{id}/services"),
    ("put", "/connections/{id}/services/{service_id}"),
    ("get", "/connections/{id}/months"),
    ("post", "/connections/{id}/sync"),
    ("post", "/sync"),
    ("get", "/sync-runs"),
    ("get", "/workspaces"),
    ("get", "/api-keys"),
    ("post", "/meter/events"),
    ("get", "/ingest-keys"),
    ("post", "/ingest-keys"),
    ("post", "/ingest-keys/{id}/regenerate"),
    ("delete", "/ingest-keys/{id}"),
    ("get", "/prices"),
    ("post", "/prices"),
    ("get", "/prices/check"),
    ("get", "/prices/observed"),
    ("post", "/prices/restate"),
    ("get", "/prices/{id}"),
    ("put", "/prices/{id}"),
    ("delete", "/prices/{id}"),
    ("get", "/token-usage"),
    ("get", "/token-usage/summary"),
    ("get", "/alerts/rules"),
    ("post", "/alerts/rules"),
    ("get", "/alerts/rules/{id}"),
    ("put", "/alerts/rules/{id}"),
    ("delete", "/alerts/rules/{id}"),
    ("get", "/alerts/channels"),
    ("post", "/alerts/channels"),
    ("delete", "/alerts/channels/{id}"),
    ("get", "/alerts/history"),
    ("get", "/alerts/deliveries"),
    ("get", "/alerts/smtp"),
    ("put", "/alerts/smtp"),
    ("get", "/report-documents"),
    ("post", "/report-documents"),
    ("get", "/report-documents/{id}"),
    ("delete", "/report-documents/{id}"),
    ("get", "/report-documents/{id}/{format}"),
    ("get", "/budgets"),
    ("post", "/budgets"),
    ("get", "/budgets/status"),
    ("post", "/budgets/check"),
    ("delete", "/budgets/reservations/{id}"),
    ("get", "/budgets/{id}"),
    ("put", "/budgets/{id}"),
    ("delete", "/budgets/{id}"),
    ("get", "/budgets/{id}/versions"),
    ("get", "/budgets/{id}/status"),
    ("get", "/report-schedules"),
    ("post", "/report-schedules"),
    ("delete", "/report-schedules/{id}"),
];

pub async fn document() -> Json<Value> {
    Json(spec())
}

/// The price catalog's paths and schemas, merged into the document by [`spec`].
fn price_paths(with_errors: &dyn Fn(Value) -> Value) -> (Value, Value) {
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let entry = json!({"$ref": "#/components/schemas/PriceEntry"});
    let body = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PriceEntryInput"}}}});
    let ok = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let tokens = |name: &str| {
        query(
            name,
            &format!("{name} tokens (canonical, disjoint bucket)"),
            json!({"type": "integer", "minimum": 0}),
        )
    };
    let paths = json!({
        "/prices": {
            "get": {"summary": "The organization's price catalog: built-in and user entries",
                "parameters": [
                    query("provider", "Only this provider.", json!({"type": "string"})),
                    query("search", "Text in the model pattern.", json!({"type": "string", "maxLength": 200})),
                    query("provenance", "Only this provenance.", json!({"type": "string", "enum": ["built_in", "observed", "user"]}))
                ],
                "responses": with_errors(json!({"200": ok("Entries", json!({"type": "object", "properties": {"count": {"type": "integer"}, "entries": {"type": "array", "items": entry}}}))}))},
            "post": {"summary": "Add a user price (it takes precedence over built-in prices)", "requestBody": body,
                "responses": with_errors(json!({"201": ok("Added", entry.clone()), "409": error_response("An entry with the same model, start day and conditions exists.")}))}
        },
        "/prices/check": {"get": {
            "summary": "Which entry prices a call and what it costs, or why it is unpriced",
            "parameters": [
                {"name": "provider", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "model", "in": "query", "required": true, "schema": {"type": "string"}},
                tokens("input"), tokens("cache_read"), tokens("cache_write"), tokens("cache_write_1h"), tokens("output"), tokens("reasoning"),
                query("quantity", "Non-token quantity (with unit).", json!({"type": "string"})),
                query("unit", "images, seconds, characters, requests, …", json!({"type": "string"})),
                query("batch", "A batch call.", json!({"type": "boolean"})),
                query("service_tier", "The tier the provider applied (priority, flex, …).", json!({"type": "string"})),
                query("at", "When the call happened (RFC 3339 or a UTC day); now when absent.", json!({"type": "string"}))
            ],
            "responses": with_errors(json!({"200": ok("priced (cost, entry, lines) or unpriced (reason, message; cost null — never $0)", json!({"type": "object", "required": ["status"], "properties": {
                "status": {"type": "string", "enum": ["priced", "unpriced"]}, "cost": {"type": ["string", "null"]}, "currency": {"type": "string"},
                "entry": entry, "reason": {"type": "string"}, "message": {"type": "string"}}}))}))
        }},
        "/prices/observed": {"get": {
            "summary": "Catalog vs observed prices: each billed model's latest observed day (what the bill charged per 1M tokens, per token class where the bill names classes, else `all`) beside the catalog price that prices its calls, the drift and whether it is beyond the threshold; and the models billed in the period without a catalog price",
            "parameters": [
                query("period", "The period new models are looked for in (as the views take it; default 30 days).", json!({"type": "string"})),
                query("from", "First day of a custom period.", json!({"type": "string", "format": "date"})),
                query("to", "Last day of a custom period.", json!({"type": "string", "format": "date"})),
                query("threshold", "Drift threshold in percent, 0–1000 (default 2).", json!({"type": "string"}))
            ],
            "responses": with_errors(json!({"200": ok("The comparison", json!({"type": "object", "properties": {
                "threshold_pct": {"type": "string"}, "period": {"type": "object"}, "drifted": {"type": "integer"},
                "rows": {"type": "array", "items": {"type": "object", "properties": {
                    "provider": {"type": "string"}, "provider_name": {"type": "string"}, "model": {"type": "string"}, "day": {"type": "string", "format": "date"},
                    "token_class": {"type": "string", "enum": ["input", "cached_input", "cache_write", "output", "all"]},
                    "billed_cost": {"type": "string"}, "tokens": {"type": "object", "properties": {"input": {"type": "integer"}, "cache_read": {"type": "integer"}, "cache_write": {"type": "integer"}, "output": {"type": "integer"}}},
                    "observed_per_1m": {"type": ["string", "null"]}, "catalog_per_1m": {"type": ["string", "null"], "description": "null: the catalog has no price for these tokens (unknown, not zero)"},
                    "catalog_entry": {"type": ["string", "null"]}, "catalog_source": {"type": ["string", "null"], "enum": ["built_in", "user", null]},
                    "drift_pct": {"type": ["string", "null"]}, "drifted": {"type": "boolean"}}}},
                "new_models": {"type": "array", "items": {"type": "object", "properties": {"provider": {"type": "string"}, "provider_name": {"type": "string"}, "model": {"type": "string"}, "billed_cost": {"type": "string"}}}},
                "notes": {"type": "array", "items": {"type": "string"}}}}))}))
        }},
        "/prices/restate": {"post": {
            "summary": "Re-price the stored metered events of a range of UTC days with the current catalog (admin): per model, events changed, old and new totals, newly priced and unpriced; with dry_run nothing changes, else costs and rollups are rewritten and the restate audited",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["from", "to"], "properties": {
                "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}, "dry_run": {"type": "boolean", "default": false}}}}}},
            "responses": with_errors(json!({"200": ok("What changed (or would)", json!({"type": "object", "properties": {
                "from": {"type": "string"}, "to": {"type": "string"}, "dry_run": {"type": "boolean"},
                "scanned": {"type": "integer"}, "changed": {"type": "integer"}, "applied": {"type": "integer"},
                "old_total": {"type": "string"}, "new_total": {"type": "string"}, "difference": {"type": "string"},
                "newly_priced": {"type": "integer"}, "newly_unpriced": {"type": "integer"},
                "models": {"type": "array", "items": {"type": "object", "properties": {
                    "provider": {"type": "string"}, "model": {"type": "string"}, "events": {"type": "integer"},
                    "old_total": {"type": "string"}, "new_total": {"type": "string"}, "difference": {"type": "string"},
                    "newly_priced": {"type": "integer"}, "newly_unpriced": {"type": "integer"}}}}}}))}))
        }},
        "/prices/{id}": {
            "parameters": id,
            "get": {"summary": "One stored entry", "responses": with_errors(json!({"200": ok("The entry", entry.clone())}))},
            "put": {"summary": "Replace a user entry's fields (built-in entries are read-only)", "requestBody": body,
                "responses": with_errors(json!({"200": ok("Before and after", json!({"type": "object", "properties": {"before": entry, "entry": entry}})), "409": error_response("An entry with the same model, start day and conditions exists.")}))},
            "delete": {"summary": "Delete a user entry; the answer names what was deleted", "responses": with_errors(json!({"200": ok("Deleted", json!({"type": "object", "properties": {"deleted": entry}}))}))}
        }
    });
    let price = json!({"type": ["string", "null"], "description": "Exact decimal string per 1M tokens, e.g. \"2.5\" or \"0.0375\""});
    let input_properties = json!({
        "provider": {"type": "string", "enum": ["openai", "anthropic", "bedrock", "vertex", "fal", "runway", "openrouter", "litellm"]},
        "model": {"type": "string", "description": "Model id or glob (`*` matches any run of characters), matched case-insensitively", "maxLength": 200},
        "input": price, "cache_read": price, "cache_write_5m": price, "cache_write_1h": price, "output": price,
        "reasoning": {"type": ["string", "null"], "description": "Per 1M reasoning tokens; the output price when absent"},
        "units": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Price per one non-token unit by unit name: {\"images\": \"0.04\"}"},
        "context_above": {"type": ["integer", "null"], "description": "Applies when the call's total input is above this many tokens (to the whole call)"},
        "batch": {"type": "boolean", "default": false},
        "service_tier": {"type": ["string", "null"]},
        "effective_from": {"type": "string", "format": "date"},
        "effective_to": {"type": ["string", "null"], "format": "date", "description": "Last day, inclusive"},
        "currency": {"type": "string", "default": "USD"},
        "provenance": {"type": "string", "enum": ["user"], "default": "user", "description": "Only user entries are added here; observed ones come from synced bills and never price calls"},
        "source": {"type": "string", "description": "Where the price was read and when (required)"}
    });
    let mut output_properties = input_properties.clone();
    if let Some(map) = output_properties.as_object_mut() {
        map.insert("id".to_owned(), json!({"type": ["integer", "string"], "description": "A stored entry's id; built-in entries of the compiled list have text ids"}));
        map.insert("editable".to_owned(), json!({"type": "boolean"}));
        map.insert(
            "provenance".to_owned(),
            json!({"type": "string", "enum": ["built_in", "observed", "user"]}),
        );
    }
    let schemas = json!({
        "PriceEntryInput": {"type": "object", "additionalProperties": false, "required": ["provider", "model", "effective_from", "source"], "properties": input_properties},
        "PriceEntry": {"type": "object", "properties": output_properties}
    });
    (paths, schemas)
}

fn money() -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2,9}$", "description": "USD as an exact decimal string", "examples": ["12.50", "0.000123456"]})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn view_parameters() -> Value {
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    json!([
        {"name": "view", "in": "path", "required": true, "schema": {"type": "string", "enum": ["providers", "workspaces", "keys", "models", "customers", "products", "agents"]}},
        query("period", "A preset period; ignored when from and to are given.", json!({"type": "string", "enum": ["last-7-days", "last-30-days", "last-90-days", "this-month", "last-month"], "default": "last-30-days"})),
        query("from", "First day, inclusive (UTC).", json!({"type": "string", "format": "date"})),
        query("to", "Last day, inclusive (UTC).", json!({"type": "string", "format": "date"})),
        query("provider", "Provider ids, comma-separated (customers, products, agents: metered provider names, any the calls used).", json!({"type": "string", "examples": ["openai,anthropic"]})),
        query("model", "Customers, products, agents only: these models, comma-separated.", json!({"type": "string", "examples": ["gpt-4o-mini"]})),
        query("search", "Case-insensitive text in the row's names (at most 200 characters).", json!({"type": "string", "maxLength": 200})),
        query("min_cost", "Lowest cost shown, USD.", json!({"type": "string"})),
        query("max_cost", "Highest cost shown, USD.", json!({"type": "string"})),
        query("sort", "A column of the view (cost, trend, tokens, requests, …).", json!({"type": "string"})),
        query("order", "Sort order.", json!({"type": "string", "enum": ["asc", "desc"]})),
        query("workspace", "Only this workspace display name (drill-down).", json!({"type": "string"})),
        query("key", "Only this API key id (drill-down to models).", json!({"type": "integer"})),
        query("format", "Response format.", json!({"type": "string", "enum": ["json", "csv"], "default": "json"})),
    ])
}

/// The whole document.
pub fn spec() -> Value {
    // The trend names come from the domain type, so the document cannot drift from it.
    let trend_names: Vec<&str> = spendlens_domain::Trend::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let auth_errors = json!({
        "400": error_response("The request was wrong; the message says how."),
        "401": error_response("Missing or invalid API token."),
        "404": error_response("Not found in your organization."),
    });
    let with_errors = |ok: Value| {
        let mut responses = auth_errors.clone();
        if let (Some(map), Some(ok)) = (responses.as_object_mut(), ok.as_object()) {
            for (k, v) in ok {
                map.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    let (price_paths, price_schemas) = price_paths(&with_errors);
    // A row's work in its own units (kept apart: the document's macro nests deep enough).
    let usage = json!({
        "type": ["array", "null"],
        "description": "The work in its own units: requests where the provider counts them, else the unit it bills in (fal.ai images, megapixels, seconds, machine_seconds; Runway credits), one entry per unit, requests first, never added across units; null when part of it is counted in neither (tokens of a provider that reports no requests)",
        "items": {"type": "object", "required": ["unit", "quantity"], "properties": {
            "unit": {"type": "string"},
            "quantity": {"type": "string", "description": "exact decimal"}
        }}
    });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "spendlens API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "AI spend by provider, workspace, API key and model, synced from the providers' own billing APIs. Money is an exact USD decimal string; days are UTC; every report compares with the previous period of equal length."
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/reports/{view}": {"get": {
                "summary": "A view: providers, workspaces, keys or models (synced bills); customers, products or agents (metered calls)",
                "parameters": view_parameters(),
                "responses": with_errors(json!({"200": {"description": "The report", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                    "text/csv": {"schema": {"type": "string"}}
                }}}))
            }},
            "/connections": {
                "get": {"summary": "List connections (never their secrets)", "responses": with_errors(json!({"200": {"description": "Connections", "content": {"application/json": {"schema": {"type": "object", "properties": {"connections": {"type": "array", "items": {"$ref": "#/components/schemas/Connection"}}}}}}}}))},
                "post": {
                    "summary": "Add a connection: shape check, one live call, encrypted save",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewConnection"}}}},
                    "responses": with_errors(json!({
                        "201": {"description": "Saved", "content": {"application/json": {"schema": {"type": "object", "properties": {"connection": {"$ref": "#/components/schemas/Connection"}, "check": {"type": ["string", "null"]}}}}}},
                        "409": error_response("A connection with this name exists."),
                        "422": error_response("The provider refused the credential or could not be reached; nothing was saved.")
                    }))
                }
            },
            "/connections/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"summary": "One connection", "responses": with_errors(json!({"200": {"description": "The connection", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Connection"}}}}}))},
                "delete": {"summary": "Remove the credential (keep history), or everything with purge=true",
                    "parameters": [{"name": "purge", "in": "query", "required": false, "schema": {"type": "boolean", "default": false}}],
                    "responses": with_errors(json!({"204": {"description": "Removed"}}))}
            },
            "/connections/{id}/test": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "post": {"summary": "One cheap live call with the stored credential", "responses": with_errors(json!({"200": {"description": "The credential works", "content": {"application/json": {"schema": {"type": "object", "properties": {"ok": {"type": "boolean"}, "summary": {"type": "string"}}}}}}, "422": error_response("The provider refused the credential.")}))}
            },
            "/connections/{id}/credential": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "put": {"summary": "Give a connection a new key: a rotated one, or one that resumes a disconnected connection (scope connections; audited). Shape check, then one live call against the connection's own base URL; saved only when both pass. The connection keeps its id and history and is pending until its next sync",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["credential"], "additionalProperties": false, "properties": {"credential": {"type": "string"}}}}}},
                    "responses": with_errors(json!({
                        "200": {"description": "Saved", "content": {"application/json": {"schema": {"type": "object", "properties": {"connection": {"$ref": "#/components/schemas/Connection"}, "check": {"type": "string"}}}}}},
                        "422": error_response("The provider refused the key or could not be reached; the key was not changed.")
                    }))}
            },
            "/connections/{id}/services": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"summary": "The services of the connection's bill (Google Vertex AI: every service of the billing export the last sync found, its kind — google_ai, partner_model, other —, seller, gross cost in the billing currency over that sync's window, the user's choice and whether it counts); empty for other providers", "responses": with_errors(json!({"200": {"description": "The services", "content": {"application/json": {"schema": {"type": "object", "properties": {"connection_id": {"type": "integer"}, "connection": {"type": "string"}, "reread_from": {"type": ["string", "null"], "format": "date"}, "services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}}}}}}}}))}
            },
            "/connections/{id}/services/{service_id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}, {"name": "service_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {"summary": "Include or exclude one service (scope connections; audited). When whether it counts changes, the next sync reads every stored day again, so an excluded service's lines go from every day",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["choice"], "properties": {"choice": {"type": "string", "enum": ["include", "exclude", "default"]}}}}}},
                    "responses": with_errors(json!({"200": {"description": "The service as stored, and the day the next sync reads again from", "content": {"application/json": {"schema": {"type": "object", "properties": {"service": {"$ref": "#/components/schemas/Service"}, "reread_from": {"type": ["string", "null"], "format": "date"}, "message": {"type": "string"}}}}}}}))}
            },
            "/connections/{id}/months": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"summary": "Spend per month: the sum of UTC days, and the bill's invoice month where the provider names one (Vertex invoice.month; null elsewhere, and a note says so); differs is true where both are known and differ", "responses": with_errors(json!({"200": {"description": "The months", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Months"}}}}}))}
            },
            "/connections/{id}/sync": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "post": {"summary": "Sync one connection now (in the background)", "responses": with_errors(json!({"202": {"description": "Started; follow GET /sync-runs"}}))}
            },
            "/sync": {"post": {"summary": "Sync every connection now (in the background)", "responses": with_errors(json!({"202": {"description": "Started; follow GET /sync-runs"}}))}},
            "/sync-runs": {"get": {
                "summary": "The sync log, newest first",
                "parameters": [
                    {"name": "connection", "in": "query", "schema": {"type": "integer"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["running", "success", "partial", "failed"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 200, "maximum": 10000}}
                ],
                "responses": with_errors(json!({"200": {"description": "Runs", "content": {"application/json": {"schema": {"type": "object", "properties": {"sync_runs": {"type": "array", "items": {"$ref": "#/components/schemas/SyncRun"}}}}}}}}))
            }},
            "/workspaces": {"get": {"summary": "Workspaces with provider and display names", "responses": with_errors(json!({"200": {"description": "Workspaces"}}))}},
            "/api-keys": {"get": {"summary": "API keys as providers list them (hints only)", "responses": with_errors(json!({"200": {"description": "API keys"}}))}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API token from `spendlens tokens create`."}},
            "schemas": {
                "Money": money(),
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message", "request_id"], "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string"}}}}},
                "Period": {"type": "object", "required": ["from", "to"], "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}},
                "Report": {
                    "type": "object",
                    "required": ["view", "period", "previous_period", "total_cost", "rows"],
                    "properties": {
                        "view": {"type": "string"},
                        "period": {"$ref": "#/components/schemas/Period"},
                        "previous_period": {"$ref": "#/components/schemas/Period"},
                        "time_zone": {"const": "UTC"},
                        "currency": {"const": "USD"},
                        "total_cost": money(), "previous_total_cost": money(), "total_credits": money(), "total_net_cost": money(),
                        "trend_pct": {"type": ["string", "null"]},
                        "trend": {"type": "string", "enum": trend_names},
                        "rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}},
                        "total_requests": {"type": ["integer", "null"], "description": "API keys and models: the rows' requests; null when a provider here counts none"},
                        "total_usage": {"description": "API keys and models: the rows' work summed unit by unit, as the table's total row (requests, and each provider's own unit where it counts none — never added across units); null when part of it is unknown", "type": ["array", "null"], "items": usage["items"].clone()}
                    }
                },
                "Row": {
                    "type": "object",
                    "description": "Every row has the metrics; each view adds its entity: provider; workspace (+ providers); key_id, key_name, key_hint, workspace, status; model, category, unit, cost_per_1m, cost_per_unit, avg_tokens_per_request, most_efficient. Customers, products and agents rows have name (null: calls sent without one), label, cost, calls, failed_calls, error_share_pct, unpriced_calls (not in cost), usage_unknown_calls, avg_cost_per_call (priced calls only), input_tokens/output_tokens/total_tokens (null when no call reported usage), previous_cost, trend, share_pct.",
                    "required": ["provider", "cost", "previous_cost", "input_tokens", "output_tokens", "requests"],
                    "properties": {
                        "provider": {"type": "string"},
                        "coverage_pct": {"type": ["string", "null"], "description": "Providers, workspaces, keys and models: metered ÷ billed spend in percent over the days the bills are final; null until metering is set up or without billed spend (details: GET /coverage)"},
                        "cost": money(), "credits": money(), "net_cost": money(), "previous_cost": money(),
                        "trend_pct": {"type": ["string", "null"]},
                        "trend": {"type": "string", "enum": trend_names},
                        "share_pct": {"type": ["string", "null"]},
                        "input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
                        "cache_read_tokens": {"type": "integer"}, "cache_write_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"},
                        "requests": {"type": ["integer", "null"], "description": "null when the provider does not report request counts"},
                        "usage": usage,
                        "unpriced_lines": {"type": "integer", "description": "billed lines whose usage has no known price (e.g. PiAPI Midjourney point usage): what they cost is unknown and not in cost"},
                        "unpriced_requests": {"type": "integer", "description": "the requests of those lines"},
                        "cost_unknown": {"type": "boolean", "description": "every line of the row is unpriced: cost is unknown, not 0"},
                        "previous_cost_unknown": {"type": "boolean", "description": "every line of the previous period is unpriced: previous_cost is unknown, not 0 (and there is no trend)"}
                    }
                },
                "NewConnection": {
                    "type": "object",
                    "required": ["provider", "name", "credential"],
                    "additionalProperties": false,
                    "properties": {
                        "provider": {"type": "string", "enum": ["openai", "anthropic", "bedrock", "vertex", "fal", "runway", "openrouter", "litellm", "azure-openai", "piapi"]},
                        "name": {"type": "string", "maxLength": 80},
                        "credential": {"type": "string", "description": "An organization Admin key (OpenAI sk-admin-…, Anthropic sk-ant-admin01-…). Write-only."},
                        "base_url": {"type": "string", "format": "uri"},
                        "skip_check": {"type": "boolean", "default": false},
                        "sync_interval_minutes": {"type": "integer", "default": 60},
                        "backfill_days": {"type": "integer", "default": 90},
                        "lookback_days": {"type": ["integer", "null"], "minimum": 0, "maximum": 62, "description": "Days before the last synced day every sync reads again. Left out: the provider's own look-back (e.g. AWS, Vertex, Azure: 3 days, the open month and the previous month through the 5th; OpenAI, Anthropic: 3 days and the previous month through the 3rd)."}
                    }
                },
                "Connection": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"}, "provider": {"type": "string"}, "name": {"type": "string"},
                        "credential_hint": {"type": ["string", "null"]}, "has_credential": {"type": "boolean"},
                        "base_url": {"type": ["string", "null"]},
                        "status": {"type": "string", "enum": ["pending", "connected", "error", "disconnected"]},
                        "status_message": {"type": ["string", "null"]},
                        "last_sync_at": {"type": ["string", "null"], "format": "date-time"},
                        "synced_through": {"type": ["string", "null"], "format": "date"},
                        "lookback_days": {"type": ["integer", "null"], "description": "The connection's own look-back in days; null: the provider's own"},
                        "services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}, "description": "One connection (GET /connections/{id}) only: the services of its bill (Vertex); empty elsewhere"}
                    }
                },
                "Service": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "example": "C7E2-9256-1C43"}, "name": {"type": "string"},
                        "other_names": {"type": "array", "items": {"type": "string"}, "description": "Other names its rows carried (a renamed service)"},
                        "kind": {"type": "string", "enum": ["google_ai", "partner_model", "other"]},
                        "transaction_type": {"type": ["string", "null"]}, "seller": {"type": ["string", "null"]},
                        "cost": money(), "currency": {"type": "string", "description": "The billing account's currency of cost"},
                        "last_day": {"type": ["string", "null"], "format": "date"},
                        "window": {"type": "object", "description": "The window of the last sync that found it"},
                        "choice": {"type": ["string", "null"], "enum": ["include", "exclude", null]},
                        "counted": {"type": "boolean"}
                    }
                },
                "MonthMoney": {"type": "object", "properties": {"cost": money(), "credits": money(), "net": money()}},
                "Months": {"type": "object", "properties": {
                    "connection": {"type": "string"}, "provider": {"type": "string"}, "invoice_months": {"type": "boolean"},
                    "rows": {"type": "array", "items": {"$ref": "#/components/schemas/MonthRow"}},
                    "notes": {"type": "array", "items": {"type": "string"}}}},
                "MonthRow": {"type": "object", "properties": {"month": {"type": "string", "example": "2026-11"}, "utc_days": {"$ref": "#/components/schemas/MonthMoney"}, "invoice": {"oneOf": [{"$ref": "#/components/schemas/MonthMoney"}, {"type": "null"}]}, "differs": {"type": "boolean"}}},
                "SyncRun": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"}, "connection_id": {"type": "integer"}, "connection_name": {"type": "string"},
                        "provider": {"type": "string"}, "trigger": {"type": "string", "enum": ["initial", "scheduled", "manual"]},
                        "window": {"$ref": "#/components/schemas/Period"},
                        "started_at": {"type": "string", "format": "date-time"}, "finished_at": {"type": ["string", "null"], "format": "date-time"},
                        "status": {"type": "string", "enum": ["running", "success", "partial", "failed"]},
                        "workspaces": {"type": "integer"}, "api_keys": {"type": "integer"}, "lines": {"type": "integer"},
                        "http_calls": {"type": "integer"}, "retries": {"type": "integer"}, "error": {"type": ["string", "null"]}
                    }
                }
            }
        }
    });
    for (section, extra) in [("paths", price_paths), ("schemas", price_schemas)] {
        let target = if section == "paths" {
            doc.get_mut("paths")
        } else {
            doc.get_mut("components").and_then(|c| c.get_mut("schemas"))
        };
        if let (Some(target), Value::Object(extra)) = (target.and_then(Value::as_object_mut), extra)
        {
            target.extend(extra);
        }
    }
    metering(&mut doc, &with_errors);
    token_usage(&mut doc, &with_errors);
    super::coverage::document_paths(&mut doc, &with_errors);
    super::alerts::document_paths(&mut doc, &with_errors);
    super::budgets::document_paths(&mut doc, &with_errors);
    super::budget_denials::document_paths(&mut doc, &with_errors);
    super::export::document_paths(&mut doc, &with_errors);
    super::access_log::document_paths(&mut doc, &with_errors);
    super::forecasts::document_paths(&mut doc, &with_errors);
    super::thresholds::document_paths(&mut doc, &with_errors);
    super::report_documents::document_paths(&mut doc, &with_errors);
    doc
}

/// The token-usage paths (records and summary) and the record's schema.
fn token_usage(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let query = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    let filters = vec![
        query("customer", "Only this customer (exact)."),
        query(
            "api_key",
            "Only this API key: its masked form as shown, or the hint or id sent.",
        ),
        query("model", "Only this model (exact)."),
        query("provider", "Only this provider."),
        query(
            "from",
            "Start: a UTC day YYYY-MM-DD (inclusive) or an RFC 3339 time on a whole hour (inclusive).",
        ),
        query(
            "to",
            "End: a UTC day YYYY-MM-DD (inclusive) or an RFC 3339 time on a whole hour (exclusive). from after to is a 400.",
        ),
    ];
    let mut paged = filters.clone();
    paged.push(json!({"name": "limit", "in": "query", "required": false, "description": "Rows per page (alias page_size); 0 or over 1000 is a 400, not a clamp.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}));
    paged.push(query(
        "cursor",
        "next_cursor of the previous page, unchanged.",
    ));
    let forbidden = error_response("An ingest key, or a token without the read scope.");
    let money =
        json!({"type": ["string", "null"], "description": "Exact USD decimal; null when unknown"});
    let count = json!({"type": ["integer", "null"], "description": "null when the call reported no token counts"});
    let paths = json!({
        "/token-usage": {"get": {
            "summary": "Metered calls, newest first (keyset pages): tokens, cost split where exactly known, masked API keys, estimated flag",
            "parameters": paged,
            "responses": with_errors(json!({
                "200": {"description": "One page", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "count": {"type": "integer"}, "limit": {"type": "integer"},
                    "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
                    "rows": {"type": "array", "items": {"$ref": "#/components/schemas/TokenUsageRecord"}}}}}}},
                "403": forbidden.clone()
            }))
        }},
        "/token-usage/summary": {"get": {
            "summary": "Token and request totals for the filters, from the hourly and daily rollups",
            "parameters": filters,
            "responses": with_errors(json!({
                "200": {"description": "Totals", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "from": {"type": ["string", "null"]}, "to": {"type": ["string", "null"], "description": "Exclusive"},
                    "requests": {"type": "integer"}, "requests_with_tokens": {"type": "integer"}, "requests_without_tokens": {"type": "integer"},
                    "input_tokens": count, "output_tokens": count, "total_tokens": count,
                    "cache_read_tokens": count, "cache_write_tokens": count, "reasoning_tokens": count,
                    "average_tokens_per_request": {"type": ["string", "null"], "description": "Total tokens per request that reported tokens, two decimals"},
                    "total_cost": money, "priced_requests": {"type": "integer"}, "unpriced_requests": {"type": "integer"},
                    "reported_cost_requests": {"type": "integer"}, "failed_requests": {"type": "integer"}}}}}},
                "403": forbidden
            }))
        }}
    });
    if let (Some(target), Some(paths)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        target.extend(paths.clone());
    }
    doc["components"]["schemas"]["TokenUsageRecord"] = json!({"type": "object", "properties": {
        "id": {"type": "string"}, "time": {"type": "string", "format": "date-time"},
        "customer": {"type": ["string", "null"]},
        "api_key": {"type": ["string", "null"], "description": "Masked"},
        "provider": {"type": "string"}, "model": {"type": "string"},
        "status": {"type": "string", "enum": ["ok", "error", "timeout"]},
        "input_tokens": count, "output_tokens": count, "total_tokens": count,
        "cache_read_tokens": count, "cache_write_tokens": count, "reasoning_tokens": count,
        "quantity": {"type": ["string", "null"]}, "unit": {"type": ["string", "null"]},
        "input_cost": money, "output_cost": money, "other_cost": money,
        "total_cost": money,
        "priced": {"type": "boolean"},
        "cost_source": {"type": "string", "enum": ["catalog", "reported", "unpriced"]},
        "unpriced_reason": {"type": ["string", "null"]},
        "tokens_reported": {"type": "boolean"}, "cost_reported": {"type": "boolean"},
        "estimated": {"type": "boolean", "description": "Tokens or cost were not reported by the sender (cost from the price catalog, or unknown)"},
        "token_flags": {"type": "array", "items": {"type": "string"}},
        "latency_ms": {"type": ["integer", "null"]}
    }});
}

/// The metering paths: ingest (ingest key) and ingest-key management (API token).
fn metering(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let key_schema = json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "hint": {"type": "string", "description": "The masked key, e.g. sl_ingest_3f9a…c21d"},
        "created_at": {"type": "string", "format": "date-time"},
        "regenerated_at": {"type": ["string", "null"], "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"}}});
    let with_secret = json!({"type": "object", "properties": {"ingest_key": key_schema, "secret": {"type": "string", "description": "Shown in this answer only."}}});
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let paths = json!({
        "/meter/events": {"post": {
            "summary": "Send metered AI calls (ingest key, or an API token). A JSON array of events (or one object), or NDJSON with Content-Type application/x-ndjson; Content-Encoding gzip accepted; at most 10,000 events and 10 MiB (decompressed) per request. Answers after the commit; an event id is counted once ever.",
            "security": [{"ingest_key": []}, {"bearer": []}],
            "requestBody": {"required": true, "content": {
                "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/MeterEvent"}}},
                "application/x-ndjson": {"schema": {"type": "string"}}}},
            "responses": with_errors(json!({
                "200": {"description": "Stored: counts, and a message per rejected event", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "accepted": {"type": "integer"}, "duplicate": {"type": "integer"}, "rejected": {"type": "integer"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "message": {"type": "string"}}}}}}}}},
                "413": error_response("More than 10,000 events or 10 MiB."),
                "415": error_response("Not JSON or NDJSON, or an encoding other than gzip."),
                "503": error_response("Nothing was stored; retry after Retry-After seconds.")
            }))
        }},
        "/ingest-keys": {
            "get": {"summary": "Ingest keys (masked)", "responses": with_errors(json!({"200": {"description": "Keys", "content": {"application/json": {"schema": {"type": "object", "properties": {"ingest_keys": {"type": "array", "items": key_schema}}}}}}}))},
            "post": {"summary": "Create an ingest key; the secret is in this answer only (audited)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 80}}}}}},
                "responses": with_errors(json!({"201": {"description": "Created", "content": {"application/json": {"schema": with_secret}}}}))}
        },
        "/ingest-keys/{id}/regenerate": {"parameters": id, "post": {"summary": "A new secret; the old one stops working at once (audited)",
            "responses": with_errors(json!({"200": {"description": "Regenerated", "content": {"application/json": {"schema": with_secret}}}}))}},
        "/ingest-keys/{id}": {"parameters": id, "delete": {"summary": "Revoke: events sent with the key are refused from now on (audited)",
            "responses": with_errors(json!({"200": {"description": "Revoked"}}))}}
    });
    if let (Some(target), Some(paths)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        target.extend(paths.clone());
    }
    doc["components"]["securitySchemes"]["ingest_key"] = json!({"type": "http", "scheme": "bearer", "description": "An ingest key (sl_ingest_…) from the Connections page or `spendlens keys create`: it can only send events."});
    doc["components"]["schemas"]["MeterEvent"] = json!({
        "type": "object", "required": ["id", "time", "provider", "model"],
        "properties": {
            "id": {"type": "string", "maxLength": 255, "description": "Idempotency key: the same id is counted once, forever"},
            "time": {"type": "string", "format": "date-time"},
            "provider": {"type": "string"}, "model": {"type": "string"},
            "tokens": {"type": "object", "properties": {"input": {"type": "integer"}, "cache_read": {"type": "integer"}, "cache_write": {"type": "integer"}, "output": {"type": "integer"}, "reasoning": {"type": "integer"}, "total": {"type": "integer"}}},
            "input_includes_cache": {"type": "boolean"}, "output_includes_reasoning": {"type": "boolean"},
            "quantity": {"type": ["number", "string"]}, "unit": {"type": "string"},
            "cost": {"type": ["number", "string"], "description": "Provider-reported USD cost; wins over the catalog"},
            "latency_ms": {"type": "integer"}, "status": {"type": "string", "enum": ["ok", "error", "timeout"]},
            "api_key": {"type": "string", "description": "The provider key's hint or id (a full key is cut to a hint)"},
            "workspace": {"type": "string"}, "customer": {"type": "string"}, "subscriber": {"type": "string"},
            "product": {"type": "string"}, "agent": {"type": "string"}, "workflow": {"type": "string"},
            "trace_id": {"type": "string"}, "span_id": {"type": "string"},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_path_has_its_method() {
        let spec = spec();
        for (method, path) in PATHS {
            assert!(
                spec["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
    }
}
