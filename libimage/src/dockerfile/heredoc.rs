//! Finding heredocs on an instruction's line (BuildKit's `heredocsFromLine` and
//! `ParseHeredoc`): a word `[n]<<[-]DELIM`, where quoting any part of `DELIM` turns
//! substitution in the body off.

use super::instruction::Heredoc;
use super::shell::ShellLex;

/// No variables: heredoc delimiters are lexed without substitution.
fn no_env(_: &str) -> Option<String> {
    None
}

/// The heredoc a word introduces (`<<EOF`, `<<-'EOF'`, `2<<EOF`), with an empty body;
/// `Ok(None)` if the word is not one; `Err` with the lexer's message for a delimiter
/// Docker refuses.
pub(crate) fn parse_heredoc(word: &str) -> Result<Option<Heredoc>, String> {
    // ^(\d*)<<(-?)\s*([^<]*)$
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = word.get(digits..).and_then(|w| w.strip_prefix("<<")) else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    // Lex the delimiter with and without its quotes: if quotes were removed, some part
    // of it was quoted and the body is not substituted.
    let lex = ShellLex::new('\\').skipping_unset();
    let words = lex
        .process_words(rest, &no_env)
        .map_err(|e| e.to_string())?;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    let raw = lex
        .with_raw_quotes(true)
        .process_words(rest, &no_env)
        .map_err(|e| e.to_string())?;
    let [raw_name] = raw.as_slice() else {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    };
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    Ok(Some(Heredoc {
        name: name.clone(),
        content: String::new(),
        expand: quotes(name) == quotes(raw_name),
        chomp,
    }))
}

/// [`parse_heredoc`], errors read as "not a heredoc" (BuildKit's `MustParseHeredoc`).
pub(crate) fn must_parse_heredoc(word: &str) -> Option<Heredoc> {
    parse_heredoc(word).ok().flatten()
}

/// The heredocs an instruction's line opens, in order: its words lexed with quotes,
/// escapes and variables kept (a line the lexer rejects has none).
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let words = ShellLex::raw('\\')
        .process_words(line, &no_env)
        .unwrap_or_default();
    let mut docs = Vec::new();
    for w in words {
        if let Some(h) = parse_heredoc(&w)? {
            docs.push(h);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(word: &str) -> Option<(String, bool, bool)> {
        parse_heredoc(word)
            .unwrap()
            .map(|h| (h.name, h.expand, h.chomp))
    }

    #[test]
    fn buildkit_heredoc_words() {
        // BuildKit's TestParseHeredocHelpers
        for w in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<-\"EOF\"",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            assert_eq!(name(w).map(|n| n.0), Some("EOF".to_string()), "{w}");
        }
        for w in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(parse_heredoc(w).is_err(), "{w}");
        }
        for w in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(name(w), None, "{w}");
        }
        assert_eq!(name("<<eo'f'"), Some(("eof".into(), false, false)));
        assert_eq!(name("<<eo\\'f"), Some(("eo'f".into(), true, false)));
        assert_eq!(name("<<'e'o\\'f"), Some(("eo'f".into(), false, false)));
        assert_eq!(name("<<$EOF"), Some(("$EOF".into(), true, false)));
        assert_eq!(name("3<<-X"), Some(("X".into(), true, true)));
    }

    #[test]
    fn heredocs_on_a_line() {
        let names = |l: &str| {
            heredocs_from_line(l)
                .unwrap()
                .into_iter()
                .map(|h| h.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("RUN <<EOF"), ["EOF"]);
        // the lexer keeps the blanks after `<<` in its word, not after `<<-` (BuildKit's
        // own test of this line passes vacuously)
        assert_eq!(names("RUN <<- EOF"), Vec::<String>::new());
        assert_eq!(names("RUN << -EOF"), ["-EOF"]);
        assert_eq!(names("RUN 4<<EOF"), ["EOF"]);
        assert_eq!(names("RUN <<EOF <<EOF2"), ["EOF", "EOF2"]);
        assert_eq!(names("RUN <<'one two'"), ["one two"]);
        assert_eq!(names("RUN '<<EOF'"), Vec::<String>::new());
        assert_eq!(names("RUN \"<<EOF\""), Vec::<String>::new());
        assert_eq!(names("RUN <<  EOF  > foo"), ["EOF"]);
    }
}
