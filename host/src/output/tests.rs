//! Snapshots of what people read: the CI-mode stream of a run (plain
//! lines, Docker's progress left out, a failed image's log in full), the
//! same under GitHub Actions, and the JSON lines. Times in events are
//! fixed; the one clock-dependent line is normalised.

use super::*;

fn step(step: &str, detail: &str) -> Event {
    Event::StepStarted {
        step: step.parse().unwrap(),
        detail: detail.into(),
    }
}

fn done(step: &str, seconds: f64) -> Event {
    Event::StepFinished {
        step: step.parse().unwrap(),
        seconds,
    }
}

fn out(label: &str, line: &str) -> Event {
    Event::Output {
        label: label.into(),
        stream: Stream::Stdout,
        line: line.into(),
        progress: false,
    }
}

/// A line the builder plugin called progress chatter.
fn chatter(label: &str, line: &str) -> Event {
    Event::Output {
        label: label.into(),
        stream: Stream::Stdout,
        line: line.into(),
        progress: true,
    }
}

fn image(service: &str, status: &str, seconds: f64) -> Event {
    Event::Image {
        service: service.into(),
        image: format!("registry.example.com/shop/{service}:latest"),
        status: status.parse().unwrap(),
        digest: None,
        platforms: Vec::new(),
        seconds,
    }
}

/// A build whose `web` image fails after `api` built.
fn failing_run() -> Vec<Event> {
    vec![
        step("connect", "target = \"build-1\" (node)"),
        done("connect", 0.12),
        step("sync", "git branch main -> /srv/shop"),
        Event::Info {
            message: "    main @ 0123456789ab".into(),
        },
        done("sync", 0.4),
        step("build", "cargo build --release"),
        out("build", "   Compiling shop v0.1.0"),
        out("build", "    Finished `release` profile"),
        done("build", 12.5),
        step("images", "2 images with docker, 2 at a time"),
        chatter(
            "api",
            "#0 building with \"default\" instance using docker driver",
        ),
        chatter("api", "#1 [internal] load build definition from Dockerfile"),
        chatter("api", "#1 DONE 0.0s"),
        out("api", "#4 [1/2] COPY target/release/api /app/api"),
        chatter("api", "#4 DONE 0.1s"),
        chatter("web", "#1 [internal] load build definition from Dockerfile"),
        out("web", "#4 [1/2] COPY target/release/web /app/web"),
        out(
            "web",
            "#4 ERROR: failed to compute cache key: \"/target/release/web\" not found",
        ),
        image("api", "built", 2.25),
        image("web", "failed", 1.5),
    ]
}

fn human(printer: Printer, events: &[Event]) -> String {
    let (printer, buffer) = printer.capturing();
    for event in events {
        printer.emit(event);
    }
    printer.failed_run();
    printer.error("image build failed, so nothing was pushed:\n  web: ...", 6);
    let text = buffer.lock().unwrap().clone();
    text.lines()
        .map(|l| match l.strip_prefix("Failed after ") {
            Some(_) => "Failed after [time]",
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn plain(verbosity: Verbosity) -> Printer {
    Printer::new(Format::Human, verbosity, Redactor::new())
}

#[test]
fn ci_mode_stream_of_a_failing_run() {
    insta::assert_snapshot!(human(plain(Verbosity::Normal), &failing_run()));
}

#[test]
fn github_actions_groups_each_step() {
    insta::assert_snapshot!(human(
        plain(Verbosity::Normal).with_groups(true),
        &failing_run()
    ));
}

#[test]
fn verbose_mode_shows_every_line() {
    let text = human(plain(Verbosity::Verbose), &failing_run());
    assert!(text.contains("[api] #1 DONE 0.0s"), "{text}");
    assert!(!text.contains("full log of"), "{text}");
}

#[test]
fn summary_of_a_pushed_run() {
    let digest = |n: char| format!("sha256:{}", n.to_string().repeat(64));
    let images = ["api", "worker", "web"]
        .iter()
        .zip(['1', '2', '3'])
        .map(|(s, n)| ImageSummary {
            service: (*s).into(),
            image: format!("registry.example.com/shop/{s}:v1.2.0"),
            status: ImageStatus::Pushed,
            digest: Some(digest(n)),
            // A multi-platform image shows its platforms beside its
            // reference (the digest is its index's).
            platforms: if *s == "web" {
                vec!["linux/amd64".into(), "linux/arm64".into()]
            } else {
                Vec::new()
            },
            seconds: 3.0 + f64::from(n.to_digit(10).unwrap()) / 4.0,
        })
        .collect();
    let (printer, buffer) = plain(Verbosity::Quiet).capturing();
    printer.emit(&Event::Summary {
        artifacts: Vec::new(),
        ok: true,
        images,
        seconds: 42.0,
        round_trips: Some(12),
    });
    insta::assert_snapshot!(buffer.lock().unwrap().clone());
}
