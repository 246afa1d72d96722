//! Stored reports (migration 0020): chargeback and compliance documents, kept exactly as
//! generated. A request inserts a `building` row — or joins the identical one already building
//! (a partial unique index makes two concurrent requests one build) —; the builder then stores
//! the PDF, CSV and JSON with the SHA-256 of each and marks it `ready` (or `failed`), after
//! which the table's trigger refuses every UPDATE. Reads check the stored hash before handing
//! a file out; a row can only be deleted.

use serde::Serialize;
use sha2::{Digest, Sha256};
use spendlens_domain::{Day, DayRange};
use time::OffsetDateTime;

use crate::audit::{Actor, audit_actor, audit_change, lock_org};
use crate::{OrgId, RowExt, Store, StoreError, StoreResult, from_millis, millis, with_pool};

/// What a stored report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Chargeback,
    Soc2,
    Hipaa,
    Gdpr,
}

impl ReportKind {
    pub const ALL: [ReportKind; 4] = [
        ReportKind::Chargeback,
        ReportKind::Soc2,
        ReportKind::Hipaa,
        ReportKind::Gdpr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Chargeback => "chargeback",
            ReportKind::Soc2 => "soc2",
            ReportKind::Hipaa => "hipaa",
            ReportKind::Gdpr => "gdpr",
        }
    }

    pub fn parse(text: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// As a reader names it.
    pub fn title(self) -> &'static str {
        match self {
            ReportKind::Chargeback => "Chargeback",
            ReportKind::Soc2 => "SOC 2 Type II evidence",
            ReportKind::Hipaa => "HIPAA evidence",
            ReportKind::Gdpr => "GDPR evidence",
        }
    }

    /// Compliance reports are a PDF and JSON; chargebacks have a CSV too.
    pub fn has_csv(self) -> bool {
        self == ReportKind::Chargeback
    }
}

/// Where a stored report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Building,
    Ready,
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Building => "building",
            ReportStatus::Ready => "ready",
            ReportStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> StoreResult<ReportStatus> {
        match text {
            "building" => Ok(ReportStatus::Building),
            "ready" => Ok(ReportStatus::Ready),
            "failed" => Ok(ReportStatus::Failed),
            other => Err(StoreError::Corrupt(format!("report status \"{other}\""))),
        }
    }
}

/// A downloadable form of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Pdf,
    Csv,
    Json,
}

impl ReportFormat {
    pub fn parse(text: &str) -> Option<ReportFormat> {
        match text {
            "pdf" => Some(ReportFormat::Pdf),
            "csv" => Some(ReportFormat::Csv),
            "json" => Some(ReportFormat::Json),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Pdf => "pdf",
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
        }
    }

    fn column(self) -> &'static str {
        self.as_str()
    }
}

/// A report asked for.
#[derive(Clone, Debug)]
pub struct NewReport<'a> {
    pub kind: ReportKind,
    /// `all`, `customer:NAME`, `workspace:NAME` (chargeback) or `organization` (compliance).
    pub scope: &'a str,
    pub period: DayRange,
    pub schedule_id: Option<i64>,
}

/// A stored report, without its files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportDocumentRow {
    pub id: i64,
    pub kind: ReportKind,
    pub scope: String,
    pub period_from: Day,
    pub period_to: Day,
    pub status: ReportStatus,
    pub requested_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub generated_at: Option<OffsetDateTime>,
    pub error: Option<String>,
    pub pdf_sha256: Option<String>,
    pub csv_sha256: Option<String>,
    pub json_sha256: Option<String>,
    /// SHA-256 of the three files' hex hashes joined by newlines (pdf, csv or empty, json).
    pub content_sha256: Option<String>,
    pub pdf_bytes: i64,
    pub csv_bytes: i64,
    pub json_bytes: i64,
    pub schedule_id: Option<i64>,
}

/// A generated report's files.
#[derive(Clone, Debug)]
pub struct ReportFiles {
    pub pdf: Vec<u8>,
    pub csv: Option<Vec<u8>>,
    pub json: Vec<u8>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content hash of a report from its files' hashes.
pub fn content_sha256(pdf: &str, csv: Option<&str>, json: &str) -> String {
    sha256_hex(format!("{pdf}\n{}\n{json}", csv.unwrap_or("")).as_bytes())
}

const COLUMNS: &str = "id, kind, scope, period_from, period_to, status, requested_by, requested_at, \
    generated_at, error, pdf_sha256, csv_sha256, json_sha256, content_sha256, \
    CAST(COALESCE(LENGTH(pdf), 0) AS BIGINT) AS pdf_bytes, CAST(COALESCE(LENGTH(csv), 0) AS BIGINT) AS csv_bytes, \
    CAST(COALESCE(LENGTH(json), 0) AS BIGINT) AS json_bytes, schedule_id";

fn day(n: i64) -> StoreResult<Day> {
    i32::try_from(n)
        .ok()
        .and_then(|n| Day::from_number(n).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("report day {n}")))
}

macro_rules! row_of {
    ($row:expr) => {{
        let row = $row;
        let kind = row.text("kind")?;
        Ok::<ReportDocumentRow, StoreError>(ReportDocumentRow {
            id: row.int("id")?,
            kind: ReportKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("report kind \"{kind}\"")))?,
            scope: row.text("scope")?,
            period_from: day(row.int("period_from")?)?,
            period_to: day(row.int("period_to")?)?,
            status: ReportStatus::parse(&row.text("status")?)?,
            requested_by: row.text("requested_by")?,
            requested_at: from_millis(row.int("requested_at")?),
            generated_at: row.opt_int("generated_at")?.map(from_millis),
            error: row.opt_text("error")?,
            pdf_sha256: row.opt_text("pdf_sha256")?,
            csv_sha256: row.opt_text("csv_sha256")?,
            json_sha256: row.opt_text("json_sha256")?,
            content_sha256: row.opt_text("content_sha256")?,
            pdf_bytes: row.int("pdf_bytes")?,
            csv_bytes: row.int("csv_bytes")?,
            json_bytes: row.int("json_bytes")?,
            schedule_id: row.opt_int("schedule_id")?,
        })
    }};
}

impl Store {
    /// Inserts a `building` report requested by `actor`, or finds the identical one already
    /// building. Returns the row and whether this call created it. A created one is audited as
    /// `actor`'s (`report.generate`, `report <id>`, `<kind> · <scope> · <from> to <to>`) in
    /// the same transaction.
    pub async fn request_report(
        &self,
        org: OrgId,
        new: &NewReport<'_>,
        actor: Actor<'_>,
    ) -> StoreResult<(ReportDocumentRow, bool)> {
        let from = i64::from(new.period.from().number());
        let to = i64::from(new.period.to().number());
        let detail = format!(
            "{} · {} · {} to {}",
            new.kind.as_str(),
            new.scope,
            new.period.from(),
            new.period.to()
        );
        let inserted: Option<i64> = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            lock_org!(tx, org);
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO report_documents (org_id, kind, scope, period_from, period_to, status, requested_by, requested_at, schedule_id) \
                 VALUES ($1, $2, $3, $4, $5, 'building', $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(org.0)
            .bind(new.kind.as_str())
            .bind(new.scope)
            .bind(from)
            .bind(to)
            .bind(actor.name)
            .bind(millis(actor.at))
            .bind(new.schedule_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = inserted {
                audit_actor!(tx, org, actor, "report.generate", &format!("report {id}"), &detail);
                tx.commit().await?;
            }
            inserted
        });
        let (id, created) = match inserted {
            Some(id) => (id, true),
            None => {
                let id: Option<i64> = with_pool!(self, pool => {
                    sqlx::query_scalar(
                        "SELECT id FROM report_documents WHERE org_id = $1 AND kind = $2 AND scope = $3 \
                         AND period_from = $4 AND period_to = $5 AND status = 'building'",
                    )
                    .bind(org.0)
                    .bind(new.kind.as_str())
                    .bind(new.scope)
                    .bind(from)
                    .bind(to)
                    .fetch_optional(pool)
                    .await?
                });
                let id = id.ok_or_else(|| {
                    StoreError::Conflict(
                        "the identical report finished while this request was made; ask again"
                            .to_owned(),
                    )
                })?;
                (id, false)
            }
        };
        let row = self
            .report_document(org, id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("report {id}"),
            })?;
        Ok((row, created))
    }

    /// Stores a built report's files and marks it ready. `false` when the row is gone
    /// (deleted while it was building) or no longer building.
    pub async fn finish_report(
        &self,
        org: OrgId,
        id: i64,
        files: &ReportFiles,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let pdf_hash = sha256_hex(&files.pdf);
        let csv_hash = files.csv.as_deref().map(sha256_hex);
        let json_hash = sha256_hex(&files.json);
        let content = content_sha256(&pdf_hash, csv_hash.as_deref(), &json_hash);
        let done = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE report_documents SET status = 'ready', generated_at = $3, pdf = $4, csv = $5, json = $6, \
                 pdf_sha256 = $7, csv_sha256 = $8, json_sha256 = $9, content_sha256 = $10 \
                 WHERE org_id = $1 AND id = $2 AND status = 'building'",
            )
            .bind(org.0)
            .bind(id)
            .bind(millis(now))
            .bind(&files.pdf)
            .bind(files.csv.as_deref())
            .bind(&files.json)
            .bind(&pdf_hash)
            .bind(csv_hash.as_deref())
            .bind(&json_hash)
            .bind(&content)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Marks a building report failed, saying why.
    pub async fn fail_report(
        &self,
        org: OrgId,
        id: i64,
        error: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let error: String = error.chars().take(2000).collect();
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE report_documents SET status = 'failed', generated_at = $3, error = $4 \
                 WHERE org_id = $1 AND id = $2 AND status = 'building'",
            )
            .bind(org.0)
            .bind(id)
            .bind(millis(now))
            .bind(&error)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Fails reports still building since before `before` (their server stopped).
    pub async fn fail_stalled_reports(
        &self,
        org: OrgId,
        before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query(
                "UPDATE report_documents SET status = 'failed', generated_at = $3, \
                 error = 'the server building it stopped before it finished; generate it again' \
                 WHERE org_id = $1 AND status = 'building' AND requested_at < $2",
            )
            .bind(org.0)
            .bind(millis(before))
            .bind(millis(now))
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Stored reports, newest first, of one kind or all.
    pub async fn report_documents(
        &self,
        org: OrgId,
        kind: Option<ReportKind>,
        limit: i64,
    ) -> StoreResult<Vec<ReportDocumentRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM report_documents WHERE org_id = $1 AND ($2 = '' OR kind = $2) \
             ORDER BY id DESC LIMIT {}",
            limit.clamp(1, 1000)
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(kind.map_or("", ReportKind::as_str))
                .fetch_all(pool)
                .await?;
            rows.iter().map(|row| row_of!(row)).collect()
        })
    }

    /// One stored report.
    pub async fn report_document(
        &self,
        org: OrgId,
        id: i64,
    ) -> StoreResult<Option<ReportDocumentRow>> {
        let sql = format!("SELECT {COLUMNS} FROM report_documents WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(|row| row_of!(row)).transpose()
        })
    }

    /// One file of a ready report, checked against its stored hash (`None`: the report has
    /// no such file).
    pub async fn report_file(
        &self,
        org: OrgId,
        id: i64,
        format: ReportFormat,
    ) -> StoreResult<Option<Vec<u8>>> {
        let sql = format!(
            "SELECT {col}, {col}_sha256 FROM report_documents WHERE org_id = $1 AND id = $2",
            col = format.column()
        );
        let row: Option<(Option<Vec<u8>>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(org.0)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some((Some(bytes), Some(hash))) => {
                if sha256_hex(&bytes) != hash {
                    return Err(StoreError::Corrupt(format!(
                        "report {id}'s {} does not match its stored SHA-256; it was altered",
                        format.as_str()
                    )));
                }
                Ok(Some(bytes))
            }
            _ => Ok(None),
        }
    }

    /// Deletes a stored report; the row as it was, or `None` when there was none.
    /// Deletes a stored report, audited as `actor`'s (`report.delete`, with the content's
    /// hash) in the same transaction. `None` when there is none.
    pub async fn delete_report(
        &self,
        org: OrgId,
        id: i64,
        actor: Actor<'_>,
    ) -> StoreResult<Option<ReportDocumentRow>> {
        let Some(row) = self.report_document(org, id).await? else {
            return Ok(None);
        };
        let subject = format!("report {id}");
        let detail = format!(
            "{} · {} · {} to {} · {} · content sha256 {}",
            row.kind.as_str(),
            row.scope,
            row.period_from,
            row.period_to,
            row.status.as_str(),
            row.content_sha256.as_deref().unwrap_or("none")
        );
        let gone = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            audit_change!(tx, org, actor, "report.delete", &subject, &detail);
            let gone = sqlx::query("DELETE FROM report_documents WHERE org_id = $1 AND id = $2")
                .bind(org.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone == 1 {
                tx.commit().await?;
            }
            gone
        });
        Ok((gone == 1).then_some(row))
    }
}
