//! `local`: this machine's GPUs as a table or a `LocalGpuList` document.

use gpuops_cli::{Kind, OutputArgs, Table};
use serde::Serialize;

use super::{Items, document, is_document};
use crate::Error;

/// One device as NVML reports it: a table row and a document item alike.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LocalGpu {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) memory_total_mib: u64,
    pub(crate) memory_used_mib: u64,
    /// CUDA compute capability (`9.0`); empty when NVML does not say.
    pub(crate) compute: String,
}

pub(crate) fn local(devices: &[LocalGpu], args: &OutputArgs) -> Result<String, Error> {
    if is_document(args.output) {
        return document(Kind::LocalGpuList, Items { items: devices }, args.output);
    }
    let mut table = Table::new(&["index", "name", "memory", "used", "compute"]);
    for d in devices {
        table.push(vec![
            d.index.to_string(),
            d.name.clone(),
            format!("{}Mi", d.memory_total_mib),
            format!("{}Mi", d.memory_used_mib),
            d.compute.clone(),
        ]);
    }
    Ok(table.render(args.no_headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpuops_cli::OutputFormat;

    /// `local -o json` lists the devices under `items` (it was `gpus`,
    /// without the envelope, before the output schema).
    #[test]
    fn devices_are_a_local_gpu_list() {
        let gpu = LocalGpu {
            index: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            memory_total_mib: 81559,
            memory_used_mib: 3,
            compute: "9.0".into(),
        };
        let json =
            local(std::slice::from_ref(&gpu), &OutputArgs { output: OutputFormat::Json, no_headers: false }).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "LocalGpuList", "items": [
                {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memoryTotalMib": 81559, "memoryUsedMib": 3, "compute": "9.0"}]})
        );
        let table = local(&[gpu], &OutputArgs { output: OutputFormat::Table, no_headers: false }).unwrap();
        assert_eq!(
            table,
            "INDEX   NAME                    MEMORY    USED   COMPUTE\n0       NVIDIA H100 80GB HBM3   81559Mi   3Mi    9.0\n"
        );
    }
}
