//! Plain-text tables for the terminal: columns padded to their widest cell, numbers aligned
//! right.

/// Renders rows under a header; a separator line precedes the last row when `total` is set.
pub fn text_table(columns: &[&str], rows: &[Vec<String>], total: Option<&[String]>) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in rows.iter().map(Vec::as_slice).chain(total) {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let numeric = |text: &str| {
        let t = text.trim_start_matches(['-', '+', '$']);
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '%'))
    };
    // A column of numbers is right-aligned, its title too.
    let numeric_column: Vec<bool> = (0..columns.len())
        .map(|i| {
            let mut cells = rows
                .iter()
                .filter_map(|r| r.get(i))
                .filter(|c| !c.is_empty());
            let mut any = false;
            let all = cells.all(|c| {
                any = true;
                numeric(c) || c == "N/A"
            });
            any && all
        })
        .collect();
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.chars().count());
            if i > 0 {
                out.push_str("  ");
            }
            if numeric_column.get(i).copied().unwrap_or(false) {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    out.push_str(&line(&header));
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for row in rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    if let Some(total) = total {
        out.push_str(
            &widths
                .iter()
                .map(|w| "=".repeat(*w))
                .collect::<Vec<_>>()
                .join("  "),
        );
        out.push('\n');
        out.push_str(&line(total));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_align_right_and_text_left() {
        let table = text_table(
            &["Name", "Cost"],
            &[
                vec!["a".into(), "$1.00".into()],
                vec!["longer".into(), "$10.00".into()],
            ],
            Some(&["Total".to_owned(), "$11.00".to_owned()]),
        );
        assert_eq!(
            table,
            "Name      Cost\n------  ------\na        $1.00\nlonger  $10.00\n======  ======\nTotal   $11.00\n"
        );
    }
}
