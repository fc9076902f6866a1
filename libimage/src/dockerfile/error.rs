//! Errors of the Dockerfile parser and of variable substitution, worded as Docker 20.10's
//! classic builder words them (`Error response from daemon: <Display>`).
//!
//! Three families, told apart by their prefix as in Docker:
//! - the line-level parser's (`failed to parse Dockerfile: ...`; Docker prints no line),
//! - an instruction's (`dockerfile parse error line N: ...`),
//! - substitution's, met while building (`failed to process "word": ...`).

use super::golang::quote;

/// An error parsing a Dockerfile or substituting variables in one of its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A parser directive other than `` ` `` or `\` for `# escape=`.
    #[error("failed to parse Dockerfile: invalid escape token '{token}' does not match ` or \\")]
    InvalidEscapeToken {
        /// The directive's line.
        line: usize,
        /// The value given.
        token: String,
    },
    /// The same parser directive twice.
    #[error("failed to parse Dockerfile: only one {name} parser directive can be used")]
    DuplicateDirective {
        /// The second directive's line.
        line: usize,
        /// The directive (lower case).
        name: String,
    },
    /// Nothing but comments and blank lines.
    #[error("failed to parse Dockerfile: file with no instructions")]
    NoInstructions,
    /// A line of 64 KiB or more (Go's `bufio.Scanner` limit).
    #[error("failed to parse Dockerfile: dockerfile line greater than max allowed size of 65535")]
    LineTooLong {
        /// The line.
        line: usize,
    },
    /// `ENV`/`LABEL` in the `name value` form with only a name.
    #[error("failed to parse Dockerfile: {instruction} must have two arguments")]
    MissingValue {
        /// The instruction's first line.
        line: usize,
        /// `ENV` or `LABEL`.
        instruction: &'static str,
    },
    /// `ENV`/`LABEL` in the `name=value` form with a word lacking `=`.
    #[error(
        "failed to parse Dockerfile: Syntax error - can't find = in {}. Must be of the form: name=value",
        quote(.word)
    )]
    MissingEquals {
        /// The instruction's first line.
        line: usize,
        /// The word without `=`.
        word: String,
    },
    /// A JSON array holding something other than strings.
    #[error(
        "failed to parse Dockerfile: when using JSON array syntax, arrays must be comprised of strings only"
    )]
    JsonNotStrings {
        /// The instruction's first line.
        line: usize,
    },
    /// The file ends inside a heredoc.
    #[error("failed to parse Dockerfile: unterminated heredoc")]
    UnterminatedHeredoc {
        /// The instruction's first line.
        line: usize,
    },
    /// A heredoc delimiter that the shell lexer rejects.
    #[error("failed to parse Dockerfile: {message}")]
    HeredocDelimiter {
        /// The instruction's first line.
        line: usize,
        /// The lexer's complaint.
        message: String,
    },
    /// An instruction Docker does not know.
    #[error("dockerfile parse error line {line}: unknown instruction: {instruction}")]
    UnknownInstruction {
        /// The instruction's first line.
        line: usize,
        /// Its keyword, upper-cased.
        instruction: String,
    },
    /// An instruction given no argument.
    #[error("dockerfile parse error line {line}: {instruction} requires at least one argument")]
    AtLeastOneArgument {
        /// The instruction's first line.
        line: usize,
        /// The instruction.
        instruction: &'static str,
    },
    /// An instruction that takes exactly one argument given none (or several).
    #[error("dockerfile parse error line {line}: {instruction} requires exactly one argument")]
    ExactlyOneArgument {
        /// The instruction's first line.
        line: usize,
        /// The instruction.
        instruction: &'static str,
    },
    /// `COPY`/`ADD` with a single argument.
    #[error(
        "dockerfile parse error line {line}: {instruction} requires at least two arguments, but only one was provided. Destination could not be determined"
    )]
    NoDestination {
        /// The instruction's first line.
        line: usize,
        /// `COPY` or `ADD`.
        instruction: &'static str,
    },
    /// `FROM` with two or more than three arguments (or three without `AS`).
    #[error("dockerfile parse error line {line}: FROM requires either one or three arguments")]
    FromArguments {
        /// The instruction's line.
        line: usize,
    },
    /// A stage name (`FROM x AS name`) outside `[a-z][a-z0-9-_.]*`.
    #[error(
        "dockerfile parse error line {line}: invalid name for build stage: {}, name can't start with a number or contain symbols",
        quote(.name)
    )]
    StageName {
        /// The instruction's line.
        line: usize,
        /// The name as written.
        name: String,
    },
    /// `ENV =x`, `ARG =x`, ...
    #[error("dockerfile parse error line {line}: {instruction} names can not be blank")]
    BlankName {
        /// The instruction's first line.
        line: usize,
        /// The instruction.
        instruction: &'static str,
    },
    /// A `--flag` the instruction does not take.
    #[error("dockerfile parse error line {line}: Unknown flag: {flag}")]
    UnknownFlag {
        /// The instruction's first line.
        line: usize,
        /// The flag's name (without `--`).
        flag: String,
    },
    /// The same single-valued flag twice.
    #[error("dockerfile parse error line {line}: Duplicate flag specified: {flag}")]
    DuplicateFlag {
        /// The instruction's first line.
        line: usize,
        /// The flag's name.
        flag: String,
    },
    /// `--flag` without `=value` (or `--bool=`).
    #[error("dockerfile parse error line {line}: Missing a value on flag: {flag}")]
    MissingFlagValue {
        /// The instruction's first line.
        line: usize,
        /// The flag's name.
        flag: String,
    },
    /// A boolean flag given something other than `true`/`false`.
    #[error(
        "dockerfile parse error line {line}: Expecting boolean value for flag {flag}, not: {value}"
    )]
    FlagNotBoolean {
        /// The instruction's first line.
        line: usize,
        /// The flag's name.
        flag: String,
        /// The value given.
        value: String,
    },
    /// A flag word not starting with `--`.
    #[error("dockerfile parse error line {line}: Arg should start with -- : {arg}")]
    FlagSyntax {
        /// The instruction's first line.
        line: usize,
        /// The word.
        arg: String,
    },
    /// A heredoc as the destination of `COPY`/`ADD`.
    #[error("dockerfile parse error line {line}: {instruction} cannot accept a heredoc as a destination")]
    HeredocDestination {
        /// The instruction's first line.
        line: usize,
        /// `COPY` or `ADD`.
        instruction: &'static str,
    },
    /// `ONBUILD ONBUILD ...`.
    #[error(
        "dockerfile parse error line {line}: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    )]
    OnbuildChain {
        /// The instruction's first line.
        line: usize,
    },
    /// `ONBUILD FROM ...` or `ONBUILD MAINTAINER ...`.
    #[error("dockerfile parse error line {line}: {trigger} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger {
        /// The instruction's first line.
        line: usize,
        /// The trigger's keyword, upper-cased.
        trigger: String,
    },
    /// `SHELL` not in JSON form.
    #[error("dockerfile parse error line {line}: {instruction} requires the arguments to be in JSON form")]
    NotJson {
        /// The instruction's first line.
        line: usize,
        /// The instruction.
        instruction: &'static str,
    },
    /// `VOLUME` with an empty (or blank) path.
    #[error("dockerfile parse error line {line}: VOLUME specified can not be an empty string")]
    EmptyVolume {
        /// The instruction's first line.
        line: usize,
    },
    /// `HEALTHCHECK NONE` followed by something.
    #[error("dockerfile parse error line {line}: HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments {
        /// The instruction's first line.
        line: usize,
    },
    /// `HEALTHCHECK CMD` with nothing after it.
    #[error("dockerfile parse error line {line}: Missing command after HEALTHCHECK CMD")]
    HealthcheckMissingCommand {
        /// The instruction's first line.
        line: usize,
    },
    /// `HEALTHCHECK` neither `NONE` nor `CMD`.
    #[error(
        "dockerfile parse error line {line}: Unknown type {} in HEALTHCHECK (try CMD)",
        quote(.kind)
    )]
    HealthcheckType {
        /// The instruction's first line.
        line: usize,
        /// The type, upper-cased.
        kind: String,
    },
    /// A `HEALTHCHECK` duration Go's `time.ParseDuration` rejects.
    #[error("dockerfile parse error line {line}: {message}")]
    InvalidDuration {
        /// The instruction's first line.
        line: usize,
        /// Go's message (`time: invalid duration "x"`, `time: missing unit in duration "1"`...).
        message: String,
    },
    /// A `HEALTHCHECK` duration under one millisecond.
    #[error(
        "dockerfile parse error line {line}: Interval {} cannot be less than 1ms",
        quote(.flag)
    )]
    IntervalTooShort {
        /// The instruction's first line.
        line: usize,
        /// The flag (`interval`, `timeout`, `start-period`).
        flag: String,
    },
    /// `--retries` not a 32-bit integer.
    #[error("dockerfile parse error line {line}: {message}")]
    InvalidInteger {
        /// The instruction's first line.
        line: usize,
        /// Go's `strconv.ParseInt` message.
        message: String,
    },
    /// `--retries` below one.
    #[error("dockerfile parse error line {line}: --retries must be at least 1 (not {retries})")]
    RetriesTooFew {
        /// The instruction's first line.
        line: usize,
        /// The value given.
        retries: i64,
    },
    /// An instruction other than `ARG` before the first `FROM`.
    #[error("no build stage in current context")]
    NoBuildStage {
        /// The instruction's first line.
        line: usize,
    },
    /// `${` with no closing brace.
    #[error("failed to process {}: syntax error: missing '}}'", quote(.word))]
    MissingBrace {
        /// The word being substituted.
        word: String,
    },
    /// `${}`, `${:x}`, `${{x}`.
    #[error("failed to process {}: syntax error: bad substitution", quote(.word))]
    BadSubstitution {
        /// The word being substituted.
        word: String,
    },
    /// `${x/pattern` with no second `/`.
    #[error("failed to process {}: syntax error: missing '/' in ${{}}", quote(.word))]
    MissingSlash {
        /// The word being substituted.
        word: String,
    },
    /// A modifier other than `-`, `+`, `?`, `#`, `%`, `/` (and their `:` forms).
    #[error("failed to process {}: unsupported modifier ({modifier}) in substitution", quote(.word))]
    UnsupportedModifier {
        /// The word being substituted.
        word: String,
        /// The modifier as written (`=`, `:=`...).
        modifier: String,
    },
    /// `${x?message}` with `x` unset, or `${x:?message}` with `x` unset or empty.
    #[error("failed to process {}: {name}: {message}", quote(.word))]
    VariableRequired {
        /// The word being substituted.
        word: String,
        /// The variable.
        name: String,
        /// The message given, else Docker's (`is not allowed to be unset`...).
        message: String,
    },
    /// A quote or `${...}` not closed.
    #[error(
        "failed to process {}: unexpected end of statement while looking for matching {what}",
        quote(.word)
    )]
    Unterminated {
        /// The word being substituted.
        word: String,
        /// What was looked for (`single-quote`, `double-quote`, `}`, `/`).
        what: String,
    },
    /// A `${x#pattern}` (`%`, `/`) pattern with a bad escape.
    #[error(
        "failed to process {}: invalid pattern ({pattern}) in substitution: invalid escape '\\{escaped}'",
        quote(.word)
    )]
    InvalidPattern {
        /// The word being substituted.
        word: String,
        /// The pattern.
        pattern: String,
        /// The character after the backslash.
        escaped: char,
    },
    /// Substitutions nested deeper than ministry follows (Docker has no limit).
    #[error("failed to process {}: substitutions nested too deeply", quote(.word))]
    TooDeep {
        /// The word being substituted.
        word: String,
    },
}

impl ParseError {
    /// The Dockerfile line the error is about (the first line of its instruction), when
    /// known: substitution errors have none, as the word alone is given.
    pub fn line(&self) -> Option<usize> {
        use ParseError::*;
        match self {
            InvalidEscapeToken { line, .. }
            | DuplicateDirective { line, .. }
            | LineTooLong { line }
            | MissingValue { line, .. }
            | MissingEquals { line, .. }
            | JsonNotStrings { line }
            | UnterminatedHeredoc { line }
            | HeredocDelimiter { line, .. }
            | UnknownInstruction { line, .. }
            | AtLeastOneArgument { line, .. }
            | ExactlyOneArgument { line, .. }
            | NoDestination { line, .. }
            | FromArguments { line }
            | StageName { line, .. }
            | BlankName { line, .. }
            | UnknownFlag { line, .. }
            | DuplicateFlag { line, .. }
            | MissingFlagValue { line, .. }
            | FlagNotBoolean { line, .. }
            | FlagSyntax { line, .. }
            | HeredocDestination { line, .. }
            | OnbuildChain { line }
            | OnbuildTrigger { line, .. }
            | NotJson { line, .. }
            | EmptyVolume { line }
            | HealthcheckNoneArguments { line }
            | HealthcheckMissingCommand { line }
            | HealthcheckType { line, .. }
            | InvalidDuration { line, .. }
            | IntervalTooShort { line, .. }
            | InvalidInteger { line, .. }
            | RetriesTooFew { line, .. }
            | NoBuildStage { line } => Some(*line),
            NoInstructions
            | MissingBrace { .. }
            | BadSubstitution { .. }
            | MissingSlash { .. }
            | UnsupportedModifier { .. }
            | VariableRequired { .. }
            | Unterminated { .. }
            | InvalidPattern { .. }
            | TooDeep { .. } => None,
        }
    }
}
