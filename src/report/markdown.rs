//! Markdown (GitHub-flavoured) rendering helpers: table cells that stay cells.

/// Text for one cell of a GitHub (GFM) table: `|` ends a cell even inside a code span, so it
/// is escaped as `\|` (GFM drops the backslash inside code spans too); a line break would
/// end the row, so it becomes a space.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// One table row of already-rendered cells: `| a | b | … |`, each escaped with [`cell`].
pub(crate) fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| cell(c.as_ref())).collect();
    format!("| {} |", cells.join(" | "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pipes_inside_cells_are_escaped() {
        assert_eq!(super::cell("E½|s − ∇log p|²"), "E½\\|s − ∇log p\\|²");
        assert_eq!(super::row(&["a|b", "c\nd"]), "| a\\|b | c d |");
    }
}
