//! Shell completion for the plugins: static scripts for each shell
//! (clap_complete), and the `kubectl_complete-<name>` executable kubectl
//! (>= 1.26) runs to complete `kubectl <name> <TAB>`, which answers in
//! Cobra's `__complete` format: one candidate per line, then
//! `:<directive>` (kubernetes/kubernetes staging/src/k8s.io/kubectl/pkg/cmd/
//! plugin/plugin_completion.go; spf13/cobra completions.go
//! `ShellCompDirective`).

use clap::Command;

/// Cobra's `ShellCompDirectiveNoFileComp`: do not fall back to file names.
const NO_FILE_COMPLETION: u8 = 4;
/// Cobra's `ShellCompDirectiveDefault`: let the shell complete file names.
const DEFAULT: u8 = 0;

/// Which script `completion` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    /// The `kubectl_complete-<name>` script for `kubectl <name> <TAB>`.
    Kubectl,
}

/// The completion script for `shell`; `name` is the plugin (`modelbump`).
pub fn script(mut cmd: Command, name: &str, shell: Shell) -> String {
    let bin = format!("kubectl-{name}");
    let mut out = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
        Shell::Kubectl => {
            return format!(
                "#!/bin/sh\n# kubectl (>= 1.26) runs this to complete `kubectl {name} <TAB>`. Install it on PATH as\n# kubectl_complete-{name}, e.g. (krew does not install it):\n#   {bin} completion kubectl > \"${{KREW_ROOT:-$HOME/.krew}}/bin/kubectl_complete-{name}\"\n#   chmod +x \"${{KREW_ROOT:-$HOME/.krew}}/bin/kubectl_complete-{name}\"\nexec {bin} __complete \"$@\"\n"
            );
        }
    };
    clap_complete::generate(generator, &mut cmd, bin, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Candidates a plugin knows at run time for a flag's value (by its long
/// name: contexts from the kubeconfig, GPU products from the catalog) or
/// for a positional argument (by its id: model ids); `None` when it has none.
pub type Dynamic<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;

/// Cobra-format candidates for `words` (the arguments after the plugin
/// name, the last one being completed, possibly empty).
pub fn complete(cmd: &Command, words: &[String]) -> String {
    complete_with(cmd, words, &|_| None)
}

/// [`complete`], asking `dynamic` for the values of a flag (by long name).
pub fn complete_with(cmd: &Command, words: &[String], dynamic: Dynamic<'_>) -> String {
    let (partial, done) = words.split_last().map_or(("", &[][..]), |(last, rest)| (last.as_str(), rest));
    let mut current = cmd;
    for word in done {
        if let Some(sub) =
            current.get_subcommands().find(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word))
        {
            current = sub;
        }
    }
    let mut lines: Vec<String> = Vec::new();
    if partial.starts_with('-') {
        for arg in current.get_arguments().filter(|a| !a.is_hide_set()) {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let help = help.lines().next().unwrap_or("");
            if let Some(long) = arg.get_long() {
                let flag = format!("--{long}");
                if flag.starts_with(partial) {
                    lines.push(if help.is_empty() { flag } else { format!("{flag}\t{help}") });
                }
            }
        }
        lines.push(format!(":{NO_FILE_COMPLETION}"));
        return lines.join("\n") + "\n";
    }
    let subcommands: Vec<&Command> = current.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    // A flag's value (`-o <TAB>`): its possible values, if it has any.
    if let Some(flag) = done.last().filter(|w| w.starts_with('-'))
        && let Some(arg) = find_flag(current, flag)
    {
        if let Some(values) = arg.get_long().and_then(dynamic) {
            lines.extend(values.into_iter().filter(|v| v.starts_with(partial)));
            lines.push(format!(":{NO_FILE_COMPLETION}"));
            return lines.join("\n") + "\n";
        }
        let values = arg.get_possible_values();
        if !values.is_empty() {
            lines.extend(values.iter().map(|v| v.get_name().to_string()).filter(|v| v.starts_with(partial)));
            lines.push(format!(":{NO_FILE_COMPLETION}"));
            return lines.join("\n") + "\n";
        }
        if arg.get_action().takes_values() {
            return format!(":{DEFAULT}\n");
        }
    }
    if subcommands.is_empty() {
        // A positional argument the plugin knows values for (`model <TAB>`).
        let positional = current.get_positionals().next().filter(|_| positionals_given(cmd, done) == 0);
        if let Some(values) = positional.and_then(|p| dynamic(p.get_id().as_str())) {
            lines.extend(values.into_iter().filter(|v| v.starts_with(partial)));
            lines.push(format!(":{NO_FILE_COMPLETION}"));
            return lines.join("\n") + "\n";
        }
        return format!(":{DEFAULT}\n");
    }
    for sub in subcommands {
        if sub.get_name().starts_with(partial) {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            lines.push(format!("{}\t{}", sub.get_name(), about.lines().next().unwrap_or("")));
        }
    }
    lines.push(format!(":{NO_FILE_COMPLETION}"));
    lines.join("\n") + "\n"
}

/// The argument `-o` or `--output` names in `cmd`.
fn find_flag<'a>(cmd: &'a Command, word: &str) -> Option<&'a clap::Arg> {
    let name = word.trim_start_matches('-');
    cmd.get_arguments().find(|a| a.get_long() == Some(name) || a.get_short().is_some_and(|c| c.to_string() == name))
}

/// How many positional arguments `words` already give the innermost
/// subcommand: words that are neither subcommand names, flags, nor the
/// value of a flag that takes one (`--gpu H100`).
fn positionals_given(cmd: &Command, words: &[String]) -> usize {
    let mut current = cmd;
    let mut count = 0;
    let mut value_expected = false;
    for word in words {
        if value_expected {
            value_expected = false;
        } else if let Some(sub) = current.get_subcommands().find(|s| s.get_name() == word) {
            current = sub;
            count = 0;
        } else if word.starts_with('-') {
            value_expected =
                !word.contains('=') && find_flag(current, word).is_some_and(|a| a.get_action().takes_values());
        } else {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn cmd() -> Command {
        Command::new("kubectl-x")
            .subcommand(
                Command::new("check")
                    .about("Check things\nmore")
                    .arg(Arg::new("output").long("output").short('o').value_parser(["table", "json"]))
                    .arg(Arg::new("context").long("context").action(ArgAction::Set))
                    .arg(Arg::new("file").long("filename").help("A file")),
            )
            .subcommand(Command::new("nodes"))
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_string()).collect()
    }

    /// Cobra's format: candidates (with a tab and a description), then `:directive`.
    #[test]
    fn cobra_format_for_kubectl() {
        assert_eq!(complete(&cmd(), &words(&[""])), "check\tCheck things\nnodes\t\n:4\n");
        assert_eq!(complete(&cmd(), &words(&["ch"])), "check\tCheck things\n:4\n");
        assert_eq!(complete(&cmd(), &words(&["check", "--f"])), "--filename\tA file\n:4\n");
        assert_eq!(complete(&cmd(), &words(&["check", "-o", ""])), "table\njson\n:4\n");
        assert_eq!(complete(&cmd(), &words(&["check", "--filename", ""])), ":0\n", "file names: the shell's default");
        let contexts = |flag: &str| (flag == "context").then(|| vec!["prod".to_string(), "staging".to_string()]);
        assert_eq!(complete_with(&cmd(), &words(&["check", "--context", "pr"]), &contexts), "prod\n:4\n");
    }

    /// The first positional argument from the plugin (`model <TAB>`), also
    /// after flags and their values; not once it is given.
    #[test]
    fn positional_values_from_the_plugin() {
        let cmd = Command::new("kubectl-x").subcommand(
            Command::new("model")
                .arg(Arg::new("model").required(true))
                .arg(Arg::new("gpu").long("gpu").action(ArgAction::Set)),
        );
        let models = |id: &str| (id == "model").then(|| vec!["Qwen/Qwen3-8B".to_string(), "meta-llama/x".to_string()]);
        assert_eq!(complete_with(&cmd, &words(&["model", "Qw"]), &models), "Qwen/Qwen3-8B\n:4\n");
        assert_eq!(complete_with(&cmd, &words(&["model", "--gpu", "H100", "me"]), &models), "meta-llama/x\n:4\n");
        assert_eq!(complete_with(&cmd, &words(&["model", "Qwen/Qwen3-8B", ""]), &models), ":0\n");
    }
}
