//! Errors as plain data: a span, a message, labels and a hint. The library
//! never prints them; the command line renders them (see `cli.rs`).

use crate::syntax::ast::Span;

/// One problem with the input, located in the source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where: the primary span; `None` for a problem that has no place in
    /// the program (a request's `--wrt` that names no tensor of it).
    pub span: Option<Span>,
    /// Text under the primary span.
    pub label: String,
    /// Further places that explain the problem (an earlier definition, say).
    pub notes: Vec<(Span, String)>,
    /// How to fix it, when there is a likely fix.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and a label on its span.
    pub fn new(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span: Some(span),
            label: label.into(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// A problem that has no place in the program: a message (and a help line
    /// added with [`Diagnostic::with_help`]), no span, no label.
    pub fn unplaced(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            span: None,
            label: String::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label at another place.
    pub fn with_note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Every problem found in a program, in source order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// `1 index`, `2 indices`: a count with its noun in the right number.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The widest stretch of a source line a rendered diagnostic shows.
const WINDOW: usize = 100;

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, at: usize) -> (usize, usize) {
    let at = floor_boundary(source, at.min(source.len()));
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, source[line_start..at].chars().count() + 1)
}

fn floor_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One source line with a span marked under it, cut to a window around the span.
fn snippet(out: &mut String, source: &str, span: Span, mark: char, text: &str, gutter: usize) {
    use std::fmt::Write as _;
    let start = floor_boundary(source, span.start.min(source.len()));
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let end = floor_boundary(source, span.end.clamp(start, line_end));
    let (line_no, _) = line_col(source, start);
    let line: Vec<char> = source[line_start..line_end]
        .chars()
        .map(|c| if c == '\t' || c == '\r' { ' ' } else { c })
        .collect();
    let col = source[line_start..start].chars().count();
    let width = source[start..end].chars().count().max(1);
    // Show up to WINDOW characters, starting a little before the span.
    let from = if line.len() <= WINDOW {
        0
    } else {
        col.saturating_sub(WINDOW / 3).min(line.len() - WINDOW)
    };
    let to = (from + WINDOW).min(line.len());
    let mut shown: String = line[from..to].iter().collect();
    let mut caret_at = col - from;
    if from > 0 {
        shown.insert(0, '…');
        caret_at += 1;
    }
    if to < line.len() {
        shown.push('…');
    }
    let width = width.min(to.max(col + 1) - col);
    let pad = " ".repeat(gutter);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{line_no:>gutter$} | {shown}");
    let marks: String = std::iter::repeat_n(mark, width).collect();
    let _ = writeln!(out, "{pad} | {}{marks} {text}", " ".repeat(caret_at));
}

impl Diagnostic {
    /// Renders the diagnostic as text, the way a compiler does:
    ///
    /// ```text
    /// error: index `k` is neither on the left-hand side nor bound by a Σ
    ///  --> prog.ricci:1:11
    ///   |
    /// 1 | Y_ij = A_ik B_kj
    ///   |           ^ unbound index
    ///   = help: sum over it with `Σ_k …`, …
    /// ```
    ///
    /// A problem with no place in the program is its `error:` line and its
    /// help line, without a source line.
    pub fn render(&self, name: &str, source: &str) -> String {
        use std::fmt::Write as _;
        let Some(span) = self.span else {
            return match &self.help {
                Some(help) if !help.is_empty() => format!("error: {}\n  = help: {help}\n", self.message),
                _ => format!("error: {}\n", self.message),
            };
        };
        let mut out = String::new();
        let (line, col) = line_col(source, span.start);
        let last_line = std::iter::once(span)
            .chain(self.notes.iter().map(|(s, _)| *s))
            .map(|s| line_col(source, s.start).0)
            .max()
            .unwrap_or(line);
        let gutter = last_line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "error: {}", self.message);
        let _ = writeln!(out, "{pad}--> {name}:{line}:{col}");
        snippet(&mut out, source, span, '^', &self.label, gutter);
        for (span, text) in &self.notes {
            let (l, c) = line_col(source, span.start);
            let _ = writeln!(out, "{pad}::: {name}:{l}:{c}");
            snippet(&mut out, source, *span, '-', text, gutter);
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

impl Diagnostics {
    /// Renders every diagnostic, with a count at the end when there are several.
    pub fn render(&self, name: &str, source: &str) -> String {
        let mut out: Vec<String> = self.0.iter().map(|d| d.render(name, source)).collect();
        if self.0.len() > 1 {
            out.push(format!("error: {} problems found\n", self.0.len()));
        }
        out.join("\n")
    }
}
