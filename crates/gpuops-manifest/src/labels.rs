//! Kubernetes name syntax, as k8s.io/apimachinery
//! pkg/util/validation/validation.go checks it: label keys
//! (`IsQualifiedName`), label values (`IsValidLabelValue`) and DNS-1123
//! subdomains (`IsDNS1123Subdomain`). One copy for every place that
//! mimics a selector or a name (gpufit's `-l`, Flux's policySelector and
//! accessFrom, krew's platform selectors, the Argo CD sidecar's plugin
//! groups).

/// `qualifiedNameFmt` (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`) within
/// `qualifiedNameMaxLength` (63): a key's name part, and a non-empty label
/// value.
pub fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `IsDNS1123Subdomain`: dot-separated labels of lowercase alphanumerics
/// and `-`, none empty or starting or ending with `-`, at most 253 in all.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        })
}

/// `IsQualifiedName`, what selector.go `validateLabelKey` asks of a key:
/// `[prefix/]name`, the prefix a DNS-1123 subdomain (a second `/` fails
/// either part).
pub fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => is_dns1123_subdomain(prefix) && is_name_part(name),
        None => is_name_part(key),
    }
}

/// `IsValidLabelValue`: empty, or a name part.
pub fn is_label_value(value: &str) -> bool {
    value.is_empty() || is_name_part(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of apimachinery pkg/util/validation/validation_test.go
    /// `TestIsQualifiedName` (successCases and errorCases, as read); the
    /// label-value and subdomain checks after them are ours.
    #[test]
    fn keys_and_values_as_apimachinery_validates_them() {
        let (a63, long_ok) = ("a".repeat(63), format!("{}/{}", "a".repeat(253), "b".repeat(63)));
        for good in [
            "simple",
            "now-with-dashes",
            "1-starts-with-num",
            "1234",
            "simple/simple",
            "now-with-dashes/simple",
            "now-with-dashes/now-with-dashes",
            "now.with.dots/simple",
            "now-with.dashes-and.dots/simple",
            "1-num.2-num/3-num",
            "1234/5678",
            "1.2.3.4/5678",
            "Uppercase_Is_OK_123",
            "example.com/Uppercase_Is_OK_123",
            "requests.storage-foo",
            a63.as_str(),
            long_ok.as_str(),
        ] {
            assert!(is_qualified_name(good), "{good}");
        }
        let (a64, long_bad) = ("a".repeat(64), format!("{}/abc", "a".repeat(254)));
        for bad in [
            "nospecialchars%^=@",
            "cantendwithadash-",
            "-cantstartwithadash-",
            "only/one/slash",
            "Example.com/abc",
            "example_com/abc",
            "example.com/",
            "/simple",
            a64.as_str(),
            long_bad.as_str(),
        ] {
            assert!(!is_qualified_name(bad), "{bad}");
        }
        for good in ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "", "A.B.C"] {
            assert!(is_label_value(good), "{good}");
        }
        for bad in [
            "nospecialchars%^=@",
            "Tama-nui-te-rā.is.Māori.sun",
            "\\backslashes\\are\\bad",
            "-starts-with-dash",
            "ends-with-dash-",
            ".starts.with.dot",
            "ends.with.dot.",
            &"a".repeat(64),
        ] {
            assert!(!is_label_value(bad), "{bad}");
        }
        assert!(is_dns1123_subdomain("gpuops.dev") && !is_dns1123_subdomain("Gpuops.dev"));
        assert!(!is_dns1123_subdomain("") && !is_dns1123_subdomain("a..b") && !is_dns1123_subdomain(&"a".repeat(254)));
    }
}
