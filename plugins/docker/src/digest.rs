//! Reading the pushed manifest digest from what docker prints.

/// `docker push` ends with `TAG: digest: sha256:<64 hex> size: N`.
pub fn from_push_output(output: &str) -> Option<String> {
    output
        .lines()
        .rev()
        .filter_map(|line| line.split_once("digest: ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_whitespace().next())
        .find(|d| is_digest(d))
        .map(str::to_owned)
}

/// `docker image inspect --format '{{json .RepoDigests}}'` prints
/// `["repo@sha256:...", ...]`; take the entry for `image`'s repository.
pub fn from_repo_digests(json: &str, image: &str) -> Option<String> {
    let repo = repository(image);
    json.split('"')
        .filter_map(|item| item.split_once('@'))
        .find(|(r, d)| *r == repo && is_digest(d))
        .map(|(_, d)| d.to_owned())
}

/// `registry/org/name:tag` → `registry/org/name` (a `:` after the last `/`
/// is the tag; one before it is a registry port).
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map(|(r, _)| r).unwrap_or(image);
    let last_slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[last_slash..].rfind(':') {
        Some(colon) => &image[..last_slash + colon],
        None => image,
    }
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digest_from_push_output() {
        let out = format!("The push refers to repository [127.0.0.1:5000/p/api]\n5f70bf18a086: Pushed\nlatest: digest: {D} size: 528\n");
        assert_eq!(from_push_output(&out).as_deref(), Some(D));
        assert_eq!(from_push_output("latest: digest: sha256:xyz size: 1"), None);
    }

    #[test]
    fn digest_from_repo_digests() {
        let json = format!("[\"other/x@{D}\",\"127.0.0.1:5000/p/api@{D}\"]");
        assert_eq!(
            from_repo_digests(&json, "127.0.0.1:5000/p/api:v1").as_deref(),
            Some(D)
        );
        assert_eq!(from_repo_digests(&json, "127.0.0.1:5000/p/web:v1"), None);
    }
}
