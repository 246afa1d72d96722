//! Pages from a [`Doc`]: positions computed from the font's own advances, tables broken across
//! pages with their title and header repeated, headings kept with what follows, and every
//! page's footer ("Page i of n", and the alert when there is one). Pure: the PDF writer only
//! draws the [`Op`]s.

use spendlens_domain::display::{format_money, group_thousands};
use spendlens_query::chargeback::table::{Align, Cell, Table};

use crate::doc::{BarChart, Block, Doc};
use crate::fonts::Measure;

/// A4 landscape, in points.
pub const PAGE_W: f32 = 842.0;
pub const PAGE_H: f32 = 595.0;
const MARGIN: f32 = 40.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// The lowest baseline content may use; the footer sits below.
const BOTTOM: f32 = PAGE_H - 52.0;

pub type Rgb = (u8, u8, u8);
pub const BLACK: Rgb = (20, 20, 20);
pub const GREY: Rgb = (100, 100, 100);
pub const RED: Rgb = (190, 0, 0);
pub const GREEN: Rgb = (0, 110, 40);
pub const WHITE: Rgb = (255, 255, 255);
const RULE: Rgb = (200, 200, 200);
const HEADER_BG: Rgb = (232, 236, 242);
const BAR: Rgb = (60, 110, 180);

/// One drawing operation; y grows downwards from the page's top, text at its baseline.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Rgb,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
}

/// A laid-out page.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub ops: Vec<Op>,
}

impl Page {
    /// The page's text, line by line in drawing order (for tests).
    pub fn texts(&self) -> Vec<&str> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                Op::Rect { .. } => None,
            })
            .collect()
    }
}

struct Flow<'a> {
    m: &'a Measure,
    pages: Vec<Page>,
    y: f32,
}

impl Flow<'_> {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn need(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, color: Rgb, text: impl Into<String>) {
        let y = self.y;
        self.page().ops.push(Op::Text {
            x,
            y,
            size,
            bold,
            color,
            text: text.into(),
        });
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.page().ops.push(Op::Rect { x, y, w, h, color });
    }

    fn paragraph(&mut self, text: &str, size: f32, color: Rgb) {
        let line_h = size * 1.45;
        for line in self.m.wrap(text, size, false, CONTENT_W) {
            self.need(line_h);
            self.y += line_h;
            self.text(MARGIN, size, false, color, line);
        }
        self.y += size * 0.6;
    }

    fn boxed(&mut self, text: &str, bg: Rgb) {
        let size = 10.0;
        let lines = self.m.wrap(text, size, true, CONTENT_W - 20.0);
        let h = lines.len() as f32 * size * 1.45 + 14.0;
        self.need(h + 8.0);
        let top = self.y + 4.0;
        self.rect(MARGIN, top, CONTENT_W, h, bg);
        self.y = top + 7.0;
        for line in lines {
            self.y += size * 1.45;
            self.text(MARGIN + 10.0, size, true, WHITE, line);
        }
        self.y = top + h + 10.0;
    }

    fn facts(&mut self, facts: &[(String, String)], size: f32) {
        let label_w = facts
            .iter()
            .map(|(l, _)| self.m.width(l, size, true))
            .fold(0.0, f32::max)
            + 14.0;
        for (label, value) in facts {
            let lines = self
                .m
                .wrap(value, size, false, CONTENT_W - label_w)
                .into_iter()
                .collect::<Vec<_>>();
            let line_h = size * 1.5;
            self.need(line_h * lines.len().max(1) as f32);
            self.y += line_h;
            self.text(MARGIN, size, true, BLACK, label.clone());
            for (i, line) in lines.into_iter().enumerate() {
                if i > 0 {
                    self.y += line_h;
                }
                self.text(MARGIN + label_w, size, false, BLACK, line);
            }
        }
        self.y += size;
    }

    fn heading(&mut self, text: &str) {
        // Kept with at least a few lines of what follows.
        self.need(26.0 + 60.0);
        self.y += 22.0;
        self.text(MARGIN, 14.0, true, BLACK, text.to_owned());
        self.y += 8.0;
    }

    fn table(&mut self, table: &Table) {
        const SIZE: f32 = 7.5;
        const ROW_H: f32 = 12.5;
        let weights: f32 = table.columns.iter().map(|c| c.width).sum();
        let widths: Vec<f32> = table
            .columns
            .iter()
            .map(|c| CONTENT_W * c.width / weights.max(0.1))
            .collect();
        let header = |flow: &mut Flow<'_>, continued: bool| {
            if continued {
                flow.y += 12.0;
                flow.text(
                    MARGIN,
                    9.0,
                    true,
                    GREY,
                    format!("{} (continued)", table.title),
                );
                flow.y += 4.0;
            }
            let top = flow.y;
            flow.rect(MARGIN, top, CONTENT_W, ROW_H + 2.0, HEADER_BG);
            flow.y = top + ROW_H - 2.5;
            flow.cells(
                &table
                    .columns
                    .iter()
                    .map(|c| Cell::Text(c.title.to_owned()))
                    .collect::<Vec<_>>(),
                table,
                &widths,
                SIZE,
                true,
                BLACK,
            );
            flow.y = top + ROW_H + 2.0;
        };
        self.need(ROW_H * 4.0);
        header(self, false);
        if table.rows.is_empty() {
            self.y += ROW_H;
            // Summaries (with a total) are empty for the period; lists (users, tokens) are empty.
            let empty = if table.total.is_some() {
                "No rows for this period and scope."
            } else {
                "None."
            };
            self.text(MARGIN + 3.0, SIZE, false, GREY, empty);
        }
        for (i, row) in table.rows.iter().enumerate() {
            if self.y + ROW_H > BOTTOM {
                self.new_page();
                header(self, true);
            }
            if i % 2 == 1 {
                let y = self.y + 2.5;
                self.rect(MARGIN, y, CONTENT_W, ROW_H, (246, 247, 249));
            }
            self.y += ROW_H;
            self.cells(row, table, &widths, SIZE, false, BLACK);
        }
        if let Some(total) = &table.total {
            if self.y + ROW_H + 4.0 > BOTTOM {
                self.new_page();
                header(self, true);
            }
            let y = self.y + 3.0;
            self.rect(MARGIN, y, CONTENT_W, 0.8, GREY);
            self.y += ROW_H + 1.0;
            self.cells(total, table, &widths, SIZE, true, BLACK);
        }
        self.y += 6.0;
        let _ = RULE;
    }

    fn cells(
        &mut self,
        cells: &[Cell],
        table: &Table,
        widths: &[f32],
        size: f32,
        bold: bool,
        color: Rgb,
    ) {
        let mut x = MARGIN;
        for ((cell, column), width) in cells.iter().zip(&table.columns).zip(widths) {
            let text = match cell {
                Cell::Text(t) => t.clone(),
                Cell::Money(cents) => format_money(*cents, "USD"),
                Cell::Count(Some(n)) => group_thousands(*n),
                Cell::Count(None) | Cell::NotAvailable => "N/A".to_owned(),
            };
            let text = self.m.fit(&text, size, bold, width - 6.0);
            let at = match column.align {
                Align::Left => x + 3.0,
                Align::Right => x + width - 3.0 - self.m.width(&text, size, bold),
            };
            self.text(at, size, bold, color, text);
            x += width;
        }
    }

    fn chart(&mut self, chart: &BarChart) {
        const H: f32 = 150.0;
        self.need(H + 50.0);
        self.y += 12.0;
        self.text(MARGIN, 9.0, true, BLACK, chart.title.clone());
        self.y += 8.0;
        if chart.bars.is_empty() {
            self.y += 12.0;
            self.text(
                MARGIN,
                8.0,
                false,
                GREY,
                "No spend to chart in this period.",
            );
            self.y += 8.0;
            return;
        }
        let max = chart.bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(0);
        let min = chart.bars.iter().map(|(_, v)| *v).min().unwrap_or(0).min(0);
        let span = (max - min).max(1) as f32;
        let axis_w = 62.0;
        let left = MARGIN + axis_w;
        let width = CONTENT_W - axis_w;
        let top = self.y;
        let zero_y = top + H * (max as f32 / span);
        // Axis labels: the largest bar and zero.
        self.y = top + 4.0;
        self.text(MARGIN, 7.0, false, GREY, format_money(max, "USD"));
        self.y = zero_y + 3.0;
        self.text(MARGIN, 7.0, false, GREY, format_money(0, "USD"));
        if min < 0 {
            self.y = top + H;
            self.text(MARGIN, 7.0, false, GREY, format_money(min, "USD"));
        }
        self.rect(left, top, 0.6, H, GREY);
        self.rect(left, zero_y, width, 0.6, GREY);
        let n = chart.bars.len() as f32;
        let slot = width / n;
        let bar_w = (slot * 0.75).max(0.5);
        let every = (chart.bars.len() / 16).max(1);
        for (i, (label, value)) in chart.bars.iter().enumerate() {
            let x = left + slot * i as f32 + (slot - bar_w) / 2.0;
            let h = H * (value.unsigned_abs() as f32) / span;
            let y = if *value >= 0 { zero_y - h } else { zero_y };
            if h > 0.0 {
                self.rect(x, y, bar_w, h, BAR);
            }
            if i % every == 0 {
                self.y = top + H + 11.0;
                let w = self.m.width(label, 6.5, false);
                self.text(x + bar_w / 2.0 - w / 2.0, 6.5, false, GREY, label.clone());
            }
        }
        self.y = top + H + 22.0;
    }
}

/// Lays out a document: the cover, then the blocks, then every page's footer.
pub fn layout(doc: &Doc, m: &Measure) -> Vec<Page> {
    let mut flow = Flow {
        m,
        pages: vec![Page::default()],
        y: MARGIN,
    };
    // Cover.
    flow.y = 120.0;
    flow.text(MARGIN, 26.0, true, BLACK, doc.title.clone());
    flow.y += 26.0;
    flow.text(MARGIN, 12.0, false, GREY, doc.subtitle.clone());
    flow.y += 24.0;
    if let Some(alert) = &doc.alert {
        flow.boxed(alert, RED);
    }
    flow.facts(&doc.cover, 11.0);
    // Contents: the headings, in order.
    let headings: Vec<&str> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading(h) => Some(h.as_str()),
            _ => None,
        })
        .collect();
    if !headings.is_empty() {
        flow.y += 6.0;
        flow.text(MARGIN, 10.0, true, GREY, "Contents");
        flow.y += 2.0;
        for (i, h) in headings.iter().enumerate() {
            flow.y += 13.0;
            flow.text(MARGIN + 10.0, 9.0, false, GREY, format!("{}. {h}", i + 1));
        }
    }
    flow.new_page();
    let mut numbered = 0;
    for block in &doc.blocks {
        match block {
            Block::Heading(h) => {
                numbered += 1;
                flow.heading(&format!("{numbered}. {h}"));
            }
            Block::Paragraph(p) => flow.paragraph(p, 8.5, BLACK),
            Block::Facts(f) => flow.facts(f, 8.5),
            Block::Table(t) => {
                if !t.note.is_empty() {
                    flow.paragraph(&t.note, 8.0, GREY);
                }
                flow.table(t);
            }
            Block::Chart(c) => flow.chart(c),
            Block::Alert(a) => flow.boxed(a, RED),
            Block::Ok(a) => flow.boxed(a, GREEN),
            Block::PageBreak => flow.new_page(),
        }
    }
    let mut pages = flow.pages;
    let count = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let number = format!("Page {} of {count}", i + 1);
        let footer_y = PAGE_H - 24.0;
        page.ops.push(Op::Rect {
            x: MARGIN,
            y: footer_y - 12.0,
            w: CONTENT_W,
            h: 0.5,
            color: RULE,
        });
        page.ops.push(Op::Text {
            x: MARGIN,
            y: footer_y,
            size: 7.5,
            bold: false,
            color: GREY,
            text: m.fit(&doc.footer, 7.5, false, CONTENT_W * 0.6),
        });
        page.ops.push(Op::Text {
            x: PAGE_W - MARGIN - m.width(&number, 7.5, false),
            y: footer_y,
            size: 7.5,
            bold: false,
            color: GREY,
            text: number,
        });
        if let Some(alert) = &doc.alert {
            page.ops.push(Op::Text {
                x: MARGIN,
                y: footer_y + 11.0,
                size: 7.5,
                bold: true,
                color: RED,
                text: m.fit(alert, 7.5, true, CONTENT_W),
            });
        }
    }
    pages
}
