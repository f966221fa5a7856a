//! Loading TOML files into typed structures with errors that name file, line, column and field.
//!
//! Both the exporter config and the simulator scenarios go through here, so a typo in either is
//! reported the same way: `path:line:column: field.path: what was expected`.

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A problem in a TOML file, located as precisely as the parser allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: PathBuf,
    /// 1-based line and column; `None` when the problem is not tied to a place (unreadable file).
    pub position: Option<(usize, usize)>,
    /// Dotted path of the offending field (`sweep.interval`, `fleet[1].sessions.active`), if known.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for FileError {}

impl FileError {
    /// An error about a value whose byte span in `text` is known (post-parse validation).
    pub fn at_span(file: &Path, text: &str, span: Range<usize>, field: &str, message: String) -> Self {
        FileError {
            file: file.to_path_buf(),
            position: Some(line_column(text, span.start)),
            field: Some(field.to_string()),
            message,
        }
    }

    /// An error about the file as a whole (no single place to point at).
    pub fn whole_file(file: &Path, field: Option<&str>, message: String) -> Self {
        FileError {
            file: file.to_path_buf(),
            position: None,
            field: field.map(str::to_string),
            message,
        }
    }
}

/// Reads and parses `file`.
pub fn load<T: DeserializeOwned>(file: &Path) -> Result<(T, String), FileError> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| FileError::whole_file(file, None, format!("cannot read file: {err}")))?;
    let value = parse(file, &text)?;
    Ok((value, text))
}

/// Parses `text` (the contents of `file`, which is only used in messages).
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, FileError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|err| from_toml(file, text, &err, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        from_toml(file, text, err.inner(), field)
    })
}

fn from_toml(file: &Path, text: &str, err: &toml::de::Error, field: Option<String>) -> FileError {
    FileError {
        file: file.to_path_buf(),
        position: err.span().map(|span| line_column(text, span.start)),
        field,
        message: err.message().trim_end().to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn reports_file_line_column_and_field() {
        let text = "[inner]\ncount = -3\n";
        let err = parse::<Outer>(Path::new("x.toml"), text).unwrap_err();
        assert_eq!(err.position, Some((2, 9)));
        assert_eq!(err.field.as_deref(), Some("inner.count"));
        assert_eq!(
            err.to_string(),
            "x.toml:2:9: field `inner.count`: invalid value: integer `-3`, expected u32"
        );
    }

    #[test]
    fn reports_syntax_errors() {
        let err = parse::<Outer>(Path::new("x.toml"), "[inner\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(1));
        assert_eq!(err.field, None);
    }
}
