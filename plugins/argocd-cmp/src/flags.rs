//! `GPUOPS_KUSTOMIZE_FLAGS`: extra kustomize flags an operator sets on the
//! sidecar. They change what kustomize may read and run, so they come from
//! the sidecar's own environment only ([`crate::env::sidecar_setting`]),
//! never from an Application (`plugin.env` arrives `ARGOCD_ENV_`-prefixed
//! and is refused for GPUOPS_* names by `Env::check_app_env`).

use crate::Error;

const NAME: &str = "GPUOPS_KUSTOMIZE_FLAGS";

/// The flags, checked: whitespace-separated, each one of
/// `--load-restrictor=LoadRestrictionsRootOnly|LoadRestrictionsNone` and
/// `--enable-helm`. `--enable-exec` is refused: an exec function names its
/// program in repository content, which this sidecar never runs (the
/// guard refuses every exec binding; allow a legacy plugin kind with
/// GPUOPS_ALLOWED_PLUGINS instead).
pub fn parse(text: Option<&str>) -> Result<Vec<String>, Error> {
    let mut flags: Vec<String> = Vec::new();
    for flag in text.unwrap_or_default().split_whitespace() {
        let ok = match flag {
            "--enable-helm" => true,
            "--load-restrictor=LoadRestrictionsRootOnly" | "--load-restrictor=LoadRestrictionsNone" => true,
            "--enable-exec" => {
                return Err(setting(
                    "--enable-exec is not supported: exec functions name their program in the repository, which this sidecar never runs; allow a legacy plugin kind with GPUOPS_ALLOWED_PLUGINS instead",
                ));
            }
            _ => false,
        };
        if !ok {
            let shown = gpuops_manifest::text::printable_prefix(flag, 80);
            return Err(setting(&format!(
                "{shown:?} is not one of --enable-helm, --load-restrictor=LoadRestrictionsRootOnly, --load-restrictor=LoadRestrictionsNone"
            )));
        }
        if flags.iter().any(|f| f.split('=').next() == flag.split('=').next()) {
            return Err(setting(&format!("{flag} is given twice")));
        }
        flags.push(flag.to_string());
    }
    Ok(flags)
}

fn setting(message: &str) -> Error {
    Error::Setting { name: NAME, message: message.to_string() }
}

/// The sidecar's flags.
pub fn from_sidecar() -> Result<Vec<String>, Error> {
    parse(crate::env::sidecar_setting(NAME).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the listed flags pass, each once; --enable-exec is refused with
    /// the reason (before: no way to pass a flag at all, so a Helm chart
    /// in a kustomization could not render in the sidecar).
    #[test]
    fn only_known_flags_from_the_sidecar() {
        assert_eq!(parse(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            parse(Some(" --enable-helm  --load-restrictor=LoadRestrictionsNone ")).unwrap(),
            ["--enable-helm", "--load-restrictor=LoadRestrictionsNone"]
        );
        let err = |t: &str| parse(Some(t)).unwrap_err().to_string();
        assert!(err("--enable-exec").contains("never runs"), "{}", err("--enable-exec"));
        assert!(
            err("--helm-command=/bin/sh")
                .starts_with("setting GPUOPS_KUSTOMIZE_FLAGS: \"--helm-command=/bin/sh\" is not one of")
        );
        assert!(err("--enable-helm --enable-helm").contains("given twice"));
        assert!(
            err("--load-restrictor=LoadRestrictionsRootOnly --load-restrictor=LoadRestrictionsNone")
                .contains("given twice")
        );
    }
}
