//! The FOCUS export as Parquet: the CSV's columns in the CSV's order, each with the type its
//! cells carry there — text as `STRING`, money and quantities as `DECIMAL(38, 9)` (exact: a
//! nano-dollar is the CSV's finest digit), periods as UTC `TIMESTAMP` (microseconds), token and
//! request counts as `INT64`, `x_Estimated` as `BOOLEAN` — and a null wherever the CSV cell is
//! empty. Every value is read from the very cells the CSV writes ([`super::csv::records`]), so
//! the two files cannot disagree. Uncompressed, in row groups of at most 65,536 rows.

use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType, Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rust_decimal::Decimal;
use spendlens_domain::Day;

use super::csv::{COLUMNS, records};
use super::rows::FocusRow;

/// The scale of every decimal column: nine decimals, the nano-dollar.
pub const SCALE: u32 = 9;
/// Rows per row group.
const ROW_GROUP: usize = 65_536;

/// A column's Parquet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    /// DECIMAL(38, 9).
    Decimal,
    /// TIMESTAMP(MICROS, UTC).
    Timestamp,
    Int,
    Bool,
}

impl ColumnType {
    fn physical(self) -> &'static str {
        match self {
            ColumnType::Text => "BYTE_ARRAY",
            ColumnType::Decimal => "FIXED_LEN_BYTE_ARRAY (16)",
            ColumnType::Timestamp | ColumnType::Int => "INT64",
            ColumnType::Bool => "BOOLEAN",
        }
    }

    fn logical(self) -> &'static str {
        match self {
            ColumnType::Text => " (STRING)",
            ColumnType::Decimal => " (DECIMAL(38,9))",
            ColumnType::Timestamp => " (TIMESTAMP(MICROS,true))",
            ColumnType::Int | ColumnType::Bool => "",
        }
    }
}

/// The type of a FOCUS column (by its CSV header).
pub fn column_type(name: &str) -> ColumnType {
    match name {
        "BilledCost" | "ContractedCost" | "EffectiveCost" | "ListCost" | "ConsumedQuantity"
        | "PricingQuantity" | "x_MeteredCost" | "x_BilledCostInUsd" => ColumnType::Decimal,
        "BillingPeriodEnd" | "BillingPeriodStart" | "ChargePeriodEnd" | "ChargePeriodStart" => {
            ColumnType::Timestamp
        }
        "x_InputTokens"
        | "x_CacheReadTokens"
        | "x_CacheWriteTokens"
        | "x_OutputTokens"
        | "x_ReasoningTokens"
        | "x_Requests"
        | "x_RequestsWithoutUsage"
        | "x_UnpricedRequests" => ColumnType::Int,
        "x_Estimated" => ColumnType::Bool,
        _ => ColumnType::Text,
    }
}

/// The Parquet schema: every column optional (null where the CSV cell is empty).
pub fn schema() -> String {
    let mut message = String::from("message focus {\n");
    for name in COLUMNS {
        let kind = column_type(name);
        message.push_str(&format!(
            "  OPTIONAL {} {name}{};\n",
            kind.physical(),
            kind.logical()
        ));
    }
    message.push('}');
    message
}

/// Why the Parquet file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("the FOCUS column {column} holds \"{value}\", which is not {what}")]
    Value {
        column: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("writing Parquet failed: {0}")]
    Write(#[from] parquet::errors::ParquetError),
}

/// A decimal cell as the unscaled value at [`SCALE`], 16 bytes big-endian; never rounded.
fn decimal(column: &'static str, text: &str) -> Result<FixedLenByteArray, ParquetError> {
    let bad = |what| ParquetError::Value {
        column,
        value: text.to_owned(),
        what,
    };
    let mut value: Decimal = text.parse().map_err(|_| bad("a decimal"))?;
    let normalized = value.normalize();
    if normalized.scale() > SCALE {
        return Err(bad("exact at nine decimals"));
    }
    value = normalized;
    value.rescale(SCALE);
    if value.scale() != SCALE {
        return Err(bad("within DECIMAL(38, 9)"));
    }
    Ok(FixedLenByteArray::from(
        value.mantissa().to_be_bytes().to_vec(),
    ))
}

/// `2026-11-01T00:00:00Z` as microseconds since 1970-01-01 UTC.
fn timestamp(column: &'static str, text: &str) -> Result<i64, ParquetError> {
    let day: Option<Day> = text.strip_suffix("T00:00:00Z").and_then(|d| d.parse().ok());
    day.map(|d| i64::from(d.number()) * 86_400 * 1_000_000)
        .ok_or_else(|| ParquetError::Value {
            column,
            value: text.to_owned(),
            what: "a UTC midnight",
        })
}

/// A count written `12.0` in the CSV.
fn int(column: &'static str, text: &str) -> Result<i64, ParquetError> {
    text.strip_suffix(".0")
        .unwrap_or(text)
        .parse()
        .map_err(|_| ParquetError::Value {
            column,
            value: text.to_owned(),
            what: "a whole number",
        })
}

fn boolean(column: &'static str, text: &str) -> Result<bool, ParquetError> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ParquetError::Value {
            column,
            value: text.to_owned(),
            what: "true or false",
        }),
    }
}

/// One column's non-null values and its definition levels (1: a value, 0: null).
fn levels<'a, T>(
    cells: impl Iterator<Item = &'a str>,
    mut parse: impl FnMut(&'a str) -> Result<T, ParquetError>,
) -> Result<(Vec<T>, Vec<i16>), ParquetError> {
    let mut values = Vec::new();
    let mut defined = Vec::new();
    for cell in cells {
        if cell.is_empty() {
            defined.push(0);
        } else {
            values.push(parse(cell)?);
            defined.push(1);
        }
    }
    Ok((values, defined))
}

/// Writes the export as Parquet.
pub fn write_parquet(rows: &[FocusRow]) -> Result<Vec<u8>, ParquetError> {
    let schema = Arc::new(parse_message_type(&schema())?);
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .set_created_by("spendlens FOCUS 1.2 export".to_owned())
            .build(),
    );
    let mut bytes = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut bytes, schema, properties)?;
    let cells = records(rows);
    for group in cells.chunks(ROW_GROUP) {
        let mut row_group = writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = row_group.next_column()? {
            let name: &'static str = COLUMNS.get(index).copied().unwrap_or("?");
            let cells = group
                .iter()
                .map(|record| record.get(index).map_or("", String::as_str));
            match column_type(name) {
                ColumnType::Text => {
                    let (values, defined) =
                        levels(cells, |c| Ok(ByteArray::from(c.as_bytes().to_vec())))?;
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&defined), None)?;
                }
                ColumnType::Decimal => {
                    let (values, defined) = levels(cells, |c| decimal(name, c))?;
                    column.typed::<FixedLenByteArrayType>().write_batch(
                        &values,
                        Some(&defined),
                        None,
                    )?;
                }
                ColumnType::Timestamp => {
                    let (values, defined) = levels(cells, |c| timestamp(name, c))?;
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&defined), None)?;
                }
                ColumnType::Int => {
                    let (values, defined) = levels(cells, |c| int(name, c))?;
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&defined), None)?;
                }
                ColumnType::Bool => {
                    let (values, defined) = levels(cells, |c| boolean(name, c))?;
                    column
                        .typed::<BoolType>()
                        .write_batch(&values, Some(&defined), None)?;
                }
            }
            column.close()?;
            index += 1;
        }
        row_group.close()?;
    }
    writer.close()?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_at_nine_places_or_refused() {
        let cell = decimal("BilledCost", "-1.250000001").unwrap();
        let raw: [u8; 16] = cell.data().try_into().unwrap();
        assert_eq!(i128::from_be_bytes(raw), -1_250_000_001);
        let cell = decimal("ConsumedQuantity", "5000.0").unwrap();
        let raw: [u8; 16] = cell.data().try_into().unwrap();
        assert_eq!(i128::from_be_bytes(raw), 5_000_000_000_000);
        assert!(decimal("ConsumedQuantity", "0.0000000001").is_err());
        assert!(decimal("BilledCost", "abc").is_err());
    }

    #[test]
    fn periods_counts_and_flags_read_as_the_csv_writes_them() {
        assert_eq!(
            timestamp("ChargePeriodStart", "1970-01-02T00:00:00Z").unwrap(),
            86_400_000_000
        );
        assert!(timestamp("ChargePeriodStart", "1970-01-02").is_err());
        assert_eq!(int("x_Requests", "12.0").unwrap(), 12);
        assert!(int("x_Requests", "1.5").is_err());
        assert!(boolean("x_Estimated", "true").unwrap());
    }

    #[test]
    fn every_column_has_a_type_and_the_schema_parses() {
        let message = schema();
        assert_eq!(message.matches("OPTIONAL").count(), COLUMNS.len());
        assert!(message.contains("OPTIONAL FIXED_LEN_BYTE_ARRAY (16) BilledCost (DECIMAL(38,9));"));
        assert!(message.contains("OPTIONAL INT64 ChargePeriodStart (TIMESTAMP(MICROS,true));"));
        assert!(message.contains("OPTIONAL BOOLEAN x_Estimated;"));
        parse_message_type(&message).unwrap();
    }
}
