//! Laid-out pages written as a PDF with krilla: the fonts embedded as subsets (text stays
//! selectable and extractable), metadata (title, author, creation date) from the document.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::TextDirection;

use crate::RenderError;
use crate::doc::Doc;
use crate::fonts::{Fonts, Measure};
use crate::layout::{Op, PAGE_H, PAGE_W, Rgb, layout};

fn fill(color: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(color.0, color.1, color.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn creation_date(at: time::OffsetDateTime) -> DateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    DateTime::new(u16::try_from(at.year()).unwrap_or(1970))
        .month(u8::from(at.month()))
        .day(at.day())
        .hour(at.hour())
        .minute(at.minute())
        .second(at.second())
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// The document as PDF bytes.
pub fn render(doc: &Doc) -> Result<Vec<u8>, RenderError> {
    let measure = Measure::new()?;
    let fonts = Fonts::load()?;
    let pages = layout(doc, &measure);
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .description(doc.subtitle.clone())
            .authors(vec![doc.author.clone()])
            .creator("spendlens".to_owned())
            .producer("spendlens (krilla)".to_owned())
            .language("en".to_owned())
            .creation_date(creation_date(doc.generated_at)),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| RenderError::Pdf("page size".to_owned()))?;
    for page in &pages {
        let mut pdf_page = document.start_page_with(settings.clone());
        let mut surface = pdf_page.surface();
        for op in &page.ops {
            match op {
                Op::Rect { x, y, w, h, color } => {
                    let Some(rect) = Rect::from_xywh(*x, *y, w.max(0.1), h.max(0.1)) else {
                        continue;
                    };
                    let mut path = PathBuilder::new();
                    path.push_rect(rect);
                    if let Some(path) = path.finish() {
                        surface.set_fill(Some(fill(*color)));
                        surface.draw_path(&path);
                    }
                }
                Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    color,
                    text,
                } => {
                    if text.is_empty() {
                        continue;
                    }
                    surface.set_fill(Some(fill(*color)));
                    let font = if *bold { &fonts.bold } else { &fonts.regular };
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
            }
        }
        surface.finish();
        pdf_page.finish();
    }
    document
        .finish()
        .map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use spendlens_query::chargeback::table::{Align, Cell, Column, Table};

    use super::*;
    use crate::doc::{BarChart, Block};

    fn sample(rows: usize) -> Doc {
        let columns = vec![
            Column {
                key: "label",
                title: "Customer",
                align: Align::Left,
                width: 3.0,
            },
            Column {
                key: "net_usd",
                title: "Net cost",
                align: Align::Right,
                width: 1.0,
            },
        ];
        Doc {
            title: "Chargeback report".to_owned(),
            subtitle: "All customers".to_owned(),
            cover: vec![("Period".to_owned(), "2026-11-01 to 2026-11-30".to_owned())],
            alert: Some("AUDIT CHAIN BROKEN at entry 7".to_owned()),
            footer: "spendlens test".to_owned(),
            author: "admin@example.com".to_owned(),
            generated_at: time::macros::datetime!(2026-12-01 06:00 UTC),
            blocks: vec![
                Block::Heading("Customer summary".to_owned()),
                Block::Chart(BarChart {
                    title: "Net cost per day".to_owned(),
                    unit: "day".to_owned(),
                    bars: (0..30)
                        .map(|i| (format!("11-{:02}", i + 1), i * 1234))
                        .collect(),
                }),
                Block::Table(Table {
                    id: "customers",
                    title: "Customer summary".to_owned(),
                    note: "Metered calls per customer.".to_owned(),
                    columns,
                    rows: (0..rows)
                        .map(|i| {
                            vec![
                                Cell::Text(format!("customer-{i:03}")),
                                Cell::Money(i as i64 * 101),
                            ]
                        })
                        .collect(),
                    total: Some(vec![Cell::Text("Total".to_owned()), Cell::Money(12345)]),
                }),
            ],
        }
    }

    #[test]
    fn a_long_table_breaks_across_pages_with_its_header_repeated_and_every_page_numbered() {
        let doc = sample(120);
        let pages = layout(&doc, &Measure::new().unwrap());
        assert!(pages.len() >= 4, "{} pages", pages.len());
        let n = pages.len();
        for (i, page) in pages.iter().enumerate() {
            let texts = page.texts();
            assert!(texts.contains(&format!("Page {} of {n}", i + 1).as_str()));
            assert!(texts.iter().any(|t| t.contains("AUDIT CHAIN BROKEN")));
            if i >= 2 {
                assert!(texts.contains(&"Customer summary (continued)"), "page {i}");
                assert!(texts.contains(&"Net cost"), "page {i}");
            }
        }
        let all: Vec<&str> = pages.iter().flat_map(|p| p.texts()).collect();
        for i in 0..120 {
            let name = format!("customer-{i:03}");
            assert_eq!(all.iter().filter(|t| **t == name).count(), 1, "{name}");
        }
    }

    #[test]
    fn the_pdf_embeds_its_fonts_and_says_what_it_is() {
        let bytes = render(&sample(40)).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("DejaVuSans"), "font named");
        assert!(text.contains("/FontFile2"), "TrueType program embedded");
        if let Ok(path) = std::env::var("SPENDLENS_PDF_SAMPLE") {
            std::fs::write(path, &bytes).unwrap();
        }
    }
}
