//! Any text (bytes read as UTF-8, lossily, as a file could hold them):
//! `find_markers` must not panic, and every marker it returns must point
//! at a scalar of that text on the line it names. `promote`'s reader of
//! kustomize `images:` / `ModelTags` entries reads the same files: its
//! spans must lie inside the text too.
#![no_main]

use gpuops_gitops::entries::find_entries;
use gpuops_gitops::markers::{Quote, find_markers, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (markers, problems) = find_markers(&text);
    let lines = text.split_inclusive('\n').count();
    for m in &markers {
        let scalar = text.get(m.span.clone()).expect("a marker's span lies on char boundaries inside the text");
        assert!(!scalar.contains('\n'), "a scalar spans one line");
        assert!((1..=lines).contains(&m.line));
        assert_eq!(text[..m.span.start].matches('\n').count() + 1, m.line, "the line is the scalar's");
        if m.quote == Quote::Plain {
            assert_eq!(scalar, m.value);
        }
        let _ = render(&m.value, m.quote);
    }
    for p in &problems {
        assert!((1..=lines).contains(&p.line));
    }
    for entry in find_entries(&text, "fuzz.yaml") {
        for located in [&entry.new_name, &entry.new_tag, &entry.digest].into_iter().flatten() {
            let at = text.get(located.span.clone()).expect("an entry's span lies inside the text");
            assert_eq!(at, located.value, "a located value is what the file holds");
        }
    }
});
