//! One run of Docker's shell lexer over a word (BuildKit's `shellWord`): the scanner,
//! quotes, `$` substitutions and their modifiers, and the words being built.

use super::pattern;
use super::shell::{Env, LexError, ShellLex};

/// How deep `${...}` substitutions may nest before ministry gives up (Docker has no
/// limit; this keeps the stack bounded on hostile input).
const MAX_NESTING: usize = 128;

/// The words being built: Go's `wordsStruct`.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }

    fn add_raw_char(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

/// One run of the lexer over a word: Go's `shellWord` and its `text/scanner`.
pub(crate) struct Scanner<'e> {
    lex: ShellLex,
    chars: Vec<char>,
    pos: usize,
    env: Env<'e>,
    raw_escapes: bool,
    depth: usize,
}

impl<'e> Scanner<'e> {
    /// A scanner over `word`.
    pub(crate) fn new(lex: ShellLex, word: &str, env: Env<'e>) -> Self {
        Scanner {
            lex,
            chars: word.chars().collect(),
            pos: 0,
            env,
            raw_escapes: lex.raw_escapes,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn get_env(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// Reads up to `stop` (or the end), substituting as it goes.
    pub(crate) fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), LexError> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.stop_on(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), LexError> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.next();
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let tmp = self.process_dollar()?;
                    result.push_str(&tmp);
                    words.add_string(&tmp);
                }
                '<' => {
                    let tmp = self.process_possible_heredoc();
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '\'' if !self.lex.skip_quotes => {
                    let tmp = self.process_single_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                '"' if !self.lex.skip_quotes => {
                    let tmp = self.process_double_quote()?;
                    result.push_str(&tmp);
                    words.add_raw_string(&tmp);
                }
                _ => {
                    self.next();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // the escape character escapes the next one, except at the end
                        let Some(escaped) = self.next() else {
                            break;
                        };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        match stop {
            Some(c) => Err(LexError::Unterminated(c.to_string())),
            None => Ok((result, words.finish())),
        }
    }

    /// `'...'`: everything literal up to the next `'`.
    fn process_single_quote(&mut self) -> Result<String, LexError> {
        let mut result = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => return Err(LexError::Unterminated("single-quote".into())),
                Some('\'') => {
                    if self.lex.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    /// `"..."`: literal but for `$` substitutions and escaped `"`, `$` and escape.
    fn process_double_quote(&mut self) -> Result<String, LexError> {
        let mut result = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => return Err(LexError::Unterminated("double-quote".into())),
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                }
                Some(mut ch) => {
                    self.next();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            // an escape at the very end is dropped
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.lex.escape => {
                                self.next();
                                ch = n;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    /// `<<` keeps the blanks after it in its word, so `<<  EOF` is one heredoc word.
    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.next();
        let mut result = String::from("<<");
        while let Some(c @ (' ' | '\t' | '\r')) = self.peek() {
            result.push(c);
            self.next();
        }
        result
    }

    /// `$name`, `${name}` and `${name<modifier>...}`.
    fn process_dollar(&mut self) -> Result<String, LexError> {
        if self.depth >= MAX_NESTING {
            return Err(LexError::TooDeep);
        }
        self.depth += 1;
        let r = self.dollar();
        self.depth -= 1;
        r
    }

    fn dollar(&mut self) -> Result<String, LexError> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(LexError::MissingBrace),
            Some('{' | '}' | ':') => return Err(LexError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.process_name();
        let mut ch = self.next();
        // Go prints the end of input as U+FFFD
        let mut chs = ch.unwrap_or('\u{fffd}').to_string();
        let mut null_is_unset = false;
        match ch {
            Some('}') => {
                return Ok(match self.get_env(&name) {
                    Some(v) => v,
                    None if self.lex.skip_unset => format!("${{{name}}}"),
                    None => String::new(),
                })
            }
            Some(':') => {
                null_is_unset = true;
                ch = self.next();
                chs.push(ch.unwrap_or('\u{fffd}'));
            }
            Some('+' | '-' | '?' | '#' | '%') => {}
            Some('/') => return self.substitute(&name),
            _ => return Err(LexError::UnsupportedModifier(chs)),
        }
        let raw = matches!(ch, Some('#' | '%'));
        let word = match self.process_stop_on(Some('}'), raw) {
            Ok((w, _)) => w,
            Err(_) if self.peek().is_none() => return Err(LexError::MissingBrace),
            Err(e) => return Err(e),
        };
        let value = self.get_env(&name);
        if self.lex.skip_unset && value.is_none() {
            return Ok(format!("${{{name}{chs}{word}}}"));
        }
        let unset = value.is_none();
        let value = value.unwrap_or_default();
        let absent = unset || (null_is_unset && value.is_empty());
        match ch {
            Some('-') => Ok(if absent { word } else { value }),
            Some('+') => Ok(if absent { String::new() } else { word }),
            Some('?') => {
                let default = if unset {
                    "is not allowed to be unset"
                } else {
                    "is not allowed to be empty"
                };
                if absent {
                    let message = if word.is_empty() {
                        default.to_string()
                    } else {
                        word
                    };
                    return Err(LexError::Required { name, message });
                }
                Ok(value)
            }
            Some(c @ ('#' | '%')) => {
                let (greedy, pattern) = match word.strip_prefix(c) {
                    Some(p) => (true, p),
                    None => (false, word.as_str()),
                };
                let r = if c == '%' {
                    pattern::trim_suffix(pattern, &value, greedy)
                } else {
                    pattern::trim_prefix(pattern, &value, greedy)
                };
                r.map_err(|escaped| LexError::InvalidPattern {
                    pattern: pattern.to_string(),
                    escaped,
                })
            }
            _ => Err(LexError::UnsupportedModifier(chs)),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn substitute(&mut self, name: &str) -> Result<String, LexError> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pattern = match self.process_stop_on(Some('/'), true) {
            Ok((p, _)) => p,
            Err(_) if self.peek().is_none() => return Err(LexError::MissingSlash),
            Err(e) => return Err(e),
        };
        let replacement = match self.process_stop_on(Some('}'), true) {
            Ok((r, _)) => r,
            Err(_) if self.peek().is_none() => return Err(LexError::MissingBrace),
            Err(e) => return Err(e),
        };
        let value = self.get_env(name);
        if self.lex.skip_unset && value.is_none() {
            return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
        }
        let value = value.unwrap_or_default();
        pattern::replace(&pattern, &value, &replacement, all)
            .map_err(|escaped| LexError::InvalidPattern { pattern, escaped })
    }

    /// A variable name: letters, digits and `_`; or digits alone; or one special
    /// parameter (`$@`, `$*`, `$#`, `$?`, `$-`, `$$`, `$!`, `$0`).
    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(d) = self.peek().filter(|c| c.is_numeric()) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }
}
