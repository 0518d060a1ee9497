//! The functions a template may call: Go's text/template builtins
//! (text/template/funcs.go `builtins`: and, or, not, len, index, eq, ne,
//! lt, le, gt, ge, print, printf, println) and the text functions of
//! sprig's `HermeticTxtFuncMap` that Flux wires in (source.go
//! `templateMsg`; Masterminds/sprig functions.go `genericMap`).

use std::borrow::Cow;

use super::{Data, TemplateError, fail};

/// The names a template may call.
pub(super) const NAMES: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "print",
    "printf",
    "println",
    "lower",
    "upper",
    "title",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "replace",
    "quote",
    "squote",
    "repeat",
    "default",
    "empty",
    "join",
    "trunc",
    "nospace",
    "indent",
    "nindent",
    "toString",
    "cat",
];

type Args<'a> = Vec<Cow<'a, Data>>;

fn text(d: &Data) -> String {
    let mut s = String::new();
    d.render(&mut s);
    s
}

/// A string argument, as sprig's typed parameters want one.
fn string_arg(name: &str, d: &Data) -> Result<String, TemplateError> {
    match d {
        Data::Str(s) => Ok(s.clone()),
        other => fail(format!("error calling {name}: wrong type for value; expected string; got {}", other.kind())),
    }
}

fn int_arg(name: &str, d: &Data) -> Result<i64, TemplateError> {
    match d {
        Data::Int(i) => Ok(*i),
        other => fail(format!("error calling {name}: wrong type for value; expected int; got {}", other.kind())),
    }
}

fn arity(name: &str, args: &[Cow<'_, Data>], want: usize) -> Result<(), TemplateError> {
    if args.len() == want {
        Ok(())
    } else {
        fail(format!("wrong number of args for {name}: want {want} got {}", args.len()))
    }
}

/// funcs.go `eq`/`lt`: basic kinds compared, others refused.
fn compare(name: &str, a: &Data, b: &Data) -> Result<std::cmp::Ordering, TemplateError> {
    match (a, b) {
        (Data::Int(x), Data::Int(y)) => Ok(x.cmp(y)),
        (Data::Str(x), Data::Str(y)) => Ok(x.cmp(y)),
        (Data::Bool(x), Data::Bool(y)) if matches!(name, "eq" | "ne") => Ok(x.cmp(y)),
        _ => fail(format!("error calling {name}: incompatible types for comparison")),
    }
}

/// funcs.go `index`: a list by position, a map by key (a missing key is the
/// element type's zero value: "" in Flux's string maps).
fn index<'a>(mut item: Cow<'a, Data>, keys: &[Cow<'a, Data>]) -> Result<Cow<'a, Data>, TemplateError> {
    for key in keys {
        let next = match (item.as_ref(), key.as_ref()) {
            (Data::List(items), Data::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| TemplateError::Invalid(format!("error calling index: index out of range: {i}")))?,
            (Data::Map(entries), k) => entries.iter().find(|(ek, _)| ek == k).map_or_else(
                || if entries.iter().any(|(_, v)| v.is_string()) { Data::str("") } else { Data::Nil },
                |(_, v)| v.clone(),
            ),
            (other, _) => return fail(format!("error calling index: can't index item of type {}", other.kind())),
        };
        item = Cow::Owned(next);
    }
    Ok(item)
}

/// strings.Title: each word's first letter upper-cased.
fn title(s: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    out
}

/// Call `name` with `args` (a pipeline's previous value already last).
pub(super) fn call<'a>(name: &str, args: Args<'a>) -> Result<Cow<'a, Data>, TemplateError> {
    let owned = |d: Data| Ok(Cow::Owned(d));
    let s = |i: usize| string_arg(name, &args[i]);
    match name {
        "and" | "or" => {
            if args.is_empty() {
                return fail(format!("wrong number of args for {name}: want at least 1 got 0"));
            }
            let stop = args.iter().position(|a| a.truthy() != (name == "and"));
            let at = stop.unwrap_or(args.len() - 1);
            Ok(args.into_iter().nth(at).unwrap_or(Cow::Owned(Data::Nil)))
        }
        "not" => {
            arity(name, &args, 1)?;
            owned(Data::Bool(!args[0].truthy()))
        }
        "len" => {
            arity(name, &args, 1)?;
            let n = match args[0].as_ref() {
                Data::Str(s) => s.len(),
                Data::List(l) => l.len(),
                Data::Map(m) => m.len(),
                other => return fail(format!("error calling len: len of type {}", other.kind())),
            };
            owned(Data::Int(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        "index" => {
            let mut args = args.into_iter();
            let Some(item) = args.next() else { return fail("wrong number of args for index: want at least 1 got 0") };
            index(item, &args.collect::<Vec<_>>())
        }
        "eq" => {
            if args.len() < 2 {
                return fail("missing argument for comparison");
            }
            let mut equal = false;
            for other in &args[1..] {
                equal |= compare(name, &args[0], other)?.is_eq();
            }
            owned(Data::Bool(equal))
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let o = compare(name, &args[0], &args[1])?;
            owned(Data::Bool(match name {
                "ne" => o.is_ne(),
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            }))
        }
        "print" => owned(Data::Str(super::exec::sprint(&args))),
        "println" => owned(Data::Str(super::exec::sprintln(&args))),
        "printf" => owned(Data::Str(super::exec::sprintf(&args)?)),
        "lower" | "upper" | "title" | "trim" | "nospace" => {
            arity(name, &args, 1)?;
            let v = s(0)?;
            owned(Data::Str(match name {
                "lower" => v.to_lowercase(),
                "upper" => v.to_uppercase(),
                "title" => title(&v),
                "trim" => v.trim().to_string(),
                _ => v.chars().filter(|c| !c.is_whitespace()).collect(),
            }))
        }
        // sprig argument order: the operand last, so it pipes.
        "trimPrefix" | "trimSuffix" | "contains" | "hasPrefix" | "hasSuffix" => {
            arity(name, &args, 2)?;
            let (a, v) = (s(0)?, s(1)?);
            owned(match name {
                "trimPrefix" => Data::Str(v.strip_prefix(a.as_str()).unwrap_or(&v).to_string()),
                "trimSuffix" => Data::Str(v.strip_suffix(a.as_str()).unwrap_or(&v).to_string()),
                "contains" => Data::Bool(v.contains(a.as_str())),
                "hasPrefix" => Data::Bool(v.starts_with(a.as_str())),
                _ => Data::Bool(v.ends_with(a.as_str())),
            })
        }
        "replace" => {
            arity(name, &args, 3)?;
            owned(Data::Str(s(2)?.replace(s(0)?.as_str(), &s(1)?)))
        }
        "repeat" | "trunc" | "indent" | "nindent" => {
            arity(name, &args, 2)?;
            let (n, v) = (int_arg(name, &args[0])?, s(1)?);
            let pad = " ".repeat(usize::try_from(n).unwrap_or(0).min(1 << 16));
            owned(Data::Str(match name {
                "repeat" => v.repeat(usize::try_from(n).unwrap_or(0).min((1 << 20) / v.len().max(1))),
                "trunc" if n >= 0 => v.chars().take(usize::try_from(n).unwrap_or(0)).collect(),
                "trunc" => {
                    let count = v.chars().count();
                    v.chars().skip(count.saturating_sub(usize::try_from(-n).unwrap_or(0))).collect()
                }
                "indent" => format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))),
                _ => format!("\n{pad}{}", v.replace('\n', &format!("\n{pad}"))),
            }))
        }
        "quote" | "squote" => {
            let q = |a: &Cow<'_, Data>| {
                let t = text(a);
                if name == "quote" { format!("{t:?}") } else { format!("'{t}'") }
            };
            owned(Data::Str(
                args.iter().filter(|a| !matches!(a.as_ref(), Data::Nil)).map(q).collect::<Vec<_>>().join(" "),
            ))
        }
        "default" => {
            arity(name, &args, 2)?;
            let mut args = args.into_iter();
            let (fallback, given) = (args.next(), args.next());
            Ok(match given {
                Some(g) if g.truthy() => g,
                _ => fallback.unwrap_or(Cow::Owned(Data::Nil)),
            })
        }
        "empty" => {
            arity(name, &args, 1)?;
            owned(Data::Bool(!args[0].truthy()))
        }
        "join" => {
            arity(name, &args, 2)?;
            let sep = s(0)?;
            let items = match args[1].as_ref() {
                Data::List(l) => l.iter().map(text).collect::<Vec<_>>(),
                other => vec![text(other)],
            };
            owned(Data::Str(items.join(&sep)))
        }
        "toString" => {
            arity(name, &args, 1)?;
            owned(Data::Str(text(&args[0])))
        }
        "cat" => owned(Data::Str(
            args.iter().filter(|a| !matches!(a.as_ref(), Data::Nil)).map(|a| text(a)).collect::<Vec<_>>().join(" "),
        )),
        other => fail(format!("function \"{other}\" not defined")),
    }
}
