//! The part of Go's `regexp` (RE2 syntax, `regexp.Compile` flags) that Docker's
//! `.dockerignore` patterns compile to.
//!
//! Docker turns a pattern into a regular expression and lets Go's `regexp` match it, so a
//! pattern's meaning includes RE2's: `\d` is a digit class, `[[:digit:]]` a POSIX class,
//! `^` in the middle never matches, `.` (from `**`) stops at a newline (all verified on
//! Docker 20.10 with the 28.x CLI). The expressions Docker generates never contain a raw
//! `|`, `{`, `+` or `(?` (it escapes them), so alternation, counted repetition and flags
//! are not supported here and make the pattern invalid, as do Unicode classes (`\pL`),
//! which would need Unicode tables.

/// A compiled expression: matches like Go's `Regexp.MatchString` (anywhere in the text;
/// Docker's expressions are anchored with `^...$`).
#[derive(Debug, Clone)]
pub(crate) struct Regex {
    items: Vec<Item>,
}

/// The expression is not valid RE2 (or uses a construct left out above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadRegex;

#[derive(Debug, Clone)]
struct Item {
    atom: Atom,
    rep: Rep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rep {
    One,
    Opt,
    Star,
    Plus,
}

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    /// `.`: any character but `\n`.
    Any,
    Class(Class),
    Group(Vec<Item>),
    Assert(Assertion),
}

#[derive(Debug, Clone, Copy)]
enum Assertion {
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
}

/// A set of characters as sorted inclusive ranges.
#[derive(Debug, Clone, Default)]
struct Class {
    ranges: Vec<(u32, u32)>,
    negated: bool,
}

impl Class {
    fn add(&mut self, lo: u32, hi: u32) {
        self.ranges.push((lo, hi));
    }

    /// Adds `ranges`, or their complement when `negate`.
    fn add_group(&mut self, ranges: &[(u32, u32)], negate: bool) {
        if !negate {
            self.ranges.extend_from_slice(ranges);
            return;
        }
        let mut next = 0u32;
        for &(lo, hi) in ranges {
            if lo > next {
                self.add(next, lo - 1);
            }
            next = hi + 1;
        }
        if next <= 0x10FFFF {
            self.add(next, 0x10FFFF);
        }
    }

    fn contains(&self, c: char) -> bool {
        let c = u32::from(c);
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

const DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
const SPACE_PERL: &[(u32, u32)] = &[(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)];
const WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];

/// RE2's POSIX classes (ASCII only), by name without brackets and colons.
fn posix_group(name: &str) -> Option<&'static [(u32, u32)]> {
    Some(match name {
        "alnum" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
        "alpha" => &[(0x41, 0x5A), (0x61, 0x7A)],
        "ascii" => &[(0x00, 0x7F)],
        "blank" => &[(0x09, 0x09), (0x20, 0x20)],
        "cntrl" => &[(0x00, 0x1F), (0x7F, 0x7F)],
        "digit" => DIGIT,
        "graph" => &[(0x21, 0x7E)],
        "lower" => &[(0x61, 0x7A)],
        "print" => &[(0x20, 0x7E)],
        "punct" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
        "space" => &[(0x09, 0x0D), (0x20, 0x20)],
        "upper" => &[(0x41, 0x5A)],
        "word" => WORD,
        "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
        _ => return None,
    })
}

/// Perl's `\d \s \w` and their negations (ASCII only in RE2).
fn perl_group(c: char) -> Option<(&'static [(u32, u32)], bool)> {
    Some(match c {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        's' => (SPACE_PERL, false),
        'S' => (SPACE_PERL, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        _ => return None,
    })
}

struct Parser<'a> {
    t: &'a [char],
    pos: usize,
}

impl Regex {
    /// Compiles `expr` as Go's `regexp.Compile` would (Perl flags: `^`/`$` match only at
    /// the ends of the text, `.` does not match `\n`, a negated class does).
    pub(crate) fn new(expr: &str) -> Result<Regex, BadRegex> {
        let chars: Vec<char> = expr.chars().collect();
        let mut p = Parser { t: &chars, pos: 0 };
        let items = p.sequence(0)?;
        if p.pos != chars.len() {
            // An unmatched `)`.
            return Err(BadRegex);
        }
        Ok(Regex { items })
    }

    /// Whether the expression matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let start = vec![true; chars.len() + 1];
        eval(&self.items, &chars, start).into_iter().any(|b| b)
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.t.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.t.get(self.pos + n).copied()
    }

    /// A concatenation up to `)` or the end. `depth` counts open groups.
    fn sequence(&mut self, depth: usize) -> Result<Vec<Item>, BadRegex> {
        // Go's parser refuses nesting deeper than 1000.
        if depth > 1000 {
            return Err(BadRegex);
        }
        let mut items: Vec<Item> = Vec::new();
        // Whether the previous token was a repetition operator (`a**` is an error).
        let mut last_was_rep = false;
        while let Some(c) = self.peek() {
            let mut is_rep = false;
            match c {
                ')' => {
                    if depth == 0 {
                        return Err(BadRegex);
                    }
                    break;
                }
                '|' | '{' => return Err(BadRegex),
                '(' => {
                    if self.peek_at(1) == Some('?') {
                        return Err(BadRegex);
                    }
                    self.pos += 1;
                    let inner = self.sequence(depth + 1)?;
                    if self.peek() != Some(')') {
                        return Err(BadRegex);
                    }
                    self.pos += 1;
                    items.push(Item {
                        atom: Atom::Group(inner),
                        rep: Rep::One,
                    });
                }
                '*' | '+' | '?' => {
                    self.pos += 1;
                    // Perl's non-greedy suffix changes nothing for a yes/no match.
                    if self.peek() == Some('?') {
                        self.pos += 1;
                    }
                    if last_was_rep {
                        return Err(BadRegex);
                    }
                    let Some(last) = items.last_mut() else {
                        return Err(BadRegex);
                    };
                    last.rep = match c {
                        '*' => Rep::Star,
                        '+' => Rep::Plus,
                        _ => Rep::Opt,
                    };
                    is_rep = true;
                }
                '^' => {
                    self.pos += 1;
                    items.push(atom(Atom::Assert(Assertion::BeginText)));
                }
                '$' => {
                    self.pos += 1;
                    items.push(atom(Atom::Assert(Assertion::EndText)));
                }
                '.' => {
                    self.pos += 1;
                    items.push(atom(Atom::Any));
                }
                '[' => {
                    let class = self.class()?;
                    items.push(atom(Atom::Class(class)));
                }
                '\\' => self.escape_outside(&mut items)?,
                _ => {
                    self.pos += 1;
                    items.push(atom(Atom::Char(c)));
                }
            }
            last_was_rep = is_rep;
        }
        Ok(items)
    }

    /// A backslash sequence outside a class.
    fn escape_outside(&mut self, items: &mut Vec<Item>) -> Result<(), BadRegex> {
        let Some(c) = self.peek_at(1) else {
            return Err(BadRegex);
        };
        let assertion = match c {
            'A' => Some(Assertion::BeginText),
            'z' => Some(Assertion::EndText),
            'b' => Some(Assertion::WordBoundary),
            'B' => Some(Assertion::NotWordBoundary),
            _ => None,
        };
        if let Some(a) = assertion {
            self.pos += 2;
            items.push(atom(Atom::Assert(a)));
            return Ok(());
        }
        match c {
            'C' | 'p' | 'P' => return Err(BadRegex),
            'Q' => {
                // Everything up to `\E` (or the end) is literal.
                self.pos += 2;
                while let Some(ch) = self.peek() {
                    if ch == '\\' && self.peek_at(1) == Some('E') {
                        self.pos += 2;
                        break;
                    }
                    self.pos += 1;
                    items.push(atom(Atom::Char(ch)));
                }
                return Ok(());
            }
            _ => {}
        }
        if let Some((ranges, negate)) = perl_group(c) {
            self.pos += 2;
            let mut class = Class::default();
            class.add_group(ranges, negate);
            items.push(atom(Atom::Class(class)));
            return Ok(());
        }
        let ch = self.escape()?;
        items.push(atom(Atom::Char(ch)));
        Ok(())
    }

    /// A single-character escape (RE2's `parseEscape`), at the backslash.
    fn escape(&mut self) -> Result<char, BadRegex> {
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err(BadRegex);
        };
        self.pos += 1;
        let octal = |c: Option<char>| matches!(c, Some('0'..='7'));
        match c {
            '1'..='7' | '0' => {
                // A lone non-zero digit would be a back-reference: unsupported.
                if c != '0' && !octal(self.peek()) {
                    return Err(BadRegex);
                }
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            r = r * 8 + (d as u32 - '0' as u32);
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(r).ok_or(BadRegex)
            }
            'x' => {
                // `\x{...}` cannot come out of a Docker pattern (`{` is escaped there).
                let x = self.peek().and_then(|c| c.to_digit(16));
                let y = self.peek_at(1).and_then(|c| c.to_digit(16));
                match (x, y) {
                    (Some(x), Some(y)) => {
                        self.pos += 2;
                        char::from_u32(x * 16 + y).ok_or(BadRegex)
                    }
                    _ => Err(BadRegex),
                }
            }
            'a' => Ok('\u{7}'),
            'f' => Ok('\u{c}'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\u{b}'),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            _ => Err(BadRegex),
        }
    }

    /// A bracketed class, at the `[` (RE2's `parseClass`).
    fn class(&mut self) -> Result<Class, BadRegex> {
        self.pos += 1;
        let mut class = Class::default();
        if self.peek() == Some('^') {
            class.negated = true;
            self.pos += 1;
        }
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err(BadRegex),
                Some(']') if !first => {
                    self.pos += 1;
                    return Ok(class);
                }
                _ => {}
            }
            first = false;
            // A POSIX class `[:name:]`: Go looks for the closing `:]` anywhere further on.
            if self.peek() == Some('[') && self.peek_at(1) == Some(':') {
                if let Some(end) = self.find_colon_bracket(self.pos + 2) {
                    let inner: String = self.t[self.pos + 2..end].iter().collect();
                    let (name, negate) = match inner.strip_prefix('^') {
                        Some(n) => (n, true),
                        None => (inner.as_str(), false),
                    };
                    let group = posix_group(name).ok_or(BadRegex)?;
                    class.add_group(group, negate);
                    self.pos = end + 2;
                    continue;
                }
            }
            if self.peek() == Some('\\') {
                match self.peek_at(1) {
                    Some('p' | 'P') => return Err(BadRegex),
                    Some(c) => {
                        if let Some((ranges, negate)) = perl_group(c) {
                            self.pos += 2;
                            class.add_group(ranges, negate);
                            continue;
                        }
                    }
                    None => return Err(BadRegex),
                }
            }
            let lo = self.class_char()?;
            let mut hi = lo;
            if self.peek() == Some('-') && matches!(self.peek_at(1), Some(c) if c != ']') {
                self.pos += 1;
                hi = self.class_char()?;
                if hi < lo {
                    return Err(BadRegex);
                }
            }
            class.add(u32::from(lo), u32::from(hi));
        }
    }

    fn find_colon_bracket(&self, from: usize) -> Option<usize> {
        (from..self.t.len().saturating_sub(1)).find(|&i| self.t[i] == ':' && self.t[i + 1] == ']')
    }

    fn class_char(&mut self) -> Result<char, BadRegex> {
        match self.peek() {
            None => Err(BadRegex),
            Some('\\') => self.escape(),
            Some(c) => {
                self.pos += 1;
                Ok(c)
            }
        }
    }
}

fn atom(atom: Atom) -> Item {
    Item {
        atom,
        rep: Rep::One,
    }
}

/// The positions reachable after `items`, from the set `start` (one flag per position in
/// `text`, plus the end).
fn eval(items: &[Item], text: &[char], mut set: Vec<bool>) -> Vec<bool> {
    for item in items {
        if !set.iter().any(|&b| b) {
            break;
        }
        set = match item.rep {
            Rep::One => step(&item.atom, text, &set),
            Rep::Opt => union(&set, &step(&item.atom, text, &set)),
            Rep::Star => closure(&item.atom, text, set),
            Rep::Plus => {
                let once = step(&item.atom, text, &set);
                closure(&item.atom, text, once)
            }
        };
    }
    set
}

fn union(a: &[bool], b: &[bool]) -> Vec<bool> {
    a.iter().zip(b).map(|(&x, &y)| x || y).collect()
}

/// Zero or more repetitions of `atom`, from `set`.
fn closure(atom: &Atom, text: &[char], set: Vec<bool>) -> Vec<bool> {
    if let Some(single) = single_char(atom) {
        // One left-to-right sweep: linear, like Go's matcher.
        let mut all = set;
        for i in 0..text.len() {
            if all[i] && single(text[i]) {
                all[i + 1] = true;
            }
        }
        return all;
    }
    let mut all = set.clone();
    let mut frontier = set;
    loop {
        let next = step(atom, text, &frontier);
        let mut new = vec![false; next.len()];
        let mut any = false;
        for (i, &b) in next.iter().enumerate() {
            if b && !all[i] {
                all[i] = true;
                new[i] = true;
                any = true;
            }
        }
        if !any {
            return all;
        }
        frontier = new;
    }
}

/// The test of an atom that matches exactly one character.
fn single_char(atom: &Atom) -> Option<impl Fn(char) -> bool + '_> {
    match atom {
        Atom::Char(_) | Atom::Any | Atom::Class(_) => Some(move |c: char| match atom {
            Atom::Char(x) => c == *x,
            Atom::Any => c != '\n',
            Atom::Class(class) => class.contains(c),
            Atom::Group(_) | Atom::Assert(_) => false,
        }),
        Atom::Group(_) | Atom::Assert(_) => None,
    }
}

fn is_word(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
}

/// One occurrence of `atom`, from `set`.
fn step(atom: &Atom, text: &[char], set: &[bool]) -> Vec<bool> {
    let assertion = match atom {
        // Without back-references, what a set of starts reaches is the union of what
        // each start reaches.
        Atom::Group(items) => return eval(items, text, set.to_vec()),
        Atom::Assert(a) => *a,
        Atom::Char(_) | Atom::Any | Atom::Class(_) => {
            let mut out = vec![false; set.len()];
            if let Some(single) = single_char(atom) {
                for (i, &c) in text.iter().enumerate() {
                    out[i + 1] = set[i] && single(c);
                }
            }
            return out;
        }
    };
    let mut out = vec![false; set.len()];
    for (i, _) in set.iter().enumerate().filter(|(_, &b)| b) {
        out[i] = match assertion {
            Assertion::BeginText => i == 0,
            Assertion::EndText => i == text.len(),
            Assertion::WordBoundary | Assertion::NotWordBoundary => {
                let before = i.checked_sub(1).and_then(|k| text.get(k));
                let boundary = is_word(before) != is_word(text.get(i));
                boundary == matches!(assertion, Assertion::WordBoundary)
            }
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(re: &str, text: &str) -> bool {
        Regex::new(re).unwrap().is_match(text)
    }

    #[test]
    fn docker_shapes() {
        assert!(m("^[^/]*\\.md$", "a.md"));
        assert!(!m("^[^/]*\\.md$", "d/a.md"));
        assert!(m("^(.*/)?[^/]*\\.go$", "a/b/c.go"));
        assert!(m("^(.*/)?[^/]*\\.go$", "c.go"));
        assert!(m("^a(.*/)?b$", "ab"));
        assert!(m("^a(.*/)?b$", "ax/y/b"));
        assert!(!m("^a(.*/)?b$", "axb"));
        assert!(!m("^a/.*$", "a/x\ny"));
        assert!(m("^[^/]*$", "a\nb"));
    }

    #[test]
    fn re2_quirks() {
        assert!(m("^f\\d$", "f1"));
        assert!(!m("^f\\d$", "fd"));
        assert!(m("^[[:digit:]]x$", "1x"));
        assert!(!m("^[[:digit:]]x$", ":x"));
        assert!(m("^[[^/]]$", "^]"));
        assert!(m("^x[[^/]*]$", "x[^/]"));
        assert!(m("^x[[^/]*]$", "x]"));
        assert!(!m("^a^b$", "a^b"));
        assert!(m("^\\Qa*b$", "a*b$"));
        assert!(m("^\\x41$", "A"));
        assert!(m("^\\101$", "A"));
        assert!(!m("^a\\bb$", "a-b"));
        assert!(m("^a\\b-$", "a-"));
        assert!(m("^[\\]]$", "]"));
        assert!(m("^[a-]$", "-"));
        assert!(m("^[[:^alpha:]]$", "1"));
    }

    #[test]
    fn invalid() {
        for re in [
            "^[z-a]$",
            "^a\\e$",
            "^[[:foo:]]$",
            "^(a$",
            "^a)$",
            "^\\1$",
            "^[\\b]$",
            "^\\pL$",
            "^[a$",
            "*",
            "^a**$",
            "^\\",
            "^\\x4$",
            "(?i)a",
        ] {
            assert_eq!(Regex::new(re).err(), Some(BadRegex), "{re}");
        }
    }
}
