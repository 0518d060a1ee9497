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
//!
//! The template comes from the repository, so it is hostile input: nesting
//! is capped (Go's own number, see [`Limits`]), and so are the steps run
//! and the bytes written, which Go leaves unbounded.

mod exec;
mod funcs;
mod parse;

use std::collections::BTreeMap;

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

    fn kind(&self) -> &'static str {
        match self {
            Self::Nil => "nil",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Str(_) => "string",
            Self::List(_) => "slice",
            Self::Map(_) => "map",
            Self::Struct { .. } => "struct",
        }
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
pub enum TemplateError {
    /// A struct has no such field (Go's text/template: "can't evaluate
    /// field X in type Y"); Flux names the fields it removed.
    #[error("commit message template: can't evaluate field {field}")]
    NoField { field: String },
    #[error("commit message template: {0}")]
    Invalid(String),
}

fn fail<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError::Invalid(message.into()))
}

/// What a template may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `{{if}}`/`{{range}}` nesting: Go's text/template/parse/parse.go
    /// `maxStackDepth` (10000; 1000 on wasm), which Go applies to nested
    /// parenthesized pipelines.
    pub max_depth: usize,
    /// Operations run, range iterations and map entries compared (Go has
    /// no such limit; a million is far past any commit message template).
    pub max_steps: u64,
    /// Bytes of output (Go has no such limit; 1 MiB is far past any commit
    /// message).
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_depth: 10_000, max_steps: 1_000_000, max_output: 1 << 20 }
    }
}

/// Render `template` with `data` as dot, within [`Limits::default`].
pub fn render(template: &str, data: &Data) -> Result<String, TemplateError> {
    render_with(template, data, &Limits::default())
}

/// Render `template` with `data` as dot, within `limits`.
pub fn render_with(template: &str, data: &Data, limits: &Limits) -> Result<String, TemplateError> {
    let program = parse::parse(template, limits.max_depth)?;
    exec::execute(&program, data, limits)
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
            ("{{ define \"x\" }}x{{ end }}", "{{define}} is not supported"),
            // Not in sprig's hermetic map (the time and random functions are
            // left out so a message does not depend on when it is rendered).
            ("{{ now }}", "function \"now\" not defined"),
            ("{{ randAlpha 3 }}", "function \"randAlpha\" not defined"),
            ("{{ .Values.env | .Values.env }}", "can't give argument to non-function"),
            ("{{ eq 1 \"1\" }}", "incompatible types for comparison"),
            ("{{ (len .Values }}", "unclosed left paren"),
            ("{{ .Changed.Nope }}", "can't evaluate field Nope"),
            ("{{ range .Changed.Changes }}", "has no {{end}}"),
            ("{{ .AutomationObject", "never closed"),
        ] {
            let err = render(t, &data()).unwrap_err().to_string();
            assert!(err.contains(expect), "{t}: {err}");
        }
    }

    /// Go text/template builtins and sprig's hermetic text functions, as
    /// Flux wires them (source.go `templateMsg`). Rows: the templates of
    /// image-automation-controller internal/source/source_test.go
    /// (`testCommitTemplate`'s `eq $resource.Kind "Deployment"` / `| lower`
    /// block, over `.Changed.Objects` since `.Updated` is gone;
    /// `testCommitTemplateWithValues`' `index .Values "cluster"`). The Go
    /// builtin rows (eq, index, len, and/or/not, comparisons, printf with
    /// parenthesized arguments, pipelines) have the output Go 1.19's
    /// text/template gives for the same template and data (run by hand on
    /// this machine; upstream exec_test.go itself was not ported). The
    /// sprig rows follow sprig's documented behaviour; sprig itself could
    /// not be run here.
    #[test]
    fn go_builtins_and_sprig_functions_render_as_go_does() {
        let d = data();
        for (t, want) in [
            ("{{ if eq .Values.env \"prod\" }}yes{{ else }}no{{ end }}", "yes"),
            (
                "{{ range $resource, $_ := .Changed.Objects -}}\n{{ if eq $resource.Kind \"Deployment\" -}}\n- {{ $resource.Kind | lower }} {{ $resource.Name | lower }}\n{{ else -}}\n- {{ $resource.Kind }} {{ $resource.Name }}\n{{ end -}}\n{{ end -}}",
                "- deployment podinfo\n",
            ),
            ("{{ .Values.env | upper }}", "PROD"),
            ("{{ \"Deployment\" | lower }}", "deployment"),
            ("Cluster: {{ index .Values \"env\" }}", "Cluster: prod"),
            ("{{ index .Values \"missing\" }}|", "|"),
            ("{{ len .Values.env }}", "4"),
            ("{{ and 1 0 }} {{ and 1 2 }} {{ or 0 \"x\" }} {{ or 0 \"\" }}| {{ not true }}", "0 2 x | false"),
            (
                "{{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1 2 }}",
                "true true true true true false",
            ),
            ("{{ printf \"%s-%d\" (upper .Values.env) (len .Values.env) }}", "PROD-4"),
            ("{{ .Values.env | printf \"%s!\" | upper }}", "PROD!"),
            ("{{ range .Changed.Changes }}{{ .NewValue | trimPrefix \"5.0.\" }} {{ end }}", "3 "),
            ("{{ lower \"HELLO\" }} {{ title \"hello world\" }} {{ trim \"  hi  \" }}", "hello Hello World hi"),
            (
                "{{ trimPrefix \"-\" \"-hello\" }} {{ trimSuffix \"-\" \"hello-\" }} {{ contains \"cat\" \"catch\" }}",
                "hello hello true",
            ),
            (
                "{{ hasPrefix \"cat\" \"catch\" }} {{ hasSuffix \"x\" \"catch\" }} {{ \"I Am Henry VIII\" | replace \" \" \"-\" }}",
                "true false I-Am-Henry-VIII",
            ),
            ("{{ repeat 3 \"hello\" }} {{ quote \"a\" }} {{ squote \"b\" }}", "hellohellohello \"a\" 'b'"),
            (
                "{{ trunc 5 \"hello world\" }} {{ trunc -5 \"hello world\" }} {{ default \"foo\" \"\" }} {{ default \"foo\" \"bar\" }}",
                "hello world foo bar",
            ),
            (
                "{{ nospace \"hello w o r l d\" }} {{ cat \"hello\" \"beautiful\" \"world\" }} {{ empty \"\" }}",
                "helloworld hello beautiful world true",
            ),
            ("{{ indent 2 \"a\\nb\" }}", "  a\n  b"),
            // exec_test.go "with" rows: dot is the value; empty runs else.
            ("{{ with .Values.env }}{{ . }}{{ end }}", "prod"),
            ("{{ with .Values.nope }}{{ . }}{{ else }}none{{ end }}", "none"),
            ("{{ with $x := .Values.env }}{{ $x | upper }}{{ end }}", "PROD"),
        ] {
            assert_eq!(render(t, &d).unwrap(), want, "{t}");
        }
    }

    #[test]
    fn else_if_chains_share_one_end_as_in_go() {
        let t = "{{ if .Values.nope }}a{{ else if .Values.env }}b={{ .Values.env }}{{ else }}c{{ end }}!";
        assert_eq!(render(t, &data()).unwrap(), "b=prod!");
        let t =
            "{{ range $k, $v := .Values }}{{ $k }}{{ else }}none{{ end }}|{{ range .Nope }}x{{ else }}none{{ end }}";
        assert!(render(t, &data()).unwrap_err().to_string().contains("can't evaluate field Nope"));
        let t = "{{ range $k, $v := .Values }}{{ $k }}={{ $v }}{{ else }}none{{ end }}";
        assert_eq!(render(t, &data()).unwrap(), "env=prod");
        assert!(render("{{ range .Values }}{{ else if .X }}{{ end }}", &data()).is_err());
        assert!(render("{{ $x }}", &data()).unwrap_err().to_string().contains("undefined variable \"$x\""));
    }

    /// Issue 18: 30,000 nested `{{if}}` overflowed the stack (the parser,
    /// the walker and the tree's drop all recursed once per level).
    #[test]
    fn thirty_thousand_nested_ifs_are_refused_not_a_stack_overflow() {
        let deep = format!("{}x{}", "{{if 1}}".repeat(30_000), "{{end}}".repeat(30_000));
        let err = render(&deep, &data()).unwrap_err().to_string();
        assert!(err.contains("max depth exceeded") && err.contains("10000"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        // Go's own depth still renders, without the Rust stack growing per level.
        let limit = format!("{}x{}", "{{if 1}}".repeat(10_000), "{{end}}".repeat(10_000));
        assert_eq!(render(&limit, &data()).unwrap(), "x");
    }

    /// Issue 18: nine nested ranges over the values ran without limit.
    #[test]
    fn nested_ranges_stop_at_the_step_budget_quickly() {
        let values = Data::Map((0..20).map(|i| (Data::str(format!("k{i:02}")), Data::str("v"))).collect());
        let mut data = data();
        if let Data::Struct { fields, .. } = &mut data {
            fields.insert("Values".into(), values);
        }
        // 20^9 iterations unbounded; a million steps bounded.
        let quiet = format!("{}{}", "{{range $.Values}}".repeat(9), "{{end}}".repeat(9));
        let started = std::time::Instant::now();
        let err = render(&quiet, &data).unwrap_err().to_string();
        let elapsed = started.elapsed();
        assert!(err.contains("more than 1000000 steps"), "{err}");
        assert!(elapsed < std::time::Duration::from_secs(5), "took {elapsed:?}");
        // Printing in the loop hits the output cap first.
        let loud = format!("{}{}{}", "{{range $.Values}}".repeat(9), "{{ $.Values }}", "{{end}}".repeat(9));
        let err = render(&loud, &data).unwrap_err().to_string();
        assert!(err.contains("grew past 1048576 bytes"), "{err}");
        // Small limits, to show the budget counts what the template does.
        let tight = Limits { max_steps: 50, ..Limits::default() };
        assert!(render_with("{{range .Values}}{{.}}{{end}}", &data, &tight).is_ok());
        assert!(
            render_with(&format!("{}{}", "{{range .Values}}".repeat(2), "{{end}}".repeat(2)), &data, &tight).is_err()
        );
    }
}
