//! Docker's shell lexer (BuildKit's `shell.Lex`): variable substitution (`$VAR`,
//! `${VAR}`, `${VAR:-x}`, `${VAR+x}`, `${VAR:?msg}`, `${VAR#pat}`, `${VAR%pat}`,
//! `${VAR/pat/repl}`...), quote and escape removal, and splitting into words.

use super::error::ParseError;
use super::scanner::Scanner;

/// Docker's shell lexer: substitutes variables in a Dockerfile word and removes its quotes
/// and escapes, as the builder does for `ENV`, `COPY`, `WORKDIR`... (see
/// [`Instruction::expand`](super::Instruction::expand)).
///
/// ```
/// use libimage::dockerfile::ShellLex;
///
/// let env = |name: &str| (name == "NAME").then(|| "world".to_string());
/// let lex = ShellLex::new('\\');
/// assert_eq!(lex.process_word(r#""hello $NAME" ${X:-x}\!"#, &env).unwrap(), "hello world x!");
/// assert_eq!(lex.process_words("a 'b c' $NAME", &env).unwrap(), ["a", "b c", "world"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShellLex {
    pub(crate) escape: char,
    /// Keep quote characters in the result (heredoc detection).
    pub(crate) raw_quotes: bool,
    /// Keep escape characters in the result (heredoc detection).
    pub(crate) raw_escapes: bool,
    /// Treat quotes as ordinary characters (heredoc bodies).
    pub(crate) skip_quotes: bool,
    /// Leave unset variables as written (heredoc detection).
    pub(crate) skip_unset: bool,
}

/// Looks a variable up.
pub(crate) type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

impl ShellLex {
    /// A lexer escaping with `escape` (the Dockerfile's escape character, `\` unless a
    /// `# escape=` directive says `` ` ``).
    pub fn new(escape: char) -> Self {
        ShellLex {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_quotes: false,
            skip_unset: false,
        }
    }

    /// The lexer BuildKit uses on the line of a `RUN`/`COPY` to find its heredocs: quotes,
    /// escapes and unset variables are all kept as written.
    pub(crate) fn raw(escape: char) -> Self {
        ShellLex {
            raw_quotes: true,
            raw_escapes: true,
            skip_unset: true,
            ..ShellLex::new(escape)
        }
    }

    /// This lexer, keeping or removing quote characters.
    pub(crate) fn with_raw_quotes(self, raw_quotes: bool) -> Self {
        ShellLex { raw_quotes, ..self }
    }

    /// This lexer, leaving unset variables as written.
    pub(crate) fn skipping_unset(self) -> Self {
        ShellLex {
            skip_unset: true,
            ..self
        }
    }

    /// The lexer for the body of a heredoc `COPY`/`ADD` writes when its delimiter is
    /// unquoted: variables substituted, quotes left alone, escape `\`.
    pub(crate) fn heredoc_body() -> Self {
        ShellLex {
            skip_quotes: true,
            ..ShellLex::new('\\')
        }
    }

    /// Docker's `ProcessWord`: `word` with its variables substituted from `env` and its
    /// quotes and escapes removed; spaces are kept (`a  b` stays one string).
    pub fn process_word(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, ParseError> {
        self.process(word, env).map(|(result, _)| result)
    }

    /// Docker's `ProcessWords`: like [`process_word`](Self::process_word), then split at
    /// unquoted white space, after substitution (`EXPOSE $PORTS`).
    pub fn process_words(
        &self,
        word: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, ParseError> {
        self.process(word, env).map(|(_, words)| words)
    }

    fn process(&self, word: &str, env: Env<'_>) -> Result<(String, Vec<String>), ParseError> {
        Scanner::new(*self, word, env)
            .process_stop_on(None, self.raw_escapes)
            .map_err(|e| e.into_parse_error(word))
    }
}

/// A lexing failure, before it is tied to its word.
#[derive(Debug)]
pub(crate) enum LexError {
    MissingBrace,
    BadSubstitution,
    MissingSlash,
    UnsupportedModifier(String),
    Required { name: String, message: String },
    Unterminated(String),
    InvalidPattern { pattern: String, escaped: char },
    TooDeep,
}

impl LexError {
    fn into_parse_error(self, word: &str) -> ParseError {
        let word = word.to_string();
        match self {
            LexError::MissingBrace => ParseError::MissingBrace { word },
            LexError::BadSubstitution => ParseError::BadSubstitution { word },
            LexError::MissingSlash => ParseError::MissingSlash { word },
            LexError::UnsupportedModifier(modifier) => {
                ParseError::UnsupportedModifier { word, modifier }
            }
            LexError::Required { name, message } => ParseError::VariableRequired {
                word,
                name,
                message,
            },
            LexError::Unterminated(what) => ParseError::Unterminated { word, what },
            LexError::InvalidPattern { pattern, escaped } => ParseError::InvalidPattern {
                word,
                pattern,
                escaped,
            },
            LexError::TooDeep => ParseError::TooDeep { word },
        }
    }
}
