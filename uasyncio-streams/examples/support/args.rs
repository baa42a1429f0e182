//! Tiny command-line handling shared by the serving examples.
//!
//! `--port N` (or the `PORT` environment variable), `--exit-after-conns N`
//! (or `EXIT_AFTER_CONNS`) and `--exit-after-secs S` (or `EXIT_AFTER_SECS`),
//! so that servers that normally run forever can be smoke-tested.

/// What the serving examples are told.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args {
    /// The port to listen on.
    pub(crate) port: u16,
    /// Stop after serving this many connections.
    pub(crate) exit_after_conns: Option<u64>,
    /// Stop after this many seconds.
    pub(crate) exit_after_secs: Option<f64>,
}

/// Parses `std::env::args()` and the environment; `default_port` if none is
/// given. Exits with a usage message on bad input.
pub(crate) fn parse(default_port: u16) -> Args {
    let env = |k: &str| std::env::var(k).ok();
    let mut port = env("PORT");
    let mut conns = env("EXIT_AFTER_CONNS");
    let mut secs = env("EXIT_AFTER_SECS");
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next(),
            "--exit-after-conns" => conns = it.next(),
            "--exit-after-secs" => secs = it.next(),
            other if other.parse::<u16>().is_ok() => port = Some(other.to_owned()),
            other => usage(other),
        }
    }
    Args {
        port: port.map_or(default_port, |p| p.parse().unwrap_or_else(|_| usage(&p))),
        exit_after_conns: conns.map(|c| c.parse().unwrap_or_else(|_| usage(&c))),
        exit_after_secs: secs.map(|s| s.parse().unwrap_or_else(|_| usage(&s))),
    }
}

fn usage(bad: &str) -> ! {
    eprintln!("bad argument {bad:?}");
    eprintln!("usage: [--port N | N] [--exit-after-conns N] [--exit-after-secs S]");
    eprintln!("   or: PORT=N EXIT_AFTER_CONNS=N EXIT_AFTER_SECS=S");
    std::process::exit(2)
}
