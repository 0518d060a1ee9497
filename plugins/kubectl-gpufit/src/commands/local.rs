//! `kubectl gpufit local`: this machine's GPUs through NVML, behind a trait
//! so everything but the library call is testable without a GPU.

use crate::cli::LocalArgs;
use crate::render::{self, LocalGpu};
use crate::{Error, ExitCode};

/// Where local GPU facts come from.
pub(crate) trait LocalGpus {
    fn devices(&self) -> Result<Vec<LocalGpu>, String>;
}

#[cfg(feature = "nvml")]
struct Nvml;

#[cfg(feature = "nvml")]
impl LocalGpus for Nvml {
    fn devices(&self) -> Result<Vec<LocalGpu>, String> {
        // NVML is loaded at run time: on a machine without the NVIDIA
        // driver this is an error, not a link failure.
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("no NVIDIA driver or NVML on this machine ({e})"))?;
        let count = nvml.device_count().map_err(|e| e.to_string())?;
        (0..count)
            .map(|index| {
                let device = nvml.device_by_index(index).map_err(|e| e.to_string())?;
                let memory = device.memory_info().map_err(|e| e.to_string())?;
                let compute =
                    device.cuda_compute_capability().map(|c| format!("{}.{}", c.major, c.minor)).unwrap_or_default();
                Ok(LocalGpu {
                    index,
                    name: device.name().map_err(|e| e.to_string())?,
                    memory_total_mib: memory.total >> 20,
                    memory_used_mib: memory.used >> 20,
                    compute,
                })
            })
            .collect()
    }
}

#[cfg(not(feature = "nvml"))]
struct Nvml;

#[cfg(not(feature = "nvml"))]
impl LocalGpus for Nvml {
    fn devices(&self) -> Result<Vec<LocalGpu>, String> {
        Err("built without the nvml feature".into())
    }
}

/// The devices `source` reports, printed; a source that cannot say (no
/// driver) is one line on stderr and exit 2.
pub(crate) fn report(source: &dyn LocalGpus, args: &LocalArgs) -> Result<ExitCode, Error> {
    match source.devices() {
        Err(message) => {
            render::eprint_line(&format!("error: {message}"));
            Ok(ExitCode::Error)
        }
        Ok(devices) => {
            render::emit(&render::local(&devices, &args.output)?)?;
            Ok(ExitCode::Success)
        }
    }
}

pub(crate) fn local(args: &LocalArgs) -> Result<ExitCode, Error> {
    report(&Nvml, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Result<Vec<LocalGpu>, String>);

    impl LocalGpus for Fake {
        fn devices(&self) -> Result<Vec<LocalGpu>, String> {
            self.0.clone()
        }
    }

    fn args() -> LocalArgs {
        LocalArgs { output: gpuops_cli::OutputArgs { output: gpuops_cli::OutputFormat::Table, no_headers: false } }
    }

    #[test]
    fn devices_and_missing_driver() {
        let gpu = LocalGpu {
            index: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            memory_total_mib: 81559,
            memory_used_mib: 0,
            compute: "9.0".into(),
        };
        assert_eq!(report(&Fake(Ok(vec![gpu])), &args()).unwrap(), ExitCode::Success);
        assert_eq!(report(&Fake(Err("no NVIDIA driver".into())), &args()).unwrap(), ExitCode::Error);
    }
}
