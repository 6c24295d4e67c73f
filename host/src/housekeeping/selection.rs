//! Which of a project's images a prune removes: everything but the N newest
//! builds, and never a name that is not the project's.
//!
//! An image is the project's when it carries `ops.project` = the project,
//! an `ops.build`, and an `ops.repository` under the project's image
//! prefix. Of its names, only those in that repository are the project's:
//! a name another project (or a person) gave the same image is never
//! removed, and the image then stays for it. A build counts when at least
//! one of its images still has one of the project's names; an image left
//! without any name goes with the builds that are not kept.

use std::collections::BTreeSet;

use super::{BUILD_LABEL, PROJECT_LABEL, REPOSITORY_LABEL};
use crate::domain::ImageName;
use crate::plugin::StoredImage;

/// What to remove, and what is kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// The builds kept, newest first.
    pub kept_builds: Vec<String>,
    /// The builds that go, newest first.
    pub removed_builds: Vec<String>,
    /// Names to remove, each with its build and the size of its image.
    pub names: Vec<Removal>,
    /// Images without a name to remove.
    pub ids: Vec<Removal>,
    /// Images of removed builds that another name keeps.
    pub held_by_others: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The name (`registry/org/api:tag`) or, for an image without one, its id.
    pub what: String,
    pub build: String,
    /// Bytes its image takes (layers it shares included): what removing it
    /// frees at most.
    pub bytes: u64,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.ids.is_empty()
    }

    /// Bytes the removals free at most.
    pub fn bytes(&self) -> u64 {
        self.names.iter().chain(&self.ids).map(|r| r.bytes).sum()
    }
}

/// Each of `images` that is `project`'s under `prefix`, with its build and
/// the names that are the project's (see the module's rule).
pub fn project_images<'a>(
    images: &'a [StoredImage],
    project: &str,
    prefix: &ImageName,
) -> Vec<(&'a StoredImage, &'a str, Vec<String>)> {
    let under = format!("{prefix}/");
    images
        .iter()
        .filter(|i| i.label(PROJECT_LABEL) == Some(project))
        .filter_map(|i| {
            let repository = i.label(REPOSITORY_LABEL)?;
            let build = i.label(BUILD_LABEL)?;
            if !repository.starts_with(&under) {
                return None;
            }
            let names = i
                .names
                .iter()
                .filter(|n| n.name.to_string() == repository)
                .map(ToString::to_string)
                .collect();
            Some((i, build, names))
        })
        .collect()
}

/// The images of `project` under `prefix` to remove to keep the `keep`
/// newest builds.
pub fn select(images: &[StoredImage], project: &str, prefix: &ImageName, keep: usize) -> Selection {
    let ours = project_images(images, project, prefix);
    let named: BTreeSet<&str> = ours
        .iter()
        .filter(|(_, _, names)| !names.is_empty())
        .map(|(_, build, _)| *build)
        .collect();
    let newest_first: Vec<&str> = named.into_iter().rev().collect();
    let kept: Vec<&str> = newest_first.iter().copied().take(keep).collect();
    let mut selection = Selection {
        kept_builds: kept.iter().map(|b| b.to_string()).collect(),
        removed_builds: newest_first
            .iter()
            .skip(kept.len())
            .map(|b| b.to_string())
            .collect(),
        ..Selection::default()
    };
    for (image, build, names) in &ours {
        if kept.contains(build) {
            continue;
        }
        let removal = |what: &str| Removal {
            what: what.to_owned(),
            build: build.to_string(),
            bytes: image.size,
        };
        if image.names.is_empty() {
            selection.ids.push(removal(&image.id));
        } else if names.len() < image.names.len() {
            // The image stays for its other names: nothing is freed.
            selection.held_by_others += 1;
            selection.names.extend(names.iter().map(|n| Removal {
                bytes: 0,
                ..removal(n)
            }));
        } else {
            // Every name goes: the image's bytes with the first.
            for (i, name) in names.iter().enumerate() {
                let bytes = if i == 0 { image.size } else { 0 };
                selection.names.push(Removal {
                    bytes,
                    ..removal(name)
                });
            }
        }
    }
    selection
        .names
        .sort_by(|a, b| b.build.cmp(&a.build).then(a.what.cmp(&b.what)));
    selection
        .ids
        .sort_by(|a, b| b.build.cmp(&a.build).then(a.what.cmp(&b.what)));
    selection
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "127.0.0.1:5000/team/app";

    fn image(
        id: &str,
        names: &[&str],
        project: &str,
        repository: &str,
        build: &str,
    ) -> StoredImage {
        StoredImage {
            id: id.into(),
            names: names.iter().map(|n| n.parse().unwrap()).collect(),
            labels: vec![
                (PROJECT_LABEL.into(), project.into()),
                (REPOSITORY_LABEL.into(), repository.into()),
                (BUILD_LABEL.into(), build.into()),
            ],
            size: 100,
        }
    }

    fn ours(id: &str, service: &str, tag: &str, build: &str) -> StoredImage {
        let repository = format!("{PREFIX}/{service}");
        image(
            id,
            &[&format!("{repository}:{tag}")],
            "app",
            &repository,
            build,
        )
    }

    fn select_from(images: &[StoredImage], keep: usize) -> Selection {
        select(images, "app", &PREFIX.parse().unwrap(), keep)
    }

    fn whats(removals: &[Removal]) -> Vec<&str> {
        removals.iter().map(|r| r.what.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_builds_of_every_service() {
        let images = [
            ours("1", "api", "t1", "2026-01-01T00:00:00.000Z"),
            ours("2", "web", "t1", "2026-01-01T00:00:00.000Z"),
            ours("3", "api", "t2", "2026-01-02T00:00:00.000Z"),
            ours("4", "web", "t2", "2026-01-02T00:00:00.000Z"),
            ours("5", "api", "t3", "2026-01-03T00:00:00.000Z"),
        ];
        let s = select_from(&images, 2);
        assert_eq!(
            s.kept_builds,
            ["2026-01-03T00:00:00.000Z", "2026-01-02T00:00:00.000Z"]
        );
        assert_eq!(s.removed_builds, ["2026-01-01T00:00:00.000Z"]);
        assert_eq!(
            whats(&s.names),
            [format!("{PREFIX}/api:t1"), format!("{PREFIX}/web:t1")]
        );
        assert_eq!(s.bytes(), 200);
        assert!(select_from(&images, 3).is_empty());
        // Keeping none (the policy, which keeps this run's build apart)
        // removes every build listed.
        assert_eq!(select_from(&images, 0).removed_builds.len(), 3);
    }

    #[test]
    fn another_name_on_the_same_image_is_never_removed() {
        let repository = format!("{PREFIX}/api");
        let shared = image(
            "1",
            &[&format!("{repository}:t1"), "127.0.0.1:5000/other/app:keep"],
            "app",
            &repository,
            "2026-01-01T00:00:00.000Z",
        );
        let images = [shared, ours("2", "api", "t2", "2026-01-02T00:00:00.000Z")];
        let s = select_from(&images, 1);
        assert_eq!(whats(&s.names), [format!("{repository}:t1")]);
        assert_eq!((s.held_by_others, s.bytes()), (1, 0));
    }

    #[test]
    fn images_of_other_projects_or_outside_the_prefix_are_not_ours() {
        let old = "2026-01-01T00:00:00.000Z";
        let images = [
            // Same project name, another prefix: another project.
            image(
                "1",
                &["127.0.0.1:5000/x/api:t"],
                "app",
                "127.0.0.1:5000/x/api",
                old,
            ),
            // Another project's label on an image under our prefix.
            image(
                "2",
                &[&format!("{PREFIX}/api:t0")],
                "other",
                &format!("{PREFIX}/api"),
                old,
            ),
            // An image built FROM ours under another name inherits our labels.
            image(
                "3",
                &["127.0.0.1:5000/z/child:1"],
                "app",
                &format!("{PREFIX}/api"),
                old,
            ),
            ours("4", "api", "t2", "2026-01-02T00:00:00.000Z"),
        ];
        let s = select_from(&images, 1);
        assert!(s.names.is_empty() && s.ids.is_empty(), "{s:?}");
        // Image 3 has names, none ours: held, never untagged.
        assert_eq!(s.removed_builds, Vec::<String>::new());
    }

    #[test]
    fn images_left_without_a_name_go_unless_their_build_is_kept() {
        let repository = format!("{PREFIX}/api");
        let images = [
            image("old", &[], "app", &repository, "2026-01-01T00:00:00.000Z"),
            // One platform's image of the kept build's index.
            image("arm", &[], "app", &repository, "2026-01-02T00:00:00.000Z"),
            ours("index", "api", "t2", "2026-01-02T00:00:00.000Z"),
        ];
        let s = select_from(&images, 1);
        assert_eq!(whats(&s.ids), ["old"]);
        assert!(s.names.is_empty());
        // A build without any name left does not take a place among the kept.
        assert_eq!(s.kept_builds, ["2026-01-02T00:00:00.000Z"]);
    }
}
