//! Any commit message template, bounded to 16 KiB as a field of a
//! repository object would be in practice: parsing and running it over
//! Flux-shaped data must end (limits below) without a panic, and a
//! rendered message must respect the output limit.
#![no_main]

use std::collections::BTreeMap;

use gpuops_gitops::template::{Data, Limits, render_with};
use libfuzzer_sys::fuzz_target;

fn data() -> Data {
    let change = |old: &str, new: &str| Data::Struct {
        fields: BTreeMap::from([
            ("OldValue".into(), Data::str(old)),
            ("NewValue".into(), Data::str(new)),
            ("Setter".into(), Data::str("flux-system:podinfo")),
        ]),
        display: format!("{{{old} {new} flux-system:podinfo}}"),
    };
    let values = Data::Map((0..8).map(|i| (Data::str(format!("k{i}")), Data::str("v"))).collect());
    let changes = Data::List(vec![change("5.0.0", "5.0.3"), change("1", "2")]);
    let files = Data::Map(vec![(Data::str("a.yaml"), Data::Map(vec![])), (Data::str("b.yaml"), changes.clone())]);
    Data::Struct {
        fields: BTreeMap::from([
            ("AutomationObject".into(), Data::Struct { fields: BTreeMap::new(), display: "flux-system/auto".into() }),
            (
                "Changed".into(),
                Data::Struct {
                    fields: BTreeMap::from([("Changes".into(), changes), ("FileChanges".into(), files)]),
                    display: String::new(),
                },
            ),
            ("Values".into(), values),
        ]),
        display: String::new(),
    }
}

fuzz_target!(|data_in: &[u8]| {
    if data_in.len() > 16 * 1024 {
        return;
    }
    let template = String::from_utf8_lossy(data_in);
    // Smaller than the defaults so each run is quick; the code paths are the same.
    let limits = Limits { max_depth: 1_000, max_steps: 100_000, max_output: 64 * 1024 };
    if let Ok(message) = render_with(&template, &data(), &limits) {
        // One render can add at most one value's text past the cap check.
        assert!(message.len() <= limits.max_output + 4096, "{} bytes", message.len());
    }
});
