//! `kubectl gpufit local`: this machine's GPUs through NVML, behind a trait
//! so everything but the library call is testable without a GPU.

use gpuops_cli::{OutputFormat, Table, render_value};
use serde::Serialize;

use crate::{Error, ExitCode, LocalArgs, output};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LocalGpu {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) memory_total_mib: u64,
    pub(crate) memory_used_mib: u64,
    pub(crate) compute: String,
}

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

pub(crate) fn report(source: &dyn LocalGpus, args: &LocalArgs) -> Result<ExitCode, Error> {
    match source.devices() {
        Err(message) => {
            output::eprint_line(&format!("error: {message}"));
            Ok(ExitCode::Error)
        }
        Ok(devices) => {
            match args.output.output {
                OutputFormat::Json | OutputFormat::Yaml => {
                    output::print(&render_value(&serde_json::json!({"gpus": devices}), args.output.output));
                }
                _ => {
                    let mut t = Table::new(&["index", "name", "memory", "used", "compute"]);
                    for d in &devices {
                        t.push(vec![
                            d.index.to_string(),
                            d.name.clone(),
                            format!("{}Mi", d.memory_total_mib),
                            format!("{}Mi", d.memory_used_mib),
                            d.compute.clone(),
                        ]);
                    }
                    output::print(&t.render(args.output.no_headers));
                }
            }
            Ok(ExitCode::Success)
        }
    }
}

pub(crate) fn run(args: &LocalArgs) -> Result<ExitCode, Error> {
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
        LocalArgs { output: crate::OutputArgs { output: OutputFormat::Table, no_headers: false } }
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
