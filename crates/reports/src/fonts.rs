//! The embedded fonts (DejaVu Sans and DejaVu Sans Bold, Bitstream Vera license in
//! `fonts/LICENSE-DejaVu.txt`) and text measuring from their own glyph advances, so layout knows
//! how wide a string prints.

use krilla::text::Font;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::RenderError;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Measures text in points at a size.
#[derive(Clone)]
pub struct Measure {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Measure {
    pub fn new() -> Result<Measure, RenderError> {
        Ok(Measure {
            regular: FontRef::new(REGULAR).map_err(|_| RenderError::Font("DejaVuSans.ttf"))?,
            bold: FontRef::new(BOLD).map_err(|_| RenderError::Font("DejaVuSans-Bold.ttf"))?,
        })
    }

    /// The advance width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let font = if bold { &self.bold } else { &self.regular };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(size * 0.6)
            })
            .sum()
    }

    /// `text` cut with an ellipsis to fit `max` points.
    pub fn fit(&self, text: &str, size: f32, bold: bool, max: f32) -> String {
        if self.width(text, size, bold) <= max {
            return text.to_owned();
        }
        let mut out: String = text.to_owned();
        while !out.is_empty() {
            out.pop();
            let candidate = format!("{}…", out.trim_end());
            if self.width(&candidate, size, bold) <= max {
                return candidate;
            }
        }
        String::new()
    }

    /// `text` broken into lines of at most `max` points (at spaces; a word longer than a line
    /// is cut).
    pub fn wrap(&self, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size, bold) <= max || line.is_empty() {
                line = if self.width(&candidate, size, bold) <= max {
                    candidate
                } else {
                    self.fit(word, size, bold, max)
                };
            } else {
                lines.push(std::mem::take(&mut line));
                line = self.fit(word, size, bold, max);
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// The fonts as krilla embeds them.
#[derive(Clone, Debug)]
pub struct Fonts {
    pub regular: Font,
    pub bold: Font,
}

impl Fonts {
    pub fn load() -> Result<Fonts, RenderError> {
        let load =
            |bytes: &'static [u8], name| Font::new(bytes.into(), 0).ok_or(RenderError::Font(name));
        Ok(Fonts {
            regular: load(REGULAR, "DejaVuSans.ttf")?,
            bold: load(BOLD, "DejaVuSans-Bold.ttf")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_tabular_and_bold_is_wider() {
        let m = Measure::new().unwrap();
        let one = m.width("1111", 10.0, false);
        let eight = m.width("8888", 10.0, false);
        assert!((one - eight).abs() < 0.01, "{one} vs {eight}");
        assert!(m.width("Total", 10.0, true) > m.width("Total", 10.0, false));
    }

    #[test]
    fn long_text_is_cut_to_fit_and_wrapped_at_spaces() {
        let m = Measure::new().unwrap();
        let cut = m.fit("a very long customer name indeed", 8.0, false, 60.0);
        assert!(cut.ends_with('…'));
        assert!(m.width(&cut, 8.0, false) <= 60.0);
        let lines = m.wrap("one two three four five six seven", 8.0, false, 50.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "one two three four five six seven");
    }
}
