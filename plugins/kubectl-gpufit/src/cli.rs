//! The flags: clap's types for every subcommand, and nothing that runs.
// clap shows these doc comments as --help text, where brackets are
// literal (`[NODES*]` in --nodes), not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueHint};
use gpuops_cli::{OutputArgs, Verbosity};
use gpuops_schedule::cluster;
use gpuops_schedule::scheduler as schedule;

#[derive(Debug, Parser)]
#[command(
    name = "kubectl gpufit",
    bin_name = "kubectl gpufit",
    version,
    about = "Will these GPU workloads fit this cluster — and if not, exactly why",
    after_help = "Examples:\n  kubectl gpufit check -k overlays/prod --context prod\n  kubectl gpufit check -f deploy.yaml --nodes '2*8xH100-80GB,8xL4'\n  kubectl get nodes,pods -A -o yaml > cluster.yaml && kubectl gpufit check -f app/ --cluster-file cluster.yaml\n  kubectl gpufit nodes\n  kubectl gpufit model Qwen/Qwen2.5-32B-Instruct --gpu L40S --tp 2\n\nExit codes: 0 everything fits, 1 something does not fit, 2 usage or input error, 3 everything checked fits but a model or GPU is unknown, or a model cannot be sized."
)]
pub struct Cli {
    /// None: no subcommand, which prints the help and exits 0, as kubectl
    /// itself does (kubectl pkg/cmd/cmd.go, NewKubectlCommand: `Run: runHelp`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Listed after each subcommand's own flags (a global flag keeps the
    /// place it has among the top-level flags).
    #[command(flatten, next_display_order = 10_000)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Place every replica of the given workloads and check rollouts and GPU memory.
    Check(CheckArgs),
    /// GPU inventory per node: product, memory, allocatable, used, free.
    Nodes(NodesArgs),
    /// The GPU memory calculator alone (weights + KV cache at a TP size).
    Model(ModelArgs),
    /// GPUs of this machine, through NVML.
    Local(LocalArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, or kubectl for `kubectl gpufit <TAB>`).
    Completion(gpuops_cli::CompletionArgs),
    /// Cobra-style completion candidates, for kubectl_complete-gpufit.
    #[command(name = "__complete", hide = true)]
    Complete(gpuops_cli::CompleteArgs),
}

/// Where the cluster comes from: a live API server (kubectl flags), a dump,
/// or synthetic nodes.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (only this file; default: every file in $KUBECONFIG, merged as kubectl does, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; repeat to check a fleet (each context in turn).
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// The kubeconfig cluster to use (overrides the context's).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The kubeconfig user to use (overrides the context's).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// The address and port of the Kubernetes API server (overrides the kubeconfig's).
    #[arg(short = 's', long, value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for authentication to the API server.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Path to a cert file for the certificate authority.
    #[arg(long, value_name = "FILE")]
    pub certificate_authority: Option<PathBuf>,
    /// Path to a client certificate file for TLS.
    #[arg(long, value_name = "FILE")]
    pub client_certificate: Option<PathBuf>,
    /// Path to a client key file for TLS.
    #[arg(long, value_name = "FILE")]
    pub client_key: Option<PathBuf>,
    /// If true, the server's certificate will not be checked for validity (insecure).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Server name to use for server certificate validation (default: the server's hostname).
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Username to impersonate for the operation (a user or a service account).
    #[arg(long = "as", value_name = "USER")]
    pub impersonate: Option<String>,
    /// Group to impersonate for the operation; repeat to specify multiple groups.
    #[arg(long = "as-group", value_name = "GROUP", requires = "impersonate")]
    pub impersonate_groups: Vec<String>,
    /// UID to impersonate for the operation.
    #[arg(long = "as-uid", value_name = "UID", requires = "impersonate")]
    pub impersonate_uid: Option<String>,
    /// check: the namespace of workloads whose manifests name none (as `kubectl apply -n`);
    /// nodes: also show what this namespace's pods use (USED(NS)). Placement always counts
    /// every namespace's pods, as the scheduler does.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Only the nodes whose labels match this selector (kubectl's syntax: 'pool=h100',
    /// 'pool in (a100,h100),!spot', 'gpu-count>4'): check or list one node pool.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR", value_parser = cluster::LabelSelector::parse)]
    pub selector: Option<cluster::LabelSelector>,
    /// A dump of `kubectl get nodes,pods -A -o yaml|json` instead of a live cluster.
    #[arg(long, value_name = "FILE", conflicts_with = "nodes")]
    pub cluster_file: Option<PathBuf>,
    /// Synthetic nodes for planning: [NODES*]GPUSxPRODUCT[LABEL=VALUE,taint=KEY=VALUE:EFFECT],...
    /// e.g. '2*8xH100-80GB,8xL4[cloud.google.com/gke-accelerator=nvidia-l4]'.
    #[arg(long, value_name = "POOLS")]
    pub nodes: Option<String>,
    /// A label for every --nodes node (KEY=VALUE; repeatable).
    #[arg(long = "node-label", value_name = "KEY=VALUE", requires = "nodes", value_parser = cluster::parse_label)]
    pub node_labels: Vec<(String, String)>,
    /// A taint for every --nodes node (KEY[=VALUE]:EFFECT, as `kubectl taint` writes it; repeatable).
    #[arg(long = "node-taint", value_name = "KEY[=VALUE]:EFFECT", requires = "nodes", value_parser = cluster::parse_taint)]
    pub node_taints: Vec<cluster::Taint>,
    /// The Kubernetes version whose messages to print (1.31 to 1.35); default: the live
    /// server's (/version), else the newest.
    #[arg(long, value_name = "VERSION", value_parser = parse_kube_version)]
    pub kube_version: Option<schedule::KubeVersion>,
    /// Items per page when listing nodes and pods (kubectl's --chunk-size).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk_size: u32,
    /// Deadline of each API request, whole answer included (e.g. 30s; 0 = none).
    #[arg(long, default_value = "30s", value_parser = gpuops_cli::parse_duration)]
    pub request_timeout: Duration,
    /// Stop with an error after this many pages of one list (a continue chain that never ends).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_pages: u32,
    /// Stop with an error past this many objects in one list (nodes, pods) or in a
    /// --cluster-file, or past 8 KiB per object of it in bytes; raise it for a
    /// cluster beyond 300,000 pods.
    #[arg(long, value_name = "N", default_value_t = gpuops_cluster::DEFAULT_MAX_OBJECTS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_objects: usize,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Manifests: a file, a directory (its .json, .yaml and .yml files; -R for subdirectories),
    /// or - for stdin (YAML/JSON streams and Lists). Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", value_hint = ValueHint::AnyPath)]
    pub files: Vec<PathBuf>,
    /// Process the directories given with -f recursively, as kubectl's -R does.
    // Without -f it means nothing: kubectl refuses `-k DIR -R` (cli-runtime
    // pkg/resource/builder.go, FilenameOptions.validate).
    #[arg(short = 'R', long, requires = "files")]
    pub recursive: bool,
    /// A kustomization directory, built with `kubectl kustomize --enable-alpha-plugins`;
    /// gpuops' GpuProfile and ModelTags transformers run without installing the plugin.
    #[arg(short = 'k', long = "kustomize", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub kustomize: Vec<PathBuf>,
    /// Treat warnings about the input as errors (exit 2): objects that deploy workloads
    /// gpufit cannot render (HelmRelease, Argo CD Application/ApplicationSet, Flux Kustomization).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Report rollout surge problems but do not count them as "does not fit".
    #[arg(long)]
    pub ignore_rollout: bool,
    /// Emulate the ExtendedResourceToleration admission plugin (GKE, AKS).
    #[arg(long)]
    pub extended_resource_toleration: bool,
}

#[derive(Debug, Args)]
pub struct NodesArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Use of every namespace (the default; undoes -n).
    #[arg(short = 'A', long, overrides_with = "namespace")]
    pub all_namespaces: bool,
    /// Allocations per GPU resource, grouped in this order (repeat or comma-separate:
    /// node, namespace, pod, gpu-product), as kubectl-view-allocations -g: requested and
    /// limit with their share of allocatable, free; MIG and shared GPUs apart.
    #[arg(short = 'g', long = "group-by", value_name = "GROUP", value_delimiter = ',', value_enum)]
    pub group_by: Vec<GroupBy>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A level of `nodes -g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Node,
    Namespace,
    Pod,
    GpuProduct,
}

impl GroupBy {
    /// Whether every pod of a group sits on nodes of the group (so the
    /// group has an allocatable to compare with).
    pub fn of_nodes(self) -> bool {
        matches!(self, GroupBy::Node | GroupBy::GpuProduct)
    }

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Node => "node",
            GroupBy::Namespace => "namespace",
            GroupBy::Pod => "pod",
            GroupBy::GpuProduct => "gpu-product",
        }
    }
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model id (e.g. Qwen/Qwen2.5-32B-Instruct) or a reference containing it.
    pub model: String,
    /// The model's Hugging Face config.json, or its directory (with hf_quant_config.json);
    /// default: the catalog, then the local Hugging Face cache (HF_HUB_CACHE, HF_HOME).
    #[arg(long, value_name = "FILE|DIR")]
    pub model_config: Option<PathBuf>,
    /// GPU product (e.g. H100-80GB, L40S, RTX-4090, MI300X, or a node's product label).
    #[arg(long, required_unless_present = "gpu_memory")]
    pub gpu: Option<String>,
    /// The GPU's memory as CUDA reports it (24GiB, 80GB, 81559MiB), for a GPU the
    /// catalog does not know, or to override the catalog's figure.
    #[arg(long, value_name = "SIZE")]
    pub gpu_memory: Option<String>,
    /// GPU memory other processes already hold when vLLM starts (20GiB, 8192MiB; a
    /// plain number is GiB): a GPU shared with other pods or programs. vLLM 0.9.1+
    /// refuses to start with less than total × utilization free; V1 before 0.9.1
    /// takes it out of the KV cache; V0 sizes the cache as if the GPU were empty.
    #[arg(long, value_name = "SIZE")]
    pub gpu_memory_in_use: Option<String>,
    /// A MIG profile of --gpu (3g.40gb): size the model against that slice.
    #[arg(long, value_name = "PROFILE", requires = "gpu")]
    pub mig: Option<String>,
    /// Tensor-parallel size (vLLM's --tensor-parallel-size), at least 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub tp: u64,
    /// Pipeline-parallel size (vLLM's --pipeline-parallel-size), at least 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub pp: u64,
    /// Context length (32768, 32k, 128K); default: the model's maximum.
    #[arg(long)]
    pub max_model_len: Option<String>,
    /// Fraction of GPU memory vLLM may use, 0 < u ≤ 1; default: the engine's (0.92 from
    /// vLLM 0.21, 0.9 before).
    #[arg(long, value_parser = parse_utilization)]
    pub gpu_memory_utilization: Option<f64>,
    /// Weight and activation dtype (vLLM's --dtype: auto, bfloat16, float16, float32).
    #[arg(long, default_value = "auto")]
    pub dtype: String,
    /// Quantization method (vLLM's --quantization: awq, gptq, fp8, ...); default: the model config's.
    #[arg(long)]
    pub quantization: Option<String>,
    /// KV-cache dtype (vLLM's --kv-cache-dtype: auto, fp8, fp8_e4m3, fp8_e5m2).
    #[arg(long, default_value = "auto")]
    pub kv_cache_dtype: String,
    /// The vLLM version whose memory accounting to use (0.6.4, v0.10.1), or a
    /// generation: v0, v1 (0.8-0.20), v1-graphs (0.21+, the default).
    #[arg(long, value_name = "VERSION")]
    pub engine: Option<String>,
    /// Most sequences per batch (vLLM's --max-num-seqs); default: the engine's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_num_seqs: Option<u64>,
    /// Most tokens per batch (vLLM's --max-num-batched-tokens); default: the engine's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_num_batched_tokens: Option<u64>,
    /// No CUDA graphs (their memory leaves the budget).
    #[arg(long)]
    pub enforce_eager: bool,
    /// Let a deprecated quantization method start (vLLM's
    /// --allow-deprecated-quantization, from 0.14: fbgemm_fp8, …).
    #[arg(long)]
    pub allow_deprecated_quantization: bool,
    /// A fixed KV-cache size per GPU (bytes, or 8GiB), instead of what the utilization leaves.
    #[arg(long, value_name = "SIZE", alias = "kv-cache-memory")]
    pub kv_cache_memory_bytes: Option<String>,
    /// GiB of weights per GPU kept in CPU memory.
    #[arg(long, default_value_t = 0.0)]
    pub cpu_offload_gb: f64,
    /// vLLM's KV transfer config (JSON with "kv_connector"): the connector's
    /// own GPU memory is not modelled, and the answer says so.
    #[arg(long, value_name = "JSON")]
    pub kv_transfer_config: Option<String>,
    /// vLLM's --distributed-executor-backend (ray, mp, …): whether vLLM
    /// 0.8.3–0.10 runs pipeline parallelism on its V1 engine.
    #[arg(long, value_name = "BACKEND")]
    pub distributed_executor_backend: Option<String>,
    /// Serve LoRA adapters (vLLM's --enable-lora): the adapter slots vLLM
    /// allocates beside every wrapped layer count with the weights.
    #[arg(long)]
    pub enable_lora: bool,
    /// Adapters in one batch (vLLM's --max-loras) [default: 1].
    #[arg(long, requires = "enable_lora", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_loras: Option<u64>,
    /// Largest adapter rank (vLLM's --max-lora-rank) [default: 16].
    #[arg(long, requires = "enable_lora")]
    pub max_lora_rank: Option<u64>,
    /// Shard the adapters across the TP group (vLLM's --fully-sharded-loras).
    #[arg(long, requires = "enable_lora")]
    pub fully_sharded_loras: bool,
    /// Also print the settings that start safely for --concurrency requests
    /// of --max-model-len tokens, and the fewest GPUs of each catalog type that serve them.
    #[arg(long)]
    pub recommend: bool,
    /// Requests of --max-model-len tokens served at once (for --recommend).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000), requires = "recommend")]
    pub concurrency: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--gpu-memory-utilization`: vLLM accepts 0 < u ≤ 1 (vllm/config/cache.py).
fn parse_utilization(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if value > 0.0 && value <= 1.0 { Ok(value) } else { Err(format!("must be within (0, 1], got {value}")) }
}

/// `--kube-version`: a version whose scheduler and kubelet wording is
/// modelled. A server's own version outside the range is worded as the
/// nearest one ([`schedule::KubeVersion::wording`]); a flag asking for one
/// is a mistake, not a wish to be rounded.
fn parse_kube_version(text: &str) -> Result<schedule::KubeVersion, String> {
    let version = schedule::KubeVersion::parse(text).map_err(|e| e.to_string())?;
    let (oldest, newest) = (schedule::KubeVersion::OLDEST, schedule::KubeVersion::NEWEST);
    if version < oldest || version > newest {
        return Err(format!("{version} is outside the versions whose messages are modelled ({oldest} to {newest})"));
    }
    Ok(version)
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    /// Every flag and argument a user can see says what it does: walk the
    /// whole command tree (hidden commands and arguments aside).
    #[test]
    fn every_flag_has_help() {
        fn missing(command: &clap::Command, path: &str, out: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                    out.push(format!("{path}: {}", arg.get_long().unwrap_or(arg.get_id().as_str())));
                }
            }
            for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
                missing(sub, &path, out);
            }
        }
        let mut out = Vec::new();
        missing(&super::Cli::command(), "", &mut out);
        assert!(out.is_empty(), "flags without help text: {out:#?}");
    }

    /// cli-runtime pkg/resource/builder_test.go, TestFilenameOptionsValidate:
    /// rows 2-5 ("-k dir -R" refused; "-f file", "-f dir -R", "-k dir"
    /// accepted). Row 1 ("-f file -k dir" refused) is answered differently on
    /// purpose: gpufit checks manifests and a kustomization together.
    #[test]
    fn upstream_filename_options_validate() {
        let parse = |args: &[&str]| super::Cli::try_parse_from([&["kubectl-gpufit", "check"][..], args].concat());
        let refused = parse(&["-k", "dir", "-R"]).unwrap_err();
        assert_eq!(refused.kind(), clap::error::ErrorKind::MissingRequiredArgument, "{refused}");
        for accepted in [&["-f", "file"][..], &["-f", "dir", "-R"], &["-k", "dir"], &["-f", "file", "-k", "dir"]] {
            assert!(parse(accepted).is_ok(), "{accepted:?}");
        }
    }

    #[test]
    fn kube_version_outside_the_modelled_range_is_refused() {
        assert_eq!(super::parse_kube_version("v1.33.2").unwrap().minor, 33);
        assert_eq!(
            super::parse_kube_version("1.30").unwrap_err(),
            "1.30 is outside the versions whose messages are modelled (1.31 to 1.35)"
        );
        assert!(super::parse_kube_version("1.36").is_err());
        assert!(super::parse_kube_version("latest").is_err());
    }
}
