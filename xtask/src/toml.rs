//! A small TOML reader, enough for Cargo manifests (xtask has no
//! dependencies, so no `toml` crate).
//!
//! It reads tables, arrays of tables, dotted keys, inline tables, arrays
//! spread over lines, all four string forms, booleans and comments. Numbers
//! and dates are kept as their source text. It refuses duplicate keys, as
//! Cargo does. It is lenient where Cargo manifests never go (it does not
//! validate dates or number formats).

use std::fmt;

/// A TOML value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Toml {
    /// A string of any of the four kinds, unescaped.
    String(String),
    /// `true` or `false`.
    Bool(bool),
    /// A number or a date, as written.
    Scalar(String),
    /// An array (also an array of tables).
    Array(Vec<Toml>),
    /// A table (also an inline table).
    Table(Table),
}

/// A table: keys in source order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Table(Vec<(String, Toml)>);

/// Why a text is not a manifest we can read, with the line where that
/// became clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TomlError {
    /// 1-based line number.
    pub(crate) line: usize,
    /// What was wrong there.
    pub(crate) message: String,
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl Toml {
    /// The value at `key`, if this is a table that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Toml> {
        self.as_table().and_then(|t| t.get(key))
    }

    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Toml::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Toml::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub(crate) fn as_array(&self) -> Option<&[Toml]> {
        match self {
            Toml::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub(crate) fn as_table(&self) -> Option<&Table> {
        match self {
            Toml::Table(t) => Some(t),
            _ => None,
        }
    }
}

impl Table {
    /// Parses a whole TOML document.
    pub(crate) fn parse(text: &str) -> Result<Table, TomlError> {
        Parser { text, pos: 0 }.document()
    }

    /// The value at `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Toml> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Follows keys through nested tables: `t.path(&["package", "name"])`.
    pub(crate) fn path(&self, keys: &[&str]) -> Option<&Toml> {
        let (first, rest) = keys.split_first()?;
        rest.iter()
            .try_fold(self.get(first)?, |value, key| value.get(key))
    }

    /// The entries, in source order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Toml)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The table at `path` below this one, created if missing. An array of
    /// tables on the way stands for its last element, as in TOML headers.
    fn descend(&mut self, path: &[String]) -> Result<&mut Table, String> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(self);
        };
        let index = match self.0.iter().position(|(k, _)| k == first) {
            Some(index) => index,
            None => {
                self.0.push((first.clone(), Toml::Table(Table::default())));
                self.0.len() - 1
            }
        };
        let next = match &mut self.0[index].1 {
            Toml::Table(table) => table,
            Toml::Array(items) => match items.last_mut() {
                Some(Toml::Table(table)) => table,
                _ => return Err(format!("`{first}` is an array, not a table")),
            },
            _ => return Err(format!("`{first}` is a value, not a table")),
        };
        next.descend(rest)
    }

    /// Sets the dotted key `keys` to `value`; a key may be set only once.
    fn insert(&mut self, keys: &[String], value: Toml) -> Result<(), String> {
        let (last, parents) = keys.split_last().ok_or("empty key")?;
        let table = self.descend(parents)?;
        if table.get(last).is_some() {
            return Err(format!("duplicate key `{}`", keys.join(".")));
        }
        table.0.push((last.clone(), value));
        Ok(())
    }

    /// Appends a new empty table to the array of tables at `keys`.
    fn push_array_table(&mut self, keys: &[String]) -> Result<(), String> {
        let (last, parents) = keys.split_last().ok_or("empty key")?;
        let table = self.descend(parents)?;
        match table.0.iter_mut().find(|(k, _)| k == last) {
            Some((_, Toml::Array(items))) => items.push(Toml::Table(Table::default())),
            Some(_) => return Err(format!("`{}` is not an array of tables", keys.join("."))),
            None => table
                .0
                .push((last.clone(), Toml::Array(vec![Toml::Table(Table::default())]))),
        }
        Ok(())
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> TomlError {
        let line = 1 + self.text[..self.pos.min(self.text.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        TomlError {
            line,
            message: message.into(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some(b'#') {
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.pos += 1;
            }
        }
    }

    /// Skips spaces, newlines and comments.
    fn skip_blank(&mut self) {
        loop {
            self.skip_spaces();
            self.skip_comment();
            match self.peek() {
                Some(b'\n') => self.pos += 1,
                Some(b'\r') if self.rest().starts_with("\r\n") => self.pos += 2,
                _ => return,
            }
        }
    }

    /// After a header or a key/value pair only a comment may follow on the line.
    fn end_of_line(&mut self) -> Result<(), TomlError> {
        self.skip_spaces();
        self.skip_comment();
        match self.peek() {
            None | Some(b'\n') => Ok(()),
            Some(b'\r') if self.rest().starts_with("\r\n") => Ok(()),
            Some(_) => Err(self.error("expected the end of the line")),
        }
    }

    fn document(&mut self) -> Result<Table, TomlError> {
        let mut root = Table::default();
        let mut current: Vec<String> = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => return Ok(root),
                Some(b'[') => {
                    let array = self.rest().starts_with("[[");
                    self.pos += if array { 2 } else { 1 };
                    self.skip_spaces();
                    let keys = self.key()?;
                    self.skip_spaces();
                    let close = if array { "]]" } else { "]" };
                    if !self.rest().starts_with(close) {
                        return Err(self.error(format!("expected `{close}`")));
                    }
                    self.pos += close.len();
                    let made = if array {
                        root.push_array_table(&keys)
                    } else {
                        root.descend(&keys).map(|_| ())
                    };
                    made.map_err(|e| self.error(e))?;
                    current = keys;
                }
                Some(_) => {
                    let keys = self.key()?;
                    self.skip_spaces();
                    if self.peek() != Some(b'=') {
                        return Err(self.error("expected `=` after the key"));
                    }
                    self.pos += 1;
                    self.skip_spaces();
                    let value = self.value()?;
                    let table = root.descend(&current).map_err(|e| self.error(e))?;
                    table.insert(&keys, value).map_err(|e| self.error(e))?;
                }
            }
            self.end_of_line()?;
        }
    }

    /// A dotted key: `a`, `a.b`, `"quoted".b`, `'lit' . c`.
    fn key(&mut self) -> Result<Vec<String>, TomlError> {
        let mut keys = Vec::new();
        loop {
            self.skip_spaces();
            let key = match self.peek() {
                Some(b'"') => self.basic_string()?,
                Some(b'\'') => self.literal_string()?,
                _ => {
                    let start = self.pos;
                    while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    {
                        self.pos += 1;
                    }
                    if start == self.pos {
                        return Err(self.error("expected a key"));
                    }
                    self.text[start..self.pos].to_owned()
                }
            };
            keys.push(key);
            self.skip_spaces();
            if self.peek() == Some(b'.') {
                self.pos += 1;
            } else {
                return Ok(keys);
            }
        }
    }

    fn value(&mut self) -> Result<Toml, TomlError> {
        match self.peek() {
            Some(b'"') if self.rest().starts_with("\"\"\"") => {
                self.multiline_basic_string().map(Toml::String)
            }
            Some(b'"') => self.basic_string().map(Toml::String),
            Some(b'\'') if self.rest().starts_with("'''") => {
                self.multiline_literal_string().map(Toml::String)
            }
            Some(b'\'') => self.literal_string().map(Toml::String),
            Some(b'[') => self.array(),
            Some(b'{') => self.inline_table(),
            Some(_) => self.bare_value(),
            None => Err(self.error("expected a value")),
        }
    }

    /// `true`, `false`, a number or a date: everything up to a delimiter.
    fn bare_value(&mut self) -> Result<Toml, TomlError> {
        let start = self.pos;
        while !matches!(
            self.peek(),
            None | Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}' | b'#')
        ) {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        match word {
            "true" => Ok(Toml::Bool(true)),
            "false" => Ok(Toml::Bool(false)),
            "inf" | "+inf" | "-inf" | "nan" | "+nan" | "-nan" => Ok(Toml::Scalar(word.to_owned())),
            _ if word.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-') => {
                Ok(Toml::Scalar(word.to_owned()))
            }
            _ => {
                self.pos = start;
                Err(self.error(format!("expected a value, found `{word}`")))
            }
        }
    }

    fn array(&mut self) -> Result<Toml, TomlError> {
        self.pos += 1; // `[`
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Toml::Array(items));
            }
            items.push(self.value()?);
            self.skip_blank();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Toml::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]` in the array")),
            }
        }
    }

    fn inline_table(&mut self) -> Result<Toml, TomlError> {
        self.pos += 1; // `{`
        let mut table = Table::default();
        self.skip_blank();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Toml::Table(table));
        }
        loop {
            self.skip_blank();
            let keys = self.key()?;
            self.skip_spaces();
            if self.peek() != Some(b'=') {
                return Err(self.error("expected `=` in the inline table"));
            }
            self.pos += 1;
            self.skip_spaces();
            let value = self.value()?;
            table.insert(&keys, value).map_err(|e| self.error(e))?;
            self.skip_blank();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Toml::Table(table));
                }
                _ => return Err(self.error("expected `,` or `}` in the inline table")),
            }
        }
    }

    fn literal_string(&mut self) -> Result<String, TomlError> {
        self.pos += 1; // `'`
        let start = self.pos;
        while !matches!(self.peek(), None | Some(b'\'' | b'\n')) {
            self.pos += 1;
        }
        if self.peek() != Some(b'\'') {
            return Err(self.error("unterminated literal string"));
        }
        let s = self.text[start..self.pos].to_owned();
        self.pos += 1;
        Ok(s)
    }

    fn multiline_literal_string(&mut self) -> Result<String, TomlError> {
        self.pos += 3;
        self.skip_first_newline();
        let end = self
            .rest()
            .find("'''")
            .ok_or_else(|| self.error("unterminated multi-line literal string"))?;
        // Up to two quotes may directly precede the closing delimiter.
        let extra = self.rest()[end + 3..]
            .bytes()
            .take(2)
            .take_while(|&b| b == b'\'')
            .count();
        let s = self.rest()[..end + extra].to_owned();
        self.pos += end + extra + 3;
        Ok(s)
    }

    fn skip_first_newline(&mut self) {
        if self.rest().starts_with('\n') {
            self.pos += 1;
        } else if self.rest().starts_with("\r\n") {
            self.pos += 2;
        }
    }

    fn basic_string(&mut self) -> Result<String, TomlError> {
        self.pos += 1; // `"`
        let mut out = String::new();
        loop {
            let start = self.pos;
            while !matches!(self.peek(), None | Some(b'"' | b'\\' | b'\n')) {
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape()?),
                _ => return Err(self.error("unterminated string")),
            }
        }
    }

    fn multiline_basic_string(&mut self) -> Result<String, TomlError> {
        self.pos += 3;
        self.skip_first_newline();
        let mut out = String::new();
        loop {
            let start = self.pos;
            while !matches!(self.peek(), None | Some(b'"' | b'\\')) {
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') if self.rest().starts_with("\"\"\"") => {
                    let quotes = self.rest().bytes().take(5).take_while(|&b| b == b'"').count();
                    out.push_str(&"\"".repeat(quotes - 3));
                    self.pos += quotes;
                    return Ok(out);
                }
                Some(b'"') => {
                    out.push('"');
                    self.pos += 1;
                }
                Some(b'\\') => {
                    let after = &self.rest()[1..];
                    let trimmed = after.trim_start_matches([' ', '\t']);
                    if trimmed.starts_with('\n') || trimmed.starts_with("\r\n") {
                        // A line-ending backslash eats the newline and the
                        // indentation that follows.
                        let skipped = after.len() - after.trim_start_matches([' ', '\t', '\r', '\n']).len();
                        self.pos += 1 + skipped;
                    } else {
                        out.push(self.escape()?);
                    }
                }
                _ => return Err(self.error("unterminated multi-line string")),
            }
        }
    }

    /// One escape sequence, at the backslash.
    fn escape(&mut self) -> Result<char, TomlError> {
        self.pos += 1; // `\`
        let c = self.peek().ok_or_else(|| self.error("unfinished escape"))?;
        self.pos += 1;
        let simple = match c {
            b'b' => Some('\u{8}'),
            b't' => Some('\t'),
            b'n' => Some('\n'),
            b'f' => Some('\u{c}'),
            b'r' => Some('\r'),
            b'e' => Some('\u{1b}'),
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            _ => None,
        };
        if let Some(simple) = simple {
            return Ok(simple);
        }
        let digits = match c {
            b'u' => 4,
            b'U' => 8,
            _ => return Err(self.error("unknown escape")),
        };
        let hex = self
            .text
            .get(self.pos..self.pos + digits)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("bad unicode escape"))?;
        self.pos += digits;
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error("escape is not a Unicode scalar value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Toml {
        Toml::String(text.to_owned())
    }

    #[test]
    fn reads_a_member_manifest() {
        let manifest = Table::parse(
            r#"
# A comment.
[package]
name = "uasyncio-udp"   # trailing comment
version.workspace = true
keywords = [
    "async",   # comment inside an array
    "udp",
]
description = "with a # inside"

[dependencies]
uasyncio-core = { workspace = true, features = ["mio"] }
mio.workspace = true
log = "0.4"

[dependencies.socket2]
version = "0.6"
features = ["all"]

[target.'cfg(unix)'.dependencies]
libc = { version = "0.2", optional = true }

[dev-dependencies]
uasyncio-test = { path = "../uasyncio-test" }

[[bench]]
name = "compare"
harness = false

[[bench]]
name = "second"

[package.metadata.xtask]
run-examples = ["tour"]
"#,
        )
        .unwrap();
        assert_eq!(manifest.path(&["package", "name"]), Some(&s("uasyncio-udp")));
        assert_eq!(
            manifest.path(&["package", "version", "workspace"]),
            Some(&Toml::Bool(true))
        );
        assert_eq!(
            manifest.path(&["package", "keywords"]),
            Some(&Toml::Array(vec![s("async"), s("udp")]))
        );
        assert_eq!(
            manifest.path(&["package", "description"]),
            Some(&s("with a # inside"))
        );
        let deps = manifest.get("dependencies").unwrap().as_table().unwrap();
        let names: Vec<&str> = deps.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["uasyncio-core", "mio", "log", "socket2"]);
        assert_eq!(
            deps.get("uasyncio-core").unwrap().get("workspace"),
            Some(&Toml::Bool(true))
        );
        assert_eq!(deps.get("log"), Some(&s("0.4")));
        assert_eq!(deps.get("socket2").unwrap().get("version"), Some(&s("0.6")));
        assert_eq!(
            manifest.path(&["target", "cfg(unix)", "dependencies", "libc", "optional"]),
            Some(&Toml::Bool(true))
        );
        let benches = manifest.get("bench").unwrap().as_array().unwrap();
        assert_eq!(benches.len(), 2);
        assert_eq!(benches[0].get("harness"), Some(&Toml::Bool(false)));
        assert_eq!(benches[1].get("name"), Some(&s("second")));
        assert_eq!(
            manifest.path(&["package", "metadata", "xtask", "run-examples"]),
            Some(&Toml::Array(vec![s("tour")]))
        );
    }

    #[test]
    fn reads_every_string_form_and_scalars() {
        let doc = Table::parse(
            "a = \"tab\\there \\u00e9\"\n\
             b = 'C:\\raw'\n\
             c = \"\"\"\nline one\nline \\\n    two\"\"\"\n\
             d = '''\nkeep \\n as is'''\n\
             e = 3\n\
             f = -1.5e3\n\
             g = [1, [2, 3], { x = 1 }]\n\
             \"quoted key\".inner = false\n",
        )
        .unwrap();
        assert_eq!(doc.get("a"), Some(&s("tab\there é")));
        assert_eq!(doc.get("b"), Some(&s("C:\\raw")));
        assert_eq!(doc.get("c"), Some(&s("line one\nline two")));
        assert_eq!(doc.get("d"), Some(&s("keep \\n as is")));
        assert_eq!(doc.get("e"), Some(&Toml::Scalar("3".into())));
        assert_eq!(doc.get("f"), Some(&Toml::Scalar("-1.5e3".into())));
        assert_eq!(doc.get("g").unwrap().as_array().unwrap().len(), 3);
        assert_eq!(doc.path(&["quoted key", "inner"]), Some(&Toml::Bool(false)));
    }

    #[test]
    fn refuses_broken_manifests_with_a_line_number() {
        for (bad, line) in [
            ("[package\nname = \"x\"", 1),
            ("a = 1\na = 2", 2),
            ("\n\nname = \"unterminated", 3),
            ("a = [1 2]", 1),
            ("a = bare", 1),
            ("a = 1 b = 2", 1),
            ("a = 1\n[a]\nb = 2", 2),
        ] {
            let err = Table::parse(bad).expect_err(bad);
            assert_eq!(err.line, line, "{bad:?}: {err}");
        }
    }
}
