use super::*;

const REG: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// A graph as `cargo metadata` writes it: app -> serde (normal), cc
/// (build), tempfile (dev); serde -> serde_derive (normal).
fn metadata() -> String {
    let pkg = |name: &str, source: Option<&str>, license: &str| {
        json!({"id": format!("{}#{name}@1.0.0", source.unwrap_or("path+file:///home/x/app")), "name": name,
               "version": "1.0.0", "license": license, "source": source})
    };
    let id = |name: &str, source: &str| format!("{source}#{name}@1.0.0");
    let app = id("app", "path+file:///home/x/app");
    let dep = |name: &str, kind: Option<&str>| json!({"name": name, "pkg": id(name, REG), "dep_kinds": [{"kind": kind, "target": null}]});
    json!({
        "packages": [pkg("app", None, "Apache-2.0"), pkg("serde", Some(REG), "MIT/Apache-2.0"),
                     pkg("serde_derive", Some(REG), "MIT OR Apache-2.0"), pkg("cc", Some(REG), "MIT"),
                     pkg("tempfile", Some(REG), "MIT")],
        "workspace_members": [app],
        "resolve": {"nodes": [
            {"id": app, "deps": [dep("serde", None), dep("cc", Some("build")), dep("tempfile", Some("dev"))]},
            {"id": id("serde", REG), "deps": [dep("serde_derive", None)]},
            {"id": id("serde_derive", REG), "deps": []},
            {"id": id("cc", REG), "deps": []},
            {"id": id("tempfile", REG), "deps": []},
        ]},
    })
    .to_string()
}

const LOCK: &str = "version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"aaaa\"\n\n[[package]]\nname = \"serde_derive\"\nversion = \"1.0.0\"\nchecksum = \"bbbb\"\n";

#[test]
fn normal_dependencies_only_with_licences_purls_and_checksums() {
    let doc: serde_json::Value =
        serde_json::from_str(&spdx(&metadata(), LOCK, "app", "1970-01-01T00:00:00Z", "gpuops-dist-0.1.0").unwrap())
            .unwrap();
    let names: Vec<&str> = doc["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["app", "serde", "serde_derive"], "build and dev dependencies are not in the binary");
    let serde = &doc["packages"][1];
    assert_eq!(serde["licenseDeclared"], "MIT OR Apache-2.0");
    assert_eq!(serde["checksums"][0]["checksumValue"], "aaaa");
    assert_eq!(serde["externalRefs"][0]["referenceLocator"], "pkg:cargo/serde@1.0.0");
    assert_eq!(serde["downloadLocation"], "https://crates.io/api/v1/crates/serde/1.0.0/download");
    assert_eq!(doc["packages"][0]["downloadLocation"], "NOASSERTION");
    assert!(doc["packages"][0].get("checksums").is_none());
    let rels: Vec<String> = doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["spdxElementId"].as_str().unwrap(),
                r["relationshipType"].as_str().unwrap(),
                r["relatedSpdxElement"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        rels,
        [
            "SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-app-1.0.0",
            "SPDXRef-Package-app-1.0.0 DEPENDS_ON SPDXRef-Package-serde-1.0.0",
            "SPDXRef-Package-serde-1.0.0 DEPENDS_ON SPDXRef-Package-serde-derive-1.0.0",
        ]
    );
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["creators"][0], "Tool: gpuops-dist-0.1.0");
    // No host path leaks into the document (reproducible across machines).
    assert!(!doc.to_string().contains("/home/x"));
}

#[test]
fn same_inputs_same_bytes_and_errors_name_the_problem() {
    let a = spdx(&metadata(), LOCK, "app", "t", "x").unwrap();
    assert_eq!(a, spdx(&metadata(), LOCK, "app", "t", "x").unwrap());
    assert!(matches!(spdx(&metadata(), LOCK, "nope", "t", "x"), Err(SbomError::NoPackage(p)) if p == "nope"));
    let no_resolve = json!({"packages": [], "workspace_members": [], "resolve": null}).to_string();
    assert!(matches!(spdx(&no_resolve, LOCK, "app", "t", "x"), Err(SbomError::NoResolve)));
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
}
