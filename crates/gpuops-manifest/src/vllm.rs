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
    let mentions =
        |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| s.to_ascii_lowercase().contains("vllm"));
    if mentions(container.get("image")) || mentions(container.get("runtime")) {
        return true;
    }
    if let Some(format) = container.pointer("/modelFormat/name").and_then(Value::as_str)
        && format.eq_ignore_ascii_case("vllm")
    {
        return true;
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

/// Whether a boolean flag (`--enforce-eager`, `--enforce-eager=true`) is set.
pub fn has_flag(container: &Value, names: &[&str]) -> bool {
    ["args", "command"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .any(|text| {
            names.iter().any(|name| {
                text == *name
                    || text.strip_prefix(name).and_then(|r| r.strip_prefix('=')).is_some_and(|v| v != "false")
                    || text.contains(char::is_whitespace)
                        && text
                            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ';')
                            .any(|w| w == *name)
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
            if runs_shell_script(container) {
                return FlagEdit::NotPossible;
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

fn runs_shell_script(container: &Value) -> bool {
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    words.first().is_some_and(|w| w.ends_with("sh")) && words.contains(&"-c")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn appends_to_args_but_not_to_shell_scripts() {
        let mut c = json!({"image": "vllm/vllm-openai:v0.8.0", "args": ["--model=m"]});
        assert_eq!(set_flag(&mut c, TENSOR_PARALLEL, "2"), FlagEdit::Appended);
        assert_eq!(c["args"], json!(["--model=m", "--tensor-parallel-size=2"]));
        let mut s = json!({"command": ["/bin/sh", "-c", "vllm serve m"]});
        assert_eq!(set_flag(&mut s, TENSOR_PARALLEL, "2"), FlagEdit::NotPossible);
    }

    #[test]
    fn detects_vllm() {
        assert!(is_vllm(&json!({"image": "vllm/vllm-openai:latest"})));
        assert!(is_vllm(&json!({"modelFormat": {"name": "vLLM"}})));
        assert!(is_vllm(&json!({"command": ["python", "-m", "vllm.entrypoints.openai.api_server"]})));
        assert!(!is_vllm(&json!({"image": "nginx"})));
    }
}
