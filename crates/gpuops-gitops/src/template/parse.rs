//! Template text → a flat program of [`Op`]s with jumps.
//!
//! Flat, not a tree: a hostile template nesting 30,000 `{{if}}`s costs a
//! vector entry per level here, never a Rust stack frame — neither while
//! parsing, nor while executing, nor while dropping the program (a tree of
//! boxed nodes drops recursively).

use super::{TemplateError, fail};

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Var {
    /// `.`
    Dot,
    /// `$`: the data passed to the template, wherever it is used.
    Root,
    /// A variable a `{{range}}` declared, by its place on the variable
    /// stack (resolved here, as Go's parser checks variables: parse.go
    /// `useVar`, "undefined variable").
    Slot(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    /// `.`, `.A.B`, `$`, `$x`, `$x.A`.
    Path(Var, Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    /// A function of the map (funcs.rs `NAMES`).
    Func(&'static str),
    /// `|`: the value so far goes last into the next command.
    Pipe,
    /// `(` and `)`: a pipeline used as one operand.
    Open,
    Close,
}

/// Parenthesized pipelines nest at most this deep in one action (Go's
/// parser applies `maxStackDepth` to them; far less is plenty here and
/// keeps the evaluator's recursion short).
const MAX_PARENS: usize = 100;

#[derive(Debug)]
pub(super) enum Op {
    Text(String),
    Output(Vec<Token>),
    /// When the pipeline is false, go to `otherwise` (the `{{else}}` body
    /// or past the `{{end}}`).
    If {
        pipe: Vec<Token>,
        otherwise: usize,
    },
    Jump(usize),
    /// Nothing to iterate: go to `next + 1` (the `{{else}}` body or past
    /// the `{{end}}`); else bind `declares` variables and run the body.
    Range {
        declares: usize,
        pipe: Vec<Token>,
        next: usize,
        end: usize,
        /// `{{with}}`: the one value, when it is not empty.
        with: bool,
    },
    /// End of a range body: the next item runs the body again from
    /// `start + 1`; after the last one, go to the range's `end`.
    Next {
        start: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    If,
    Range,
}

/// A `{{if}}` or `{{range}}` whose `{{end}}` is still to come.
struct Open {
    kind: Kind,
    /// Index of its `If` / `Range` op.
    at: usize,
    /// Index of the `Jump` / `Next` emitted at its `{{else}}`.
    else_at: Option<usize>,
    /// Opened by `{{else if}}`: its `{{end}}` also closes the parent.
    chained: bool,
    /// Variables in scope before it.
    vars: usize,
}

/// Split into text and actions, applying `{{-` / `-}}` trimming.
fn lex(template: &str) -> Result<Vec<(bool, String)>, TemplateError> {
    let mut parts: Vec<(bool, String)> = Vec::new();
    let mut rest = template;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { return fail("an action opened with {{ is never closed") };
        let mut action = &after[..end];
        if let Some(a) = action.strip_prefix("- ").or_else(|| action.strip_prefix("-\n")) {
            text = text.trim_end();
            action = a;
        }
        trim_next = false;
        if let Some(a) = action.strip_suffix(" -").or_else(|| action.strip_suffix("\n-")) {
            trim_next = true;
            action = a;
        }
        if !text.is_empty() {
            parts.push((false, text.to_string()));
        }
        parts.push((true, action.trim().to_string()));
        rest = &after[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    if !text.is_empty() {
        parts.push((false, text.to_string()));
    }
    Ok(parts)
}

fn tokenize(action: &str, vars: &[String]) -> Result<Vec<Token>, TemplateError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = action.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                    s.push(match chars[i] {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    s.push(chars[i]);
                }
                i += 1;
            }
            if i >= chars.len() {
                return fail(format!("unterminated string in {{{{{action}}}}}"));
            }
            i += 1;
            tokens.push(Token::Str(s));
            continue;
        }
        if matches!(c, '|' | '(' | ')') {
            tokens.push(match c {
                '|' => Token::Pipe,
                '(' => Token::Open,
                _ => Token::Close,
            });
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '|' | '(' | ')' | '"') {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        tokens.push(word_token(&word, action, vars)?);
    }
    let mut depth = 0usize;
    for t in &tokens {
        match t {
            Token::Open => depth += 1,
            Token::Close if depth == 0 => return fail(format!("unexpected \")\" in {{{{{action}}}}}")),
            Token::Close => depth -= 1,
            _ => {}
        }
        if depth > MAX_PARENS {
            return fail(format!("parenthesized pipelines nest more than {MAX_PARENS} deep"));
        }
    }
    if depth > 0 {
        return fail(format!("unclosed left paren in {{{{{action}}}}}"));
    }
    Ok(tokens)
}

fn word_token(word: &str, action: &str, vars: &[String]) -> Result<Token, TemplateError> {
    let fields = |path: &str| path.split('.').filter(|f| !f.is_empty()).map(str::to_string).collect::<Vec<_>>();
    if word == "." {
        return Ok(Token::Path(Var::Dot, Vec::new()));
    }
    if let Some(path) = word.strip_prefix('.') {
        return Ok(Token::Path(Var::Dot, fields(path)));
    }
    if let Some(var) = word.strip_prefix('$') {
        let (name, path) = var.split_once('.').unwrap_or((var, ""));
        let start = if name.is_empty() {
            Var::Root
        } else {
            match vars.iter().rposition(|v| v == name) {
                Some(slot) => Var::Slot(slot),
                None => return fail(format!("undefined variable \"${name}\"")),
            }
        };
        return Ok(Token::Path(start, fields(path)));
    }
    if let Ok(n) = word.parse::<i64>() {
        return Ok(Token::Int(n));
    }
    match word {
        "true" | "false" => Ok(Token::Bool(word == "true")),
        other => match super::funcs::NAMES.iter().find(|n| **n == other) {
            Some(name) => Ok(Token::Func(name)),
            // Go's parser: parse.go `function %q not defined`.
            None => fail(format!("function \"{other}\" not defined: {{{{{action}}}}}")),
        },
    }
}

/// Parse `template` into a program; `{{if}}`/`{{range}}` may nest at most
/// `max_depth` deep.
pub(super) fn parse(template: &str, max_depth: usize) -> Result<Vec<Op>, TemplateError> {
    let mut parser = Parser { ops: Vec::new(), open: Vec::new(), vars: Vec::new(), max_depth };
    for (is_action, text) in lex(template)? {
        if !is_action {
            parser.ops.push(Op::Text(text));
            continue;
        }
        if text.starts_with("/*") {
            continue;
        }
        let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        match keyword {
            "if" => parser.open_if(rest, false)?,
            "range" => parser.open_range(rest, false)?,
            // exec.go `walk` for WithNode: dot is the value when it is not
            // empty, else the `{{else}}` body runs — a range over that one
            // value, here.
            "with" => parser.open_range(rest, true)?,
            "else" => parser.otherwise(rest)?,
            "end" => parser.end()?,
            "define" | "template" | "block" | "break" | "continue" => {
                return fail(format!("{{{{{keyword}}}}} is not supported"));
            }
            _ => {
                let pipe = tokenize(&text, &parser.vars)?;
                parser.ops.push(Op::Output(pipe));
            }
        }
    }
    if parser.open.is_empty() { Ok(parser.ops) } else { fail("a {{range}} or {{if}} has no {{end}}") }
}

struct Parser {
    ops: Vec<Op>,
    open: Vec<Open>,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    max_depth: usize,
}

impl Parser {
    fn push_open(&mut self, kind: Kind, chained: bool, op: Op) -> Result<(), TemplateError> {
        // Go caps nesting of parenthesized pipelines at 10000 (text/template/
        // parse/parse.go `maxStackDepth`, checked in `term`: "max expression
        // depth exceeded") and leaves control nesting to its growable
        // goroutine stacks; gpuops applies the same number to `{{if}}` and
        // `{{range}}`, the nesting this subset has.
        if self.open.len() >= self.max_depth {
            return fail(format!(
                "max depth exceeded: {{{{if}}}} and {{{{range}}}} nest at most {} deep",
                self.max_depth
            ));
        }
        self.open.push(Open { kind, at: self.ops.len(), else_at: None, chained, vars: self.vars.len() });
        self.ops.push(op);
        Ok(())
    }

    fn open_if(&mut self, rest: &str, chained: bool) -> Result<(), TemplateError> {
        let pipe = tokenize(rest, &self.vars)?;
        self.push_open(Kind::If, chained, Op::If { pipe, otherwise: 0 })
    }

    fn open_range(&mut self, rest: &str, with: bool) -> Result<(), TemplateError> {
        let (declared, pipe) = match rest.split_once(":=") {
            Some((names, pipe)) => (names.split(',').map(|v| v.trim().to_string()).collect::<Vec<_>>(), pipe),
            None => (Vec::new(), rest),
        };
        if declared.len() > 2 || (with && declared.len() > 1) {
            return fail("too many declarations (range: at most two, with: one)");
        }
        if let Some(bad) = declared.iter().find(|v| v.len() < 2 || !v.starts_with('$') || v.contains('.')) {
            return fail(format!("range can only initialize variables, not {bad:?}"));
        }
        // The pipeline is read before its own variables exist.
        let pipe = tokenize(pipe, &self.vars)?;
        let declares = declared.len();
        self.push_open(Kind::Range, false, Op::Range { declares, pipe, next: 0, end: 0, with })?;
        self.vars.extend(declared.into_iter().map(|v| v[1..].to_string()));
        Ok(())
    }

    /// `{{else}}` or `{{else if PIPELINE}}`.
    fn otherwise(&mut self, rest: &str) -> Result<(), TemplateError> {
        let Some(top) = self.open.last_mut() else { return fail("unexpected {{else}}") };
        if top.else_at.is_some() {
            return fail("expected {{end}}; found a second {{else}}");
        }
        top.else_at = Some(self.ops.len());
        match top.kind {
            Kind::If => {
                self.ops.push(Op::Jump(0));
                let start = self.ops.len();
                if let Op::If { otherwise, .. } = &mut self.ops[top.at] {
                    *otherwise = start;
                }
            }
            Kind::Range => {
                // The range's variables are not set in its else body.
                self.vars.truncate(top.vars);
                self.ops.push(Op::Next { start: top.at });
            }
        }
        let kind = top.kind;
        match rest.trim().strip_prefix("if") {
            Some(cond) if cond.is_empty() || cond.starts_with(char::is_whitespace) => {
                // Go's parseControl: `{{else if b}}` is `{{else}}{{if b}}` sharing one `{{end}}`.
                if kind != Kind::If {
                    return fail("{{else if}} is only allowed in {{if}}");
                }
                self.open_if(cond, true)
            }
            _ if rest.trim().is_empty() => Ok(()),
            _ => fail("{{else}} takes nothing but `if PIPELINE`"),
        }
    }

    /// `{{end}}`: close the innermost control, and the `{{if}}`s an
    /// `{{else if}}` chain opened.
    fn end(&mut self) -> Result<(), TemplateError> {
        loop {
            let Some(top) = self.open.pop() else { return fail("unexpected {{end}}") };
            self.close(&top);
            if !top.chained {
                return Ok(());
            }
        }
    }

    fn close(&mut self, top: &Open) {
        match top.kind {
            Kind::If => {
                let end = self.ops.len();
                match top.else_at {
                    Some(jump) => self.ops[jump] = Op::Jump(end),
                    None => {
                        if let Op::If { otherwise, .. } = &mut self.ops[top.at] {
                            *otherwise = end;
                        }
                    }
                }
            }
            Kind::Range => {
                let next = top.else_at.unwrap_or_else(|| {
                    self.vars.truncate(top.vars);
                    self.ops.push(Op::Next { start: top.at });
                    self.ops.len() - 1
                });
                let end_at = self.ops.len();
                if let Op::Range { next: n, end, .. } = &mut self.ops[top.at] {
                    (*n, *end) = (next, end_at);
                }
            }
        }
    }
}
