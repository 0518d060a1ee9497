//! `gpuops-inject install-plugin`: put the binary where kustomize looks for
//! legacy exec plugins.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::{fs, io};

/// `(lowercase kind dir, Kind)` of each plugin kind the binary serves.
pub const PLUGIN_KINDS: &[(&str, &str)] = &[("gpuprofile", "GpuProfile"), ("modeltags", "ModelTags")];
pub const PLUGIN_GROUP_VERSION: &str = "gpuops.dev/v1alpha1";

/// kustomize's plugin home: `$KUSTOMIZE_PLUGIN_HOME`, else
/// `$XDG_CONFIG_HOME/kustomize/plugin`, else `$HOME/.config/kustomize/plugin`
/// (kustomize api/konfig/plugins.go `DefaultAbsPluginHome`), from `env`
/// (the binary passes its environment).
pub fn default_plugin_home(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |k: &str| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    non_empty("KUSTOMIZE_PLUGIN_HOME")
        .or_else(|| non_empty("XDG_CONFIG_HOME").map(|x| x.join("kustomize/plugin")))
        .or_else(|| non_empty("HOME").map(|h| h.join(".config/kustomize/plugin")))
}

/// Copy `binary` to `<home>/gpuops.dev/v1alpha1/<kind>/<Kind>` for each kind.
/// Each copy is written to a temporary file and renamed, so a concurrent
/// `kustomize build` never runs a half-written plugin.
pub fn install_plugin(home: &Path, binary: &Path) -> io::Result<Vec<PathBuf>> {
    let mut installed = Vec::new();
    for (dir, kind) in PLUGIN_KINDS {
        let target_dir = home.join(PLUGIN_GROUP_VERSION).join(dir);
        fs::create_dir_all(&target_dir)?;
        let target = target_dir.join(kind);
        let temp = target_dir.join(format!(".{kind}.tmp-{}", std::process::id()));
        fs::copy(binary, &temp).map_err(|e| {
            io::Error::new(e.kind(), format!("copying {} to {}: {e}", binary.display(), temp.display()))
        })?;
        set_executable(&temp)?;
        fs::rename(&temp, &target)?;
        installed.push(target);
    }
    Ok(installed)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> io::Result<()> {
    Ok(())
}
