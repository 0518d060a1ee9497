//! Any environment the Argo CD CMP can be started with: Argo CD copies the
//! Application's `plugin.env` (as `ARGOCD_ENV_*`), its parameters (as
//! `ARGOCD_APP_PARAMETERS` and `PARAM_*`) and the sidecar's own variables
//! into the plugin's environment, none of it guaranteed to be UTF-8.
//! Reading it must not panic (a panic's text is what Argo CD shows and
//! caches), and an error about a value must never carry that value.
//!
//! Input: NUL-separated `name, value, name, value, …`; names are steered
//! towards the ones the plugin reads so the interesting paths are reached.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;

use argocd_gpuops_cmp::env::Env;
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "ARGOCD_APP_PARAMETERS",
    "ARGOCD_APP_SOURCE_PATH",
    "ARGOCD_GRPC_MAX_SIZE_MB",
    "KUBE_VERSION",
    "GPUOPS_DEADLINE",
    "ARGOCD_ENV_GPUOPS_DEADLINE",
    "ARGOCD_ENV_KUBE_VERSION",
    "PARAM_GPU_COUNT",
    "PARAM_FIT_GATE",
    "PARAM_CAPACITY",
];

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    let mut vars = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        // A one-byte name picks a known variable; longer names are used as given.
        let name = match name {
            [i] => NAMES[usize::from(*i) % NAMES.len()].as_bytes().to_vec(),
            other => other.to_vec(),
        };
        vars.push((OsString::from_vec(name), OsString::from_vec(value.to_vec())));
    }
    let values: Vec<Vec<u8>> = vars.iter().map(|(_, v)| v.clone().into_vec()).collect();
    let env = Env::from_vars_os(vars);
    let mut messages = Vec::new();
    if let Err(e) = env.parameters() {
        messages.push(e.to_string());
    }
    for name in ["GPUOPS_DEADLINE", "KUBE_VERSION", "ARGOCD_GRPC_MAX_SIZE_MB"] {
        if let Err(e) = env.setting(name) {
            messages.push(e.to_string());
        }
    }
    for message in messages {
        // A non-UTF-8 value is named, never shown: no value that failed to
        // decode may appear (in any lossy form) in the message.
        for value in values.iter().filter(|v| std::str::from_utf8(v).is_err()) {
            let lossy = String::from_utf8_lossy(value);
            if lossy.chars().count() >= 8 {
                assert!(!message.contains(lossy.as_ref()), "a non-UTF-8 value reached a message");
            }
        }
    }
});
