//! The part of Go's `text/template` that Flux commit message templates use
//! (`ImageUpdateAutomation.spec.git.commit.messageTemplate`), evaluated as Go
//! evaluates it: `{{ .Field.Path }}`, variables (`$`, `$x.Field`), `range`
//! with zero, one or two variables over lists and maps (maps in sorted key
//! order, as Go's `range` sorts them), `if`/`else`, `print`/`println`/
//! `printf`, comments, and `{{-`/`-}}` whitespace trimming.
//!
//! Source: Go src/text/template (doc.go for the semantics; exec.go
//! `walkRange` sorts map keys with internal/fmtsort). A template using
//! anything else (pipelines with `|`, `with`, `define`, sprig functions) is
//! an error naming what is not supported, never a silently different
//! message.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A value a template sees.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Data {
    Nil,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Data>),
    /// A map, iterated in key order.
    Map(Vec<(Data, Data)>),
    /// A struct: fields by name, and how `{{ . }}` prints it (Go's
    /// `String()` method, e.g. a NamespacedName's `namespace/name`).
    Struct {
        fields: BTreeMap<String, Data>,
        display: String,
    },
}

impl Data {
    pub fn str(text: impl Into<String>) -> Self {
        Self::Str(text.into())
    }

    fn truthy(&self) -> bool {
        match self {
            Self::Nil => false,
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
            Self::Str(s) => !s.is_empty(),
            Self::List(l) => !l.is_empty(),
            Self::Map(m) => !m.is_empty(),
            Self::Struct { .. } => true,
        }
    }

    fn is_string(&self) -> bool {
        matches!(self, Self::Str(_))
    }

    /// `fmt.Sprint` of one value.
    fn render(&self, out: &mut String) {
        match self {
            Self::Nil => out.push_str("<no value>"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => out.push_str(&i.to_string()),
            Self::Str(s) => out.push_str(s),
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Self::Map(entries) => {
                out.push_str("map[");
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    k.render(out);
                    out.push(':');
                    v.render(out);
                }
                out.push(']');
            }
            Self::Struct { display, .. } => out.push_str(display),
        }
    }
}

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("commit message template: {0}")]
pub struct TemplateError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

#[derive(Debug)]
enum Node {
    Text(String),
    Output(Vec<Token>),
    Range { vars: Vec<String>, pipe: Vec<Token>, body: Vec<Node>, otherwise: Vec<Node> },
    If { pipe: Vec<Token>, body: Vec<Node>, otherwise: Vec<Node> },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// `.`, `.A.B`, `$`, `$x`, `$x.A`: a variable (`None` for dot) and a field path.
    Path(Option<String>, Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    Func(String),
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

fn tokenize(action: &str) -> Result<Vec<Token>, TemplateError> {
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
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        tokens.push(word_token(&word, action)?);
    }
    Ok(tokens)
}

fn word_token(word: &str, action: &str) -> Result<Token, TemplateError> {
    let fields = |path: &str| path.split('.').filter(|f| !f.is_empty()).map(str::to_string).collect::<Vec<_>>();
    if word == "." {
        return Ok(Token::Path(None, Vec::new()));
    }
    if let Some(path) = word.strip_prefix('.') {
        return Ok(Token::Path(None, fields(path)));
    }
    if let Some(var) = word.strip_prefix('$') {
        let (name, path) = var.split_once('.').unwrap_or((var, ""));
        return Ok(Token::Path(Some(name.to_string()), fields(path)));
    }
    if let Ok(n) = word.parse::<i64>() {
        return Ok(Token::Int(n));
    }
    match word {
        "true" | "false" => Ok(Token::Bool(word == "true")),
        "print" | "println" | "printf" => Ok(Token::Func(word.to_string())),
        "|" => fail(format!("pipelines (`|`) are not supported: {{{{{action}}}}}")),
        other => fail(format!(
            "`{other}` is not supported (only fields, variables, print, println, printf): {{{{{action}}}}}"
        )),
    }
}

/// Parse until one of `stops` (`end`, `else`); returns the nodes and the stop.
fn parse(
    parts: &mut std::iter::Peekable<std::vec::IntoIter<(bool, String)>>,
    stops: &[&str],
) -> Result<(Vec<Node>, String), TemplateError> {
    let mut nodes = Vec::new();
    while let Some((is_action, text)) = parts.next() {
        if !is_action {
            nodes.push(Node::Text(text));
            continue;
        }
        if text.starts_with("/*") {
            continue;
        }
        let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        match keyword {
            "end" | "else" if stops.contains(&keyword) => return Ok((nodes, keyword.to_string())),
            "end" | "else" => return fail(format!("unexpected {{{{{keyword}}}}}")),
            "range" => {
                let (vars, pipe) = match rest.split_once(":=") {
                    Some((vars, pipe)) => (
                        vars.split(',').map(|v| v.trim().trim_start_matches('$').to_string()).collect(),
                        tokenize(pipe)?,
                    ),
                    None => (Vec::new(), tokenize(rest)?),
                };
                let (body, stop) = parse(parts, &["end", "else"])?;
                let otherwise = if stop == "else" { parse(parts, &["end"])?.0 } else { Vec::new() };
                nodes.push(Node::Range { vars, pipe, body, otherwise });
            }
            "if" => {
                let pipe = tokenize(rest)?;
                let (body, stop) = parse(parts, &["end", "else"])?;
                let otherwise = if stop == "else" { parse(parts, &["end"])?.0 } else { Vec::new() };
                nodes.push(Node::If { pipe, body, otherwise });
            }
            "with" | "define" | "template" | "block" | "break" | "continue" => {
                return fail(format!("{{{{{keyword}}}}} is not supported"));
            }
            _ => nodes.push(Node::Output(tokenize(&text)?)),
        }
    }
    if stops.is_empty() { Ok((nodes, String::new())) } else { fail("a {{range}} or {{if}} has no {{end}}") }
}

struct Scope<'a> {
    root: &'a Data,
    vars: Vec<(String, Data)>,
}

impl Scope<'_> {
    fn lookup(&self, var: Option<&str>, path: &[String], dot: &Data) -> Result<Data, TemplateError> {
        let mut value = match var {
            None => dot.clone(),
            Some("") => self.root.clone(),
            Some(name) => match self.vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => return fail(format!("undefined variable ${name}")),
            },
        };
        for field in path {
            value = match &value {
                Data::Struct { fields, .. } => match fields.get(field) {
                    Some(v) => v.clone(),
                    None => return fail(format!("can't evaluate field {field}")),
                },
                Data::Map(entries) => {
                    entries.iter().find(|(k, _)| *k == Data::Str(field.clone())).map_or(Data::Nil, |(_, v)| v.clone())
                }
                Data::Nil => Data::Nil,
                _ => return fail(format!("can't evaluate field {field} of a {}", kind_of(&value))),
            };
        }
        Ok(value)
    }

    fn eval(&self, pipe: &[Token], dot: &Data) -> Result<Data, TemplateError> {
        let operand = |t: &Token| -> Result<Data, TemplateError> {
            match t {
                Token::Path(var, path) => self.lookup(var.as_deref(), path, dot),
                Token::Str(s) => Ok(Data::Str(s.clone())),
                Token::Int(i) => Ok(Data::Int(*i)),
                Token::Bool(b) => Ok(Data::Bool(*b)),
                Token::Func(f) => fail(format!("{f} needs to come first")),
            }
        };
        match pipe.split_first() {
            None => fail("empty action {{}}"),
            Some((Token::Func(f), args)) => {
                let args = args.iter().map(operand).collect::<Result<Vec<_>, _>>()?;
                Ok(Data::Str(match f.as_str() {
                    "print" => sprint(&args),
                    "println" => sprintln(&args),
                    _ => sprintf(&args)?,
                }))
            }
            Some((first, [])) => operand(first),
            Some(_) => fail("a value followed by arguments is not supported"),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &Data, out: &mut String) -> Result<(), TemplateError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Output(pipe) => self.eval(pipe, dot)?.render(out),
                Node::If { pipe, body, otherwise } => {
                    let branch = if self.eval(pipe, dot)?.truthy() { body } else { otherwise };
                    self.walk(branch, dot, out)?;
                }
                Node::Range { vars, pipe, body, otherwise } => {
                    let items: Vec<(Data, Data)> = match self.eval(pipe, dot)? {
                        Data::List(l) => l.into_iter().enumerate().map(|(i, v)| (Data::Int(i as i64), v)).collect(),
                        Data::Map(m) => m,
                        Data::Nil => Vec::new(),
                        other => return fail(format!("range can't iterate over a {}", kind_of(&other))),
                    };
                    if items.is_empty() {
                        self.walk(otherwise, dot, out)?;
                    }
                    for (key, value) in items {
                        let depth = self.vars.len();
                        match vars.as_slice() {
                            [] => {}
                            [v] => self.vars.push((v.clone(), value.clone())),
                            [k, v] => {
                                self.vars.push((k.clone(), key));
                                self.vars.push((v.clone(), value.clone()));
                            }
                            _ => return fail("range declares at most two variables"),
                        }
                        self.walk(body, &value, out)?;
                        self.vars.truncate(depth);
                    }
                }
            }
        }
        Ok(())
    }
}

fn kind_of(value: &Data) -> &'static str {
    match value {
        Data::Nil => "nil",
        Data::Bool(_) => "bool",
        Data::Int(_) => "int",
        Data::Str(_) => "string",
        Data::List(_) => "slice",
        Data::Map(_) => "map",
        Data::Struct { .. } => "struct",
    }
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
fn sprint(args: &[Data]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        a.render(&mut out);
    }
    out
}

/// `fmt.Sprintln`: always spaces between operands, and a newline.
fn sprintln(args: &[Data]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        a.render(&mut out);
    }
    out.push('\n');
    out
}

/// `fmt.Sprintf` for `%s`, `%v`, `%d`, `%q` and `%%`.
fn sprintf(args: &[Data]) -> Result<String, TemplateError> {
    let Some((Data::Str(format), args)) = args.split_first() else {
        return fail("printf needs a format string first");
    };
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'v' | 'd' | 'q')) => {
                let mut text = String::new();
                match args.next() {
                    Some(a) => a.render(&mut text),
                    None => text = format!("%!{verb}(MISSING)"),
                }
                if verb == 'q' {
                    let _ = write!(out, "{text:?}");
                } else {
                    out.push_str(&text);
                }
            }
            other => return fail(format!("printf verb %{} is not supported", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

/// Render `template` with `data` as dot.
pub fn render(template: &str, data: &Data) -> Result<String, TemplateError> {
    let mut parts = lex(template)?.into_iter().peekable();
    let (nodes, _) = parse(&mut parts, &[])?;
    let mut out = String::new();
    Scope { root: data, vars: Vec::new() }.walk(&nodes, data, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Data {
        let change = |old: &str, new: &str| Data::Struct {
            fields: BTreeMap::from([
                ("OldValue".into(), Data::str(old)),
                ("NewValue".into(), Data::str(new)),
                ("Setter".into(), Data::str("flux-system:podinfo")),
            ]),
            display: format!("{{{old} {new} flux-system:podinfo}}"),
        };
        let object = Data::Struct {
            fields: BTreeMap::from([("Kind".into(), Data::str("Deployment")), ("Name".into(), Data::str("podinfo"))]),
            display: "podinfo".into(),
        };
        Data::Struct {
            fields: BTreeMap::from([
                (
                    "AutomationObject".into(),
                    Data::Struct { fields: BTreeMap::new(), display: "flux-system/auto".into() },
                ),
                (
                    "Changed".into(),
                    Data::Struct {
                        fields: BTreeMap::from([
                            ("Changes".into(), Data::List(vec![change("5.0.0", "5.0.3")])),
                            (
                                "FileChanges".into(),
                                Data::Map(vec![
                                    (Data::str("a.yaml"), Data::Map(vec![])),
                                    (Data::str("b.yaml"), Data::Map(vec![])),
                                ]),
                            ),
                            ("Objects".into(), Data::Map(vec![(object, Data::List(vec![change("5.0.0", "5.0.3")]))])),
                        ]),
                        display: String::new(),
                    },
                ),
                ("Values".into(), Data::Map(vec![(Data::str("env"), Data::str("prod"))])),
            ]),
            display: String::new(),
        }
    }

    /// The templates of Flux's documentation (fluxcd.io
    /// image-update-automations "Message template").
    #[test]
    fn flux_documentation_templates() {
        assert_eq!(
            render("{{range .Changed.Changes}}{{print .OldValue}} -> {{println .NewValue}}{{end}}", &data()).unwrap(),
            "5.0.0 -> 5.0.3\n"
        );
        let docs = "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\nFiles:\n{{ range $filename, $_ := .Changed.FileChanges -}}\n- {{ $filename }}\n{{ end -}}\n\nObjects:\n{{ range $resource, $changes := .Changed.Objects -}}\n- {{ $resource.Kind }} {{ $resource.Name }}\n  Changes:\n{{- range $_, $change := $changes }}\n    - {{ $change.OldValue }} -> {{ $change.NewValue }}\n{{ end -}}\n{{ end -}}\n";
        assert_eq!(
            render(docs, &data()).unwrap(),
            // `{{ end -}}` eats the blank line before "Objects:", as in Go.
            "Automated image update\n\nAutomation name: flux-system/auto\n\nFiles:\n- a.yaml\n- b.yaml\nObjects:\n- Deployment podinfo\n  Changes:\n    - 5.0.0 -> 5.0.3\n"
        );
        assert_eq!(
            render("env={{ .Values.env }} missing={{ .Values.nope }}", &data()).unwrap(),
            "env=prod missing=<no value>"
        );
        assert_eq!(render("{{ if .Changed.Changes }}yes{{ else }}no{{ end }}", &data()).unwrap(), "yes");
        assert_eq!(render("{{ printf \"%s: %d\" \"n\" 3 }}{{/* note */}}", &data()).unwrap(), "n: 3");
    }

    #[test]
    fn what_is_not_supported_is_named() {
        for (t, expect) in [
            ("{{ .Changed.Changes | len }}", "pipelines"),
            ("{{ with .Values }}x{{ end }}", "{{with}} is not supported"),
            ("{{ upper .Values.env }}", "`upper` is not supported"),
            ("{{ .Changed.Nope }}", "can't evaluate field Nope"),
            ("{{ range .Changed.Changes }}", "has no {{end}}"),
            ("{{ .AutomationObject", "never closed"),
        ] {
            let err = render(t, &data()).unwrap_err().to_string();
            assert!(err.contains(expect), "{t}: {err}");
        }
    }
}
