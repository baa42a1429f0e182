//! A monitor port: whoever connects (`nc 127.0.0.1 PORT`) gets the loop's
//! task dump and statistics as text, and the connection is closed. The
//! building block to copy into a daemon: one `start_monitor` call beside the
//! real servers, on the same loop.
//!
//! The report is taken by the connection's own task, so it shows that task
//! as running and everything else as it is at that moment.
#![allow(dead_code)] // each user takes its part

use std::io;

use uasyncio_core::{get_event_loop, wait_for_ms};
use uasyncio_streams::{Server, StreamReader, StreamWriter, start_server};

/// The loop's task dump and statistics, as the monitor port sends them.
pub(crate) fn report() -> String {
    let lp = get_event_loop();
    format!("{}\n{}", lp.dump(), lp.stats())
}

/// How long a monitor client gets to take the report: one that does not
/// read (and a dump larger than the socket buffer) must not keep its task.
const SEND_TIMEOUT_MS: u32 = 5_000;

/// Sends the report to one monitor client, then closes the connection.
async fn serve_report(_r: StreamReader, mut w: StreamWriter) {
    w.write(report().as_bytes());
    // A client that does not read gets what the socket buffer holds and,
    // after the timeout, nothing more: the connection is closed either way.
    let _ = wait_for_ms(w.drain(), SEND_TIMEOUT_MS).await;
    w.close();
    let _ = w.wait_closed().await;
}

/// Starts the monitor server on `host:port` (port 0: any free port; see
/// `Server::local_addr`).
pub(crate) async fn start_monitor(host: &str, port: u16) -> io::Result<Server> {
    start_server(serve_report, host, port, 8).await
}
