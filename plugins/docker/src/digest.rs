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
///
/// The pushed reference is that repository followed by `:tag` or
/// `@digest`, so its entry is the one `image` begins with, then nothing,
/// `@`, or `:` and a tag (which has no `/`: in `host:5000/p/api` the `:`
/// starts a port). No reference grammar is needed here beyond that: the
/// host parsed the reference once, and docker names the repositories.
pub fn from_repo_digests(json: &str, image: &str) -> Option<String> {
    json.split('"')
        .filter_map(|item| item.split_once('@'))
        .filter(|(repo, digest)| names_repository(image, repo) && is_digest(digest))
        .max_by_key(|(repo, _)| repo.len())
        .map(|(_, digest)| digest.to_owned())
}

fn names_repository(image: &str, repo: &str) -> bool {
    image
        .strip_prefix(repo)
        .is_some_and(|rest| match rest.as_bytes().first() {
            None | Some(b'@') => true,
            Some(b':') => !rest.contains('/'),
            Some(_) => false,
        })
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

    #[test]
    fn the_pushed_repository_wins_over_one_it_begins_with() {
        let other = D.replace('0', "1");
        let json = format!(
            "[\"127.0.0.1@{other}\",\"127.0.0.1:5000/p/api@{D}\",\"127.0.0.1:5000/p@{other}\"]"
        );
        assert_eq!(
            from_repo_digests(&json, "127.0.0.1:5000/p/api:v1").as_deref(),
            Some(D)
        );
        assert_eq!(
            from_repo_digests(&json, "127.0.0.1:5000/p/api").as_deref(),
            Some(D)
        );
        assert_eq!(from_repo_digests(&json, "127.0.0.1:5000/p/apiv2:v1"), None);
    }
}
