//! The closing table of `ops build`: one row per image (service, image,
//! short digest, time, status), then the total time. The same table ends a
//! failed run, with each image as far as it got.

use super::color::{Paint, Style};
use super::event::{ArtifactSummary, ImageSummary};
use super::event_values::ImageStatus;

/// Enough of a digest to tell images apart; the JSON event has it whole.
const SHORT_DIGEST: usize = "sha256:".len() + 12;

pub(super) fn render(
    ok: bool,
    images: &[ImageSummary],
    artifacts: &[ArtifactSummary],
    seconds: f64,
    style: Style,
) -> String {
    let mut out = String::new();
    if !images.is_empty() {
        let rows: Vec<[String; 5]> = images
            .iter()
            .map(|i| {
                [
                    i.service.clone(),
                    format!("{}{}", i.image, platform_list(&i.platforms)),
                    i.digest.as_deref().map(short_digest).unwrap_or("-").into(),
                    format!("{:.1}s", i.seconds),
                    i.status.to_string(),
                ]
            })
            .collect();
        let header = ["SERVICE", "IMAGE", "DIGEST", "TIME", "STATUS"].map(String::from);
        let mut widths = [0; 5];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        out.push_str(&style.paint(Paint::Bold, &line(&header, &widths)));
        out.push('\n');
        for (row, image) in rows.iter().zip(images) {
            let text = line(row, &widths);
            // Padding is counted before colour codes are added.
            let status = &row[4];
            let painted = style.paint(status_paint(image.status), status);
            out.push_str(&text[..text.len() - status.len()]);
            out.push_str(&painted);
            out.push('\n');
        }
    }
    for artifact in artifacts {
        // The whole hash: it is what a user compares with the node's.
        out.push_str(&format!(
            "artifact {} ({} bytes) sha256 {}\n",
            artifact.path, artifact.bytes, artifact.sha256
        ));
    }
    if ok {
        out.push_str(&format!("Finished in {seconds:.1}s"));
    } else {
        out.push_str(&style.paint(Paint::Error, &format!("Failed after {seconds:.1}s")));
    }
    out
}

/// ` [linux/amd64, linux/arm64]` after a multi-platform image (whose
/// digest is its index's), nothing otherwise.
pub(super) fn platform_list(platforms: &[String]) -> String {
    if platforms.is_empty() {
        String::new()
    } else {
        format!(" [{}]", platforms.join(", "))
    }
}

fn line(c: &[String; 5], w: &[usize; 5]) -> String {
    format!(
        "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        w0 = w[0],
        w1 = w[1],
        w2 = w[2],
        w3 = w[3]
    )
}

pub(super) fn status_paint(status: ImageStatus) -> Paint {
    match status {
        ImageStatus::Failed => Paint::Error,
        ImageStatus::Skipped => Paint::Dim,
        ImageStatus::Built | ImageStatus::Pushed => Paint::Good,
    }
}

pub(super) fn short_digest(digest: &str) -> &str {
    digest.get(..SHORT_DIGEST).unwrap_or(digest)
}

/// One image a prune removed (or would).
pub(super) fn pruned(event: &super::event::Event) -> String {
    let super::event::Event::Pruned {
        image,
        build,
        bytes,
        dry_run,
    } = event
    else {
        return String::new();
    };
    let verb = if *dry_run { "would remove" } else { "removed" };
    let size = crate::domain::ByteSize(*bytes);
    format!("    {verb} {image} (build {build}, {size})")
}

/// The closing line of a prune.
pub(super) fn prune(event: &super::event::Event) -> String {
    use crate::domain::ByteSize;
    let super::event::Event::PruneSummary {
        builds_kept,
        builds_removed,
        images_removed,
        image_bytes,
        cache_freed,
        stale_dirs,
        dry_run,
    } = event
    else {
        return String::new();
    };
    let (verb, freed) = if *dry_run {
        ("would remove", "would free")
    } else {
        ("removed", "freed")
    };
    let mut line = format!(
        "kept {builds_kept} build{}; {verb} {images_removed} image{} of {builds_removed} older \
         build{} (up to {})",
        plural_s(*builds_kept),
        plural_s(*images_removed),
        plural_s(*builds_removed),
        ByteSize(*image_bytes)
    );
    if let Some(cache) = cache_freed {
        line += &format!("; build cache: {freed} {}", ByteSize(*cache));
    }
    line += &format!(
        "; {stale_dirs} stale scratch director{}",
        if *stale_dirs == 1 { "y" } else { "ies" }
    );
    line
}

fn plural_s(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(service: &str, status: &str, digest: Option<&str>, seconds: f64) -> ImageSummary {
        ImageSummary {
            service: service.into(),
            image: format!("127.0.0.1:5000/hello/{service}:latest"),
            status: status.parse().unwrap(),
            digest: digest.map(String::from),
            platforms: Vec::new(),
            seconds,
        }
    }

    #[test]
    fn the_prune_line_counts_and_says_what_a_dry_run_would_do() {
        let event = super::super::event::Event::PruneSummary {
            builds_kept: 5,
            builds_removed: 1,
            images_removed: 3,
            image_bytes: 12_300_000,
            cache_freed: Some(2_000_000_000),
            stale_dirs: 1,
            dry_run: true,
        };
        assert_eq!(
            super::prune(&event),
            "kept 5 builds; would remove 3 images of 1 older build (up to 12.3 MB); build cache: \
             would free 2.0 GB; 1 stale scratch directory"
        );
    }

    #[test]
    fn a_row_per_image_with_short_digest_time_and_status() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let table = render(
            true,
            &[
                image("api", "pushed", Some(digest), 3.25),
                image("worker", "pushed", Some(digest), 12.0),
            ],
            &[],
            15.04,
            Style::default(),
        );
        assert_eq!(
            table,
            "  SERVICE  IMAGE                               DIGEST                TIME  STATUS\n\
             \x20 api      127.0.0.1:5000/hello/api:latest     sha256:0123456789ab   3.2s  pushed\n\
             \x20 worker   127.0.0.1:5000/hello/worker:latest  sha256:0123456789ab  12.0s  pushed\n\
             Finished in 15.0s"
        );
    }

    #[test]
    fn each_artifact_is_listed_with_its_whole_hash() {
        let artifact = ArtifactSummary {
            path: "ops-artifacts/bin/api".into(),
            bytes: 12,
            mode: "755".into(),
            sha256: "ab".repeat(32),
        };
        let text = render(true, &[], &[artifact], 2.0, Style::default());
        assert_eq!(
            text,
            format!(
                "artifact ops-artifacts/bin/api (12 bytes) sha256 {}\nFinished in 2.0s",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn a_failed_run_shows_how_far_each_image_got() {
        let table = render(
            false,
            &[
                image("api", "built", None, 1.0),
                image("web", "failed", None, 2.0),
                image("worker", "skipped", None, 0.0),
            ],
            &[],
            4.0,
            Style::default(),
        );
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].ends_with("  -       1.0s  built"), "{table}");
        assert!(lines[2].ends_with("failed"), "{table}");
        assert!(lines[3].ends_with("skipped"), "{table}");
        assert_eq!(lines[4], "Failed after 4.0s");
    }

    #[test]
    fn colour_codes_do_not_break_the_columns() {
        let plain = render(
            true,
            &[image("api", "pushed", None, 1.0)],
            &[],
            1.0,
            Style::default(),
        );
        let coloured = render(
            true,
            &[image("api", "pushed", None, 1.0)],
            &[],
            1.0,
            Style { on: true },
        );
        let strip = |s: &str| {
            let mut out = String::new();
            let mut rest = s;
            while let Some(at) = rest.find('\x1b') {
                out.push_str(&rest[..at]);
                rest = &rest[at..];
                rest = &rest[rest.find('m').map_or(rest.len(), |m| m + 1)..];
            }
            out + rest
        };
        assert_eq!(strip(&coloured), plain);
        assert_ne!(coloured, plain);
    }
}
