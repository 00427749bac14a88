//! Renders configuration problems as `file:line:col: key: message`, one per line.
//!
//! In: byte spans from the TOML parser and messages from validation. Out: [`ConfigError`]s with
//! 1-based line/column positions (columns count characters, not bytes), and their rendering.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a pipeline file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The pipeline file.
    pub file: PathBuf,
    /// 1-based line and column of the offending key or value, when known.
    pub position: Option<(usize, usize)>,
    /// Key path, such as `comparisons[1].method`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    /// A problem at `position` (1-based line and column) under `key`.
    pub fn new(
        file: impl Into<PathBuf>,
        position: Option<(usize, usize)>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            file: file.into(),
            position,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

/// Every problem found in a pipeline file (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Each problem rendered as `file:line:col: key: message`, in order.
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Sorts the problems by position (problems without one first), keeping the order of
    /// problems at the same position.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|e| e.position);
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the pipeline file:",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, e) in self.0.iter().enumerate() {
            if i + 1 < n {
                writeln!(f, "{e}")?;
            } else {
                write!(f, "{e}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Converts byte offsets of one document into 1-based line and column numbers.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts.
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the lines of `text`.
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    /// 1-based line and column (in characters) of byte `offset`; offsets past the end map to
    /// the end of the text.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// Position of the start of `span`.
    pub fn span_start(&self, span: &Range<usize>) -> (usize, usize) {
        self.position(span.start)
    }
}

/// Collects problems of one pipeline file, turning spans into positions.
#[derive(Debug)]
pub struct Reporter<'a> {
    file: &'a Path,
    lines: LineIndex<'a>,
    errors: Vec<ConfigError>,
}

impl<'a> Reporter<'a> {
    /// A reporter for `file`, whose text is `text`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Reporter {
            file,
            lines: LineIndex::new(text),
            errors: Vec::new(),
        }
    }

    /// Records a problem at the start of `span` (`None`: position unknown).
    pub fn at(
        &mut self,
        span: Option<Range<usize>>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
        let position = span.map(|s| self.lines.span_start(&s));
        self.errors
            .push(ConfigError::new(self.file, position, key, message));
    }

    /// 1-based (line, column) of byte `offset`.
    pub fn position_of(&self, offset: usize) -> (usize, usize) {
        self.lines.position(offset)
    }

    /// 1-based line of byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines.position(offset).0
    }

    /// Whether no problem has been recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every problem recorded, sorted by position.
    pub fn finish(self) -> ConfigErrors {
        let mut errors = ConfigErrors(self.errors);
        errors.sort();
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let idx = LineIndex::new("a = 1\nné = \"x\"\n");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(4), (1, 5));
        assert_eq!(idx.position(6), (2, 1));
        // `=` after the two-byte `é` is the 4th character of line 2.
        assert_eq!(idx.position(10), (2, 4));
        assert_eq!(idx.position(1000), (3, 1));
    }

    #[test]
    fn renders_file_line_col_key_message() {
        let e = ConfigError::new("p.toml", Some((3, 7)), "output.dir", "must not be empty");
        assert_eq!(e.to_string(), "p.toml:3:7: output.dir: must not be empty");
        let e = ConfigError::new("p.toml", None, "", "cannot read");
        assert_eq!(e.to_string(), "p.toml: cannot read");
    }
}
