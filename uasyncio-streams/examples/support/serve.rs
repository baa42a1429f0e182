//! Runs a server until it has served N connections or S seconds have passed
//! (forever if neither is set): what the serving examples share.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::rc::Rc;

use uasyncio_streams::{ServerOptions, StreamReader, StreamWriter};
use uasyncio_synchro::Event;

use crate::args::Args;

/// Serves `handler` on `host:args.port` with `opts`, honouring the exit
/// conditions of `args`; returns how many connections were served.
pub(crate) async fn serve_until<F, Fut>(
    opts: &ServerOptions,
    host: &str,
    args: Args,
    handler: F,
) -> io::Result<u64>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let served = Rc::new(Cell::new(0u64));
    let stop = Event::new();
    let (s, st) = (served.clone(), stop.clone());
    let server = opts
        .start(
            move |r, w| {
                let conn = handler(r, w);
                let (s, st) = (s.clone(), st.clone());
                async move {
                    conn.await;
                    s.set(s.get() + 1);
                    if args.exit_after_conns.is_some_and(|n| s.get() >= n) {
                        st.set();
                    }
                }
            },
            host,
            args.port,
        )
        .await?;
    println!("listening on {}", server.local_addr());
    match args.exit_after_secs {
        Some(secs) => {
            let _ = uasyncio_core::wait_for(stop.wait(), secs).await;
        }
        None => stop.wait().await,
    }
    server.close();
    server.wait_closed().await;
    Ok(served.get())
}
