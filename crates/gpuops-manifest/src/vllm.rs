//! Reading and editing vLLM engine flags in a container's `command`/`args`.
//!
//! Flags appear as `--flag=value`, as `--flag value` (two elements), or inside
//! a shell script (`sh -c "vllm serve … --flag value"`); all three are read
//! and rewritten in place.

use serde_json::Value;

/// Names vLLM accepts for the tensor-parallel size.
pub const TENSOR_PARALLEL: &[&str] = &["--tensor-parallel-size", "--tensor_parallel_size", "-tp"];
pub const PIPELINE_PARALLEL: &[&str] = &["--pipeline-parallel-size", "--pipeline_parallel_size", "-pp"];

/// Whether a container (or KServe `model`) runs vLLM.
pub fn is_vllm(container: &Value) -> bool {
    // vLLM production-stack's router (`vllm-router`, image
    // lmcache/lmstack-router) sits beside the engines and is not one.
    let mentions = |v: Option<&Value>| {
        v.and_then(Value::as_str).is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("vllm") && !s.contains("router")
        })
    };
    if mentions(container.get("image")) || mentions(container.get("runtime")) {
        return true;
    }
    if let Some(format) = container.pointer("/modelFormat/name").and_then(Value::as_str) {
        if format.eq_ignore_ascii_case("vllm") {
            return true;
        }
        // KServe's Hugging Face runtime serves with vLLM unless told
        // otherwise: `--backend` defaults to `auto`, which loads vLLM for
        // every architecture vLLM supports, and adds vLLM's own engine
        // flags (`--tensor-parallel-size`, dashes only: a plain argparse
        // with parse_known_args, where `--tensor_parallel_size` is ignored).
        // Source: kserve/kserve python/huggingfaceserver/huggingfaceserver/__main__.py
        // (`--backend` default "auto", `maybe_add_vllm_cli_parser`, load_model).
        if format.eq_ignore_ascii_case("huggingface") {
            let backend = get_flag(container, &["--backend"]);
            return backend.is_none_or(|b| b == "auto" || b == "vllm");
        }
    }
    ["command", "args"].iter().any(|key| {
        container.get(*key).and_then(Value::as_array).is_some_and(|items| {
            items.iter().any(|i| {
                mentions(Some(i)) || i.as_str().is_some_and(|s| TENSOR_PARALLEL.iter().any(|f| s.starts_with(f)))
            })
        })
    })
}

/// Where a flag was found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// `list[index]` is `--flag=value`.
    Joined { list: &'static str, index: usize, name_len: usize },
    /// `list[index]` is the flag, `list[index + 1]` the value.
    Split { list: &'static str, index: usize },
    /// The flag is inside the script `list[index]`, value at byte `start..end`.
    Script { list: &'static str, index: usize, start: usize, end: usize },
}

fn find(container: &Value, names: &[&str]) -> Option<(Location, String)> {
    for list in ["args", "command"] {
        let Some(items) = container.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else { continue };
            for name in names {
                if text == *name {
                    let value = items.get(index + 1).and_then(Value::as_str)?;
                    return Some((Location::Split { list, index }, value.to_string()));
                }
                if let Some(value) = text.strip_prefix(name).and_then(|r| r.strip_prefix('='))
                    && !value.contains(char::is_whitespace)
                {
                    return Some((Location::Joined { list, index, name_len: name.len() }, value.to_string()));
                }
                if text.contains(char::is_whitespace)
                    && let Some((start, end)) = find_in_script(text, name)
                {
                    return Some((Location::Script { list, index, start, end }, text[start..end].to_string()));
                }
            }
        }
    }
    None
}

/// Byte range of the value of `name` in a shell command line.
fn find_in_script(script: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(pos) = script[from..].find(name) {
        let start = from + pos;
        let after = start + name.len();
        let boundary_before =
            start == 0 || script[..start].ends_with(|c: char| c.is_whitespace() || c == '"' || c == '\'');
        let rest = &script[after..];
        let value_start = if rest.starts_with('=') {
            Some(after + 1)
        } else if rest.starts_with([' ', '\t']) {
            Some(after + (rest.len() - rest.trim_start_matches([' ', '\t']).len()))
        } else {
            None
        };
        if let (true, Some(vs)) = (boundary_before, value_start) {
            let len = script[vs..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ';')
                .unwrap_or(script.len() - vs);
            if len > 0 {
                return Some((vs, vs + len));
            }
        }
        from = after;
    }
    None
}

/// Where a shell script in `command`/`args` breaks into words: blanks,
/// quotes and `;`.
fn word_break(c: char) -> bool {
    c.is_whitespace() || c == '"' || c == '\'' || c == ';'
}

/// The strings of a container's `args`, then its `command`.
fn items(container: &Value) -> impl Iterator<Item = &str> {
    ["args", "command"]
        .into_iter()
        .filter_map(|k| container.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
}

/// Every word of a container's `args` then `command`, a shell script split
/// at blanks, quotes and `;` ([`has_flag`] reads scripts the same way): a
/// joined `--flag=value` stays one word.
pub fn words(container: &Value) -> impl Iterator<Item = &str> {
    items(container).flat_map(|text| text.split(word_break)).filter(|w| !w.is_empty())
}

/// Whether a boolean flag (`--enforce-eager`, `--enforce-eager=true`) is set.
pub fn has_flag(container: &Value, names: &[&str]) -> bool {
    items(container).any(|text| {
        names.iter().any(|name| {
            text == *name
                || text.strip_prefix(name).and_then(|r| r.strip_prefix('=')).is_some_and(|v| v != "false")
                || text.contains(char::is_whitespace) && text.split(word_break).any(|w| w == *name)
        })
    })
}

/// The value of the first of `names` set on the container.
pub fn get_flag(container: &Value, names: &[&str]) -> Option<String> {
    find(container, names).map(|(_, v)| v)
}

/// What [`set_flag`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagEdit {
    Unchanged,
    Replaced {
        old: String,
    },
    Appended,
    /// The command is a shell script without the flag: appending to `args`
    /// would not reach vLLM, so nothing was changed.
    NotPossible,
}

/// Set the first of `names` to `value`, in place; append `names[0]=value` to
/// `args` when absent.
pub fn set_flag(container: &mut Value, names: &[&str], value: &str) -> FlagEdit {
    match find(container, names) {
        Some((_, old)) if old == value => FlagEdit::Unchanged,
        Some((location, old)) => {
            let (list, index) = match location {
                Location::Joined { list, index, .. }
                | Location::Split { list, index }
                | Location::Script { list, index, .. } => (list, index),
            };
            let Some(items) = container.get_mut(list).and_then(Value::as_array_mut) else {
                return FlagEdit::NotPossible;
            };
            match location {
                Location::Joined { name_len, .. } => {
                    let flag = items[index].as_str().unwrap_or_default()[..name_len].to_string();
                    items[index] = Value::String(format!("{flag}={value}"));
                }
                Location::Split { .. } => items[index + 1] = Value::String(value.to_string()),
                Location::Script { start, end, .. } => {
                    let text = items[index].as_str().unwrap_or_default();
                    items[index] = Value::String(format!("{}{value}{}", &text[..start], &text[end..]));
                }
            }
            FlagEdit::Replaced { old }
        }
        None => {
            if let Some((list, index)) = shell_script_index(container) {
                // Into the script, after the vLLM invocation; if there is
                // none to find, nothing (the caller warns).
                let Some(items) = container.get_mut(list).and_then(Value::as_array_mut) else {
                    return FlagEdit::NotPossible;
                };
                let script = items[index].as_str().unwrap_or_default().to_string();
                return match script_insertion_point(&script) {
                    Some(at) => {
                        items[index] =
                            Value::String(format!("{} {}={value}{}", &script[..at], names[0], &script[at..]));
                        FlagEdit::Appended
                    }
                    None => FlagEdit::NotPossible,
                };
            }
            let Some(map) = container.as_object_mut() else {
                return FlagEdit::NotPossible;
            };
            let args = map.entry("args").or_insert_with(|| Value::Array(Vec::new()));
            match args.as_array_mut() {
                Some(items) => {
                    items.push(Value::String(format!("{}={value}", names[0])));
                    FlagEdit::Appended
                }
                None => FlagEdit::NotPossible,
            }
        }
    }
}

/// `(list, index)` of the script a shell runs (`sh -c SCRIPT`, `/bin/bash
/// -exc SCRIPT`: the word after the `-c` option, combined short options
/// included). Words appended after it become `$0`, `$1`… — never vLLM's.
fn shell_script_index(container: &Value) -> Option<(&'static str, usize)> {
    let words: Vec<(&'static str, usize, &str)> = ["command", "args"]
        .into_iter()
        .filter_map(|k| container.get(k).and_then(Value::as_array).map(|a| (k, a)))
        .flat_map(|(k, a)| a.iter().enumerate().filter_map(move |(i, v)| Some((k, i, v.as_str()?))))
        .collect();
    let (_, _, first) = words.first()?;
    if !first.rsplit('/').next().is_some_and(|w| w.ends_with("sh")) {
        return None;
    }
    let option = words.iter().position(|(_, _, w)| w.starts_with('-') && !w.starts_with("--") && w.contains('c'))?;
    words.get(option + 1).map(|(k, i, _)| (*k, *i))
}

/// Where in a script a flag can be added so vLLM sees it: right after
/// `vllm serve [MODEL]` or `-m vllm.entrypoints.openai.api_server`.
fn script_insertion_point(script: &str) -> Option<usize> {
    let words: Vec<(usize, &str)> = script
        .split(|c: char| c.is_whitespace())
        .scan(0usize, |offset, word| {
            let start = *offset;
            *offset += word.len() + 1;
            Some((start, word))
        })
        .filter(|(_, w)| !w.is_empty())
        .collect();
    for (i, (start, word)) in words.iter().enumerate() {
        let end = |(s, w): (usize, &str)| s + w.len();
        if word.ends_with("vllm.entrypoints.openai.api_server") {
            return Some(end((*start, word)));
        }
        if word.rsplit('/').next() == Some("vllm") && words.get(i + 1).is_some_and(|(_, w)| *w == "serve") {
            return Some(match words.get(i + 2) {
                Some(model) if !model.1.starts_with('-') && !model.1.starts_with('\\') => end(*model),
                _ => end(words[i + 1]),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_go_into_the_script_where_vllm_is_invoked() {
        // vLLM production-stack's engine container.
        let mut c = json!({"command": ["/bin/bash", "-exc", "cd /app && python3 -m vllm.entrypoints.openai.api_server --model /data/llama --port 8000 2>&1 | tee log"]});
        assert_eq!(set_flag(&mut c, TENSOR_PARALLEL, "2"), FlagEdit::Appended);
        assert_eq!(
            c["command"][2],
            "cd /app && python3 -m vllm.entrypoints.openai.api_server --tensor-parallel-size=2 --model /data/llama --port 8000 2>&1 | tee log"
        );
        assert!(c.get("args").is_none(), "nothing after the script, where bash would bind it to $0");
        assert_eq!(get_flag(&c, TENSOR_PARALLEL).as_deref(), Some("2"));
        let mut serve = json!({"command": ["sh", "-c", "exec vllm serve Qwen/Qwen2.5-7B --port 8000"]});
        assert_eq!(set_flag(&mut serve, TENSOR_PARALLEL, "4"), FlagEdit::Appended);
        assert_eq!(serve["command"][2], "exec vllm serve Qwen/Qwen2.5-7B --tensor-parallel-size=4 --port 8000");
        let mut opaque = json!({"command": ["sh", "-c", "/start.sh"]});
        assert_eq!(set_flag(&mut opaque, TENSOR_PARALLEL, "2"), FlagEdit::NotPossible);
        assert_eq!(opaque, json!({"command": ["sh", "-c", "/start.sh"]}));
        // The router beside the engines is not an engine.
        assert!(!is_vllm(
            &json!({"image": "lmcache/lmstack-router:latest", "args": ["vllm-router", "--port", "8000"]})
        ));
        assert!(is_vllm(&json!({"image": "lmcache/vllm-openai:latest"})));
    }

    #[test]
    fn reads_all_three_forms() {
        assert_eq!(get_flag(&json!({"args": ["--tensor-parallel-size=2"]}), TENSOR_PARALLEL).as_deref(), Some("2"));
        assert_eq!(get_flag(&json!({"args": ["-tp", "4"]}), TENSOR_PARALLEL).as_deref(), Some("4"));
        let script =
            json!({"command": ["sh", "-c", "vllm serve Qwen/Qwen2.5-7B --tensor-parallel-size 8 --port 8000"]});
        assert_eq!(get_flag(&script, TENSOR_PARALLEL).as_deref(), Some("8"));
        assert_eq!(get_flag(&json!({"args": ["--tensor-parallel-sizes=3"]}), TENSOR_PARALLEL), None);
    }

    #[test]
    fn rewrites_in_place_and_is_idempotent() {
        let mut c = json!({"args": ["--model", "m", "--tensor-parallel-size", "1", "--port=8000"]});
        assert_eq!(set_flag(&mut c, TENSOR_PARALLEL, "2"), FlagEdit::Replaced { old: "1".into() });
        assert_eq!(c, json!({"args": ["--model", "m", "--tensor-parallel-size", "2", "--port=8000"]}));
        assert_eq!(set_flag(&mut c, TENSOR_PARALLEL, "2"), FlagEdit::Unchanged);

        let mut script = json!({"command": ["bash", "-c", "exec vllm serve m --tensor-parallel-size=1; echo"]});
        set_flag(&mut script, TENSOR_PARALLEL, "4");
        assert_eq!(script["command"][2], "exec vllm serve m --tensor-parallel-size=4; echo");
    }

    #[test]
    fn appends_to_args_but_never_after_a_shell_script() {
        let mut c = json!({"image": "vllm/vllm-openai:v0.8.0", "args": ["--model=m"]});
        assert_eq!(set_flag(&mut c, TENSOR_PARALLEL, "2"), FlagEdit::Appended);
        assert_eq!(c["args"], json!(["--model=m", "--tensor-parallel-size=2"]));
        let mut s = json!({"command": ["/bin/sh", "-c", "vllm serve m"], "args": []});
        assert_eq!(set_flag(&mut s, TENSOR_PARALLEL, "2"), FlagEdit::Appended);
        assert_eq!(s["command"][2], "vllm serve m --tensor-parallel-size=2");
        assert_eq!(s["args"], json!([]), "words after `sh -c SCRIPT` are $0, $1…");
    }

    #[test]
    fn kserve_hugging_face_runtime_is_vllm_unless_another_backend_is_chosen() {
        let hf = |args: Value| json!({"modelFormat": {"name": "huggingface"}, "args": args});
        assert!(is_vllm(&hf(json!(["--model_name=llama3", "--model_id=meta-llama/meta-llama-3-8b-instruct"]))));
        assert!(is_vllm(&hf(json!(["--backend=vllm"]))));
        assert!(!is_vllm(&hf(json!(["--backend=huggingface"]))));
        assert!(!is_vllm(&hf(json!(["--backend", "triton"]))));
        let mut c = hf(json!(["--model_name=llama3"]));
        assert_eq!(set_flag(&mut c, TENSOR_PARALLEL, "2"), FlagEdit::Appended);
        assert_eq!(c["args"], json!(["--model_name=llama3", "--tensor-parallel-size=2"]));
    }

    #[test]
    fn detects_vllm() {
        assert!(is_vllm(&json!({"image": "vllm/vllm-openai:latest"})));
        assert!(is_vllm(&json!({"modelFormat": {"name": "vLLM"}})));
        assert!(is_vllm(&json!({"command": ["python", "-m", "vllm.entrypoints.openai.api_server"]})));
        assert!(!is_vllm(&json!({"image": "nginx"})));
    }
}
