//! Run a parsed program over the data, as Go's text/template/exec.go walks
//! its tree, within a step and an output budget.
//!
//! Values are borrowed from the data (`Cow`), never cloned per lookup: a
//! `{{range $.Values}}` nested nine deep must cost what it iterates, not
//! that times the size of the data.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::parse::{Op, Token, Var};
use super::{Data, Limits, TemplateError, fail};

/// A range's key (index) and value.
type Item<'a> = (Cow<'a, Data>, Cow<'a, Data>);

/// One `{{range}}` being iterated.
struct Loop<'a> {
    items: Vec<Item<'a>>,
    index: usize,
    declares: usize,
    /// Length of the variable stack before the range's own variables.
    vars_at: usize,
}

struct Machine<'a, 'l> {
    root: &'a Data,
    vars: Vec<Cow<'a, Data>>,
    steps: u64,
    limits: &'l Limits,
}

/// Run `ops` with `root` as dot.
pub(super) fn execute(ops: &[Op], root: &Data, limits: &Limits) -> Result<String, TemplateError> {
    let mut m = Machine { root, vars: Vec::new(), steps: 0, limits };
    let mut loops: Vec<Loop<'_>> = Vec::new();
    let mut out = String::new();
    let mut pc = 0;
    while let Some(op) = ops.get(pc) {
        m.charge(1)?;
        pc = match op {
            Op::Text(t) => {
                out.push_str(t);
                pc + 1
            }
            Op::Output(pipe) => {
                m.eval(pipe, dot(&loops, root))?.render(&mut out);
                pc + 1
            }
            Op::If { pipe, otherwise } => {
                if m.eval(pipe, dot(&loops, root))?.truthy() {
                    pc + 1
                } else {
                    *otherwise
                }
            }
            Op::Jump(to) => *to,
            Op::Range { declares, pipe, next, with, .. } => {
                let value = m.eval(pipe, dot(&loops, root))?;
                let items = if !*with {
                    items_of(value)?
                } else if value.truthy() {
                    vec![(Cow::Owned(Data::Int(0)), value)]
                } else {
                    Vec::new()
                };
                if items.is_empty() {
                    next + 1
                } else {
                    let vars_at = m.vars.len();
                    let l = Loop { items, index: 0, declares: *declares, vars_at };
                    m.bind(&l);
                    loops.push(l);
                    pc + 1
                }
            }
            Op::Next { start } => {
                let Some(l) = loops.last_mut() else { return fail("internal: {{end}} of a range not entered") };
                l.index += 1;
                if l.index < l.items.len() {
                    m.vars.truncate(l.vars_at);
                    m.bind(l);
                    start + 1
                } else {
                    m.vars.truncate(l.vars_at);
                    loops.pop();
                    match ops.get(*start) {
                        Some(Op::Range { end, .. }) => *end,
                        _ => return fail("internal: {{end}} without its range"),
                    }
                }
            }
        };
        if out.len() > limits.max_output {
            // Go sets no limit on the output; a commit message has no use
            // for more than this, and an unbounded one fills memory.
            return fail(format!("the message grew past {} bytes and was stopped", limits.max_output));
        }
    }
    Ok(out)
}

fn dot<'a>(loops: &[Loop<'a>], root: &'a Data) -> Cow<'a, Data> {
    match loops.last() {
        Some(l) => l.items[l.index].1.clone(),
        None => Cow::Borrowed(root),
    }
}

/// Go's walkRange: lists by index, maps in key order (ours are kept
/// sorted, as exec.go sorts map keys with internal/fmtsort), nil is empty.
fn items_of(value: Cow<'_, Data>) -> Result<Vec<Item<'_>>, TemplateError> {
    let index = |i: usize| Cow::Owned(Data::Int(i64::try_from(i).unwrap_or(i64::MAX)));
    Ok(match value {
        Cow::Borrowed(Data::List(l)) => l.iter().enumerate().map(|(i, v)| (index(i), Cow::Borrowed(v))).collect(),
        Cow::Borrowed(Data::Map(m)) => m.iter().map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))).collect(),
        Cow::Owned(Data::List(l)) => l.into_iter().enumerate().map(|(i, v)| (index(i), Cow::Owned(v))).collect(),
        Cow::Owned(Data::Map(m)) => m.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect(),
        Cow::Borrowed(Data::Nil) | Cow::Owned(Data::Nil) => Vec::new(),
        other => return fail(format!("range can't iterate over a {}", other.kind())),
    })
}

impl<'a> Machine<'a, '_> {
    fn charge(&mut self, steps: u64) -> Result<(), TemplateError> {
        self.steps += steps;
        if self.steps > self.limits.max_steps {
            // Go sets no such limit; without one, nested ranges over the
            // same values run for as long as their product.
            return fail(format!(
                "the template ran more than {} steps and was stopped (a {{{{range}}}} nested in a {{{{range}}}}?)",
                self.limits.max_steps
            ));
        }
        Ok(())
    }

    /// Set the variables a range declares for its current item: the value,
    /// or the key and the value.
    fn bind(&mut self, l: &Loop<'a>) {
        let (key, value) = &l.items[l.index];
        match l.declares {
            0 => {}
            1 => self.vars.push(value.clone()),
            _ => {
                self.vars.push(key.clone());
                self.vars.push(value.clone());
            }
        }
    }

    fn lookup(&mut self, start: Var, path: &[String], dot: &Cow<'a, Data>) -> Result<Cow<'a, Data>, TemplateError> {
        let mut value = match start {
            Var::Dot => dot.clone(),
            Var::Root => Cow::Borrowed(self.root),
            Var::Slot(slot) => match self.vars.get(slot) {
                Some(v) => v.clone(),
                // A range's variable used in its own {{else}}: Go's exec
                // finds no such variable there either.
                None => return fail("undefined variable in this {{else}}"),
            },
        };
        for field in path {
            value = match value {
                Cow::Borrowed(d) => Cow::Borrowed(self.field(d, field)?),
                Cow::Owned(d) => Cow::Owned(self.field(&d, field)?.clone()),
            };
        }
        Ok(value)
    }

    /// `.field` of a struct or a map (a missing map key is nil, as in Go).
    fn field<'d>(&mut self, value: &'d Data, field: &str) -> Result<&'d Data, TemplateError> {
        const NIL: &Data = &Data::Nil;
        match value {
            Data::Struct { fields, .. } => match fields.get(field) {
                Some(v) => Ok(v),
                None => Err(TemplateError::NoField { field: field.to_string() }),
            },
            Data::Map(entries) => {
                // Every entry compared is a step: a lookup in a huge map
                // inside a range must not escape the budget.
                let found = entries.iter().position(|(k, _)| matches!(k, Data::Str(s) if s == field));
                self.charge(found.map_or(entries.len(), |i| i + 1) as u64)?;
                Ok(found.map_or(NIL, |i| &entries[i].1))
            }
            Data::Nil => Ok(NIL),
            other => fail(format!("can't evaluate field {field} of a {}", other.kind())),
        }
    }

    /// A pipeline: commands separated by `|`, each one's value going last
    /// into the next (text/template exec.go `evalPipeline`).
    fn eval(&mut self, pipe: &[Token], dot: Cow<'a, Data>) -> Result<Cow<'a, Data>, TemplateError> {
        let mut value: Option<Cow<'a, Data>> = None;
        for command in split_pipes(pipe) {
            value = Some(self.command(command, &dot, value)?);
        }
        value.ok_or_else(|| super::TemplateError::Invalid("missing value for command".into()))
    }

    fn command(
        &mut self,
        command: &[Token],
        dot: &Cow<'a, Data>,
        piped: Option<Cow<'a, Data>>,
    ) -> Result<Cow<'a, Data>, TemplateError> {
        match command.split_first() {
            None => fail("missing command in pipeline"),
            Some((Token::Func(name), rest)) => {
                self.charge(1)?;
                let mut args = self.arguments(rest, dot)?;
                args.extend(piped);
                super::funcs::call(name, args)
            }
            Some(_) if piped.is_some() => fail("can't give argument to non-function"),
            Some(_) => {
                let mut values = self.arguments(command, dot)?;
                if values.len() != 1 {
                    return fail("a value followed by arguments is not supported");
                }
                Ok(values.remove(0))
            }
        }
    }

    /// Operands, a parenthesized pipeline counting as one.
    fn arguments(&mut self, tokens: &[Token], dot: &Cow<'a, Data>) -> Result<Vec<Cow<'a, Data>>, TemplateError> {
        let mut values = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if tokens[i] == Token::Open {
                let close = matching(tokens, i);
                values.push(self.eval(&tokens[i + 1..close], dot.clone())?);
                i = close + 1;
            } else {
                values.push(self.operand(&tokens[i], dot)?);
                i += 1;
            }
        }
        Ok(values)
    }

    fn operand(&mut self, token: &Token, dot: &Cow<'a, Data>) -> Result<Cow<'a, Data>, TemplateError> {
        match token {
            Token::Path(start, path) => self.lookup(*start, path, dot),
            Token::Str(s) => Ok(Cow::Owned(Data::Str(s.clone()))),
            Token::Int(i) => Ok(Cow::Owned(Data::Int(*i))),
            Token::Bool(b) => Ok(Cow::Owned(Data::Bool(*b))),
            Token::Func(name) => super::funcs::call(name, Vec::new()),
            Token::Pipe | Token::Open | Token::Close => fail("unexpected token in an operand"),
        }
    }
}

/// The index of the `)` that closes the `(` at `open` (the parser checked
/// they balance).
fn matching(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The commands of a pipeline: split at `|` outside parentheses.
fn split_pipes(tokens: &[Token]) -> Vec<&[Token]> {
    let mut commands = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::Open => depth += 1,
            Token::Close => depth = depth.saturating_sub(1),
            Token::Pipe if depth == 0 => {
                commands.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    commands.push(&tokens[start..]);
    commands
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(super) fn sprint(args: &[Cow<'_, Data>]) -> String {
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
pub(super) fn sprintln(args: &[Cow<'_, Data>]) -> String {
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
pub(super) fn sprintf(args: &[Cow<'_, Data>]) -> Result<String, TemplateError> {
    let Some((Data::Str(format), args)) = args.split_first().map(|(f, rest)| (f.as_ref(), rest)) else {
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
