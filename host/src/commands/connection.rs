//! `ops connection status` and `ops connection stop [DEST]`: the
//! connections the keeper holds between runs (docs/ssh.md, "Keeping the
//! connection between runs"). Neither starts a keeper.

use comfy_table::{presets, Table};

use crate::exit::{Exit, Failure};
use crate::keeper::KeeperStatus;
use crate::output::{Event, Format, Printer};
use crate::pipeline::plural;

/// What `ops connection` was asked to do.
#[derive(Debug, Clone)]
pub enum ConnectionSettings {
    Status,
    /// Close the kept connections to `dest`, or all of them.
    Stop {
        dest: Option<String>,
    },
}

pub async fn run(settings: ConnectionSettings, printer: &Printer) -> Result<Exit, Failure> {
    let io = |e: std::io::Error| Failure::new(Exit::Internal, e);
    match settings {
        ConnectionSettings::Status => {
            let keepers = crate::keeper::status().await.map_err(io)?;
            show(printer, &keepers);
        }
        ConnectionSettings::Stop { dest } => {
            let closed = crate::keeper::stop(dest.as_deref()).await.map_err(io)?;
            for destination in &closed {
                printer.emit(&Event::ConnectionClosed {
                    destination: destination.clone(),
                });
            }
            if printer.format() == Format::Human {
                printer.info(match (closed.len(), dest) {
                    (0, Some(dest)) => format!("no kept connection to {dest}"),
                    (0, None) => "no kept connections".to_owned(),
                    (n, _) => format!("closed {}", plural(n, "kept connection")),
                });
            }
        }
    }
    Ok(Exit::Success)
}

fn show(printer: &Printer, keepers: &[KeeperStatus]) {
    for keeper in keepers {
        printer.debug(format!(
            "keeper of build {} (pid {}){}",
            keeper.build,
            keeper.pid,
            if keeper.current { ", this build" } else { "" }
        ));
    }
    let events: Vec<Event> = keepers
        .iter()
        .flat_map(|keeper| {
            keeper.connections.iter().map(|c| Event::Connection {
                destination: c.destination.clone(),
                age_secs: c.age_secs,
                idle_secs: c.idle_secs,
                leases: c.leases,
                leased: c.leased,
                current: keeper.current,
            })
        })
        .collect();
    if printer.format() == Format::Json {
        events.iter().for_each(|e| printer.emit(e));
        return;
    }
    if events.is_empty() {
        printer.info("no kept connections");
        return;
    }
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_header(["DESTINATION", "AGE", "IDLE", "RUNS", "STATE"]);
    for event in &events {
        if let Event::Connection {
            destination,
            age_secs,
            idle_secs,
            leases,
            leased,
            current,
        } = event
        {
            let state = match (leased, current) {
                (true, _) => "in use",
                (false, true) => "idle",
                (false, false) => "idle (another build of ops)",
            };
            table.add_row([
                destination.clone(),
                duration(*age_secs),
                if *leased {
                    "-".to_owned()
                } else {
                    duration(*idle_secs)
                },
                leases.to_string(),
                state.to_owned(),
            ]);
        }
    }
    printer.data(&table.to_string());
}

/// `42s`, `3m05s`, `2h10m`.
fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(super::duration(42), "42s");
        assert_eq!(super::duration(185), "3m05s");
        assert_eq!(super::duration(7800), "2h10m");
    }
}
