//! Go's tabwriter as the Docker CLI configures it: the tables of `ps`, `images`, `ls`...

/// Formats rows like Go's tabwriter as the Docker CLI configures it (minimum width 10,
/// padding 3); the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    table_min(rows, 10)
}

/// [`table`] with another minimum column width (`docker top` uses 20).
pub fn table_min(rows: &[Vec<String>], min: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count() + 3).max(min);
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i + 1 < r.len() {
                out.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_like_docker() {
        let t = table(&[
            vec![
                "REPOSITORY".into(),
                "TAG".into(),
                "IMAGE ID".into(),
                "CREATED".into(),
                "SIZE".into(),
            ],
            vec![
                "busybox".into(),
                "latest".into(),
                "0135a715b53e".into(),
                "7 minutes ago".into(),
                "1.98MB".into(),
            ],
        ]);
        assert_eq!(
            t,
            "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\nbusybox      latest    0135a715b53e   7 minutes ago   1.98MB\n"
        );
    }
}
