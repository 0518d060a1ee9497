//! An SPDX 2.3 JSON document for one binary package, from `cargo metadata
//! --format-version 1 --filter-platform TARGET` and `Cargo.lock`.
//!
//! The packages are the package itself and every package reachable from it
//! through normal dependencies (what is compiled into the binary,
//! proc-macros included; build scripts' and tests' dependencies are not),
//! as cargo resolved them for the target. Each carries its version, the
//! licence cargo declares, a `pkg:cargo` purl, crates.io's download URL
//! and the sha256 Cargo.lock records for registry crates. The document is
//! a function of its inputs only (sorted, no host paths, `created` given
//! by the caller), so the same commit gives the same bytes.
//! Fields per the SPDX 2.3 specification, clauses 6 (document creation
//! information), 7 (package information) and 11 (relationships).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::json;

/// Why no document could be made.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("cargo metadata: {0}")]
    Metadata(#[from] serde_json::Error),
    #[error("cargo metadata has no resolve graph (run it without --no-deps)")]
    NoResolve,
    #[error("cargo metadata: no workspace package named {0}")]
    NoPackage(String),
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    resolve: Option<Resolve>,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// `name version -> sha256` of every `[[package]]` with a checksum in a
/// Cargo.lock (version 3 or 4: `name = "…"`, `version = "…"`,
/// `checksum = "…"` lines).
pub fn lock_checksums(lock: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let (mut name, mut version) = (String::new(), String::new());
    let value = |line: &str, key: &str| {
        line.strip_prefix(key)
            .and_then(|r| r.trim_start().strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    for line in lock.lines() {
        if line.trim() == "[[package]]" {
            (name, version) = (String::new(), String::new());
        } else if let Some(v) = value(line, "name") {
            name = v;
        } else if let Some(v) = value(line, "version") {
            version = v;
        } else if let Some(v) = value(line, "checksum") {
            out.insert((name.clone(), version.clone()), v);
        }
    }
    out
}

/// SPDX identifiers allow letters, digits, `.` and `-` (clause 7.2).
fn spdx_id(name: &str, version: &str) -> String {
    let clean =
        |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect::<String>();
    format!("SPDXRef-Package-{}-{}", clean(name), clean(version))
}

/// The ids reachable from `root` through normal dependencies.
fn closure<'a>(root: &'a str, graph: &'a BTreeMap<&'a str, Vec<&'a str>>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::from([root]);
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        for dep in graph.get(id).into_iter().flatten() {
            if seen.insert(dep) {
                todo.push(dep);
            }
        }
    }
    seen
}

/// The SPDX document (pretty JSON) for workspace package `package`.
/// `created` is the document's creation time (RFC 3339), `tool` names the
/// tool and version that made it.
pub fn spdx(metadata: &str, lock: &str, package: &str, created: &str, tool: &str) -> Result<String, SbomError> {
    let meta: Metadata = serde_json::from_str(metadata)?;
    let resolve = meta.resolve.ok_or(SbomError::NoResolve)?;
    let by_id: BTreeMap<&str, &Package> = meta.packages.iter().map(|p| (p.id.as_str(), p)).collect();
    let root = meta
        .workspace_members
        .iter()
        .find(|id| by_id.get(id.as_str()).is_some_and(|p| p.name == package))
        .ok_or_else(|| SbomError::NoPackage(package.to_string()))?;
    // Normal edges only: a dependency listed as build or dev alone is not
    // in the binary.
    let graph: BTreeMap<&str, Vec<&str>> = resolve
        .nodes
        .iter()
        .map(|n| {
            let normal = n.deps.iter().filter(|d| d.dep_kinds.iter().any(|k| k.kind.is_none()));
            (n.id.as_str(), normal.map(|d| d.pkg.as_str()).collect())
        })
        .collect();
    let ids = closure(root, &graph);
    let sums = lock_checksums(lock);
    let root_pkg = by_id[root.as_str()];
    let mut packages: Vec<serde_json::Value> =
        ids.iter().filter_map(|id| by_id.get(id)).map(|p| package_json(p, &sums)).collect();
    packages.sort_by_key(|p| p["SPDXID"].as_str().unwrap_or_default().to_string());
    let mut relationships: BTreeSet<(String, String)> = BTreeSet::new();
    for id in &ids {
        let Some(from) = by_id.get(id) else { continue };
        for dep in graph.get(id).into_iter().flatten().filter_map(|d| by_id.get(d)) {
            relationships.insert((spdx_id(&from.name, &from.version), spdx_id(&dep.name, &dep.version)));
        }
    }
    let root_id = spdx_id(&root_pkg.name, &root_pkg.version);
    let mut rels = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root_id}),
    ];
    rels.extend(
        relationships
            .into_iter()
            .map(|(a, b)| json!({"spdxElementId": a, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": b})),
    );
    // The namespace is unique per content (clause 6.5): the package list
    // and edges hashed.
    let digest = crate::sha256_hex(format!("{packages:?}{rels:?}").as_bytes());
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}-{}", root_pkg.name, root_pkg.version),
        "documentNamespace": format!("https://github.com/gpuops/gpuops/spdx/{}-{}-{}", root_pkg.name, root_pkg.version, &digest[..16]),
        "creationInfo": {"created": created, "creators": [format!("Tool: {tool}")]},
        "documentDescribes": [root_id],
        "packages": packages,
        "relationships": rels,
    });
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

fn package_json(p: &Package, sums: &BTreeMap<(String, String), String>) -> serde_json::Value {
    let from_crates_io = p.source.as_deref() == Some(CRATES_IO);
    let mut v = json!({
        "name": p.name,
        "SPDXID": spdx_id(&p.name, &p.version),
        "versionInfo": p.version,
        "downloadLocation": if from_crates_io {
            format!("https://crates.io/api/v1/crates/{}/{}/download", p.name, p.version)
        } else {
            "NOASSERTION".to_string()
        },
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        // Cargo's `license` is an SPDX expression; the old `/` separator
        // means OR.
        "licenseDeclared": p.license.as_deref().map_or("NOASSERTION".to_string(), |l| l.replace('/', " OR ")),
        "copyrightText": "NOASSERTION",
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": format!("pkg:cargo/{}@{}", p.name, p.version),
        }],
    });
    if let Some(sum) = sums.get(&(p.name.clone(), p.version.clone())).filter(|_| from_crates_io) {
        v["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": sum}]);
    }
    v
}

/// RFC 3339 UTC time of `secs` since the Unix epoch (for
/// SOURCE_DATE_EPOCH), by Howard Hinnant's days-to-civil algorithm.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests;
