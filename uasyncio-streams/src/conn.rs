//! [`Conn`]: one TCP connection on the loop, shared by its reader and writer.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use uasyncio_core::io::IoRegistration;

use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// A connected TCP stream registered with the loop. The reader and the
/// writer each hold an `Rc` to it; when both are gone it deregisters and
/// the descriptor closes.
pub(crate) struct Conn {
    pub(crate) stream: mio::net::TcpStream,
    pub(crate) reg: IoRegistration,
    /// Set by [`StreamWriter::close`]: the connection is shut down in both
    /// directions, and the reader returns only what it has buffered, then
    /// EOF (whatever the kernel still holds or reports).
    closed: Cell<bool>,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("local", &self.stream.local_addr().ok())
            .field("peer", &self.stream.peer_addr().ok())
            .field("readiness", &self.reg.readiness())
            .field("closed", &self.closed.get())
            .finish()
    }
}

impl Conn {
    /// Registers `stream` with the calling thread's loop.
    pub(crate) fn new(mut stream: mio::net::TcpStream) -> io::Result<Conn> {
        let reg = IoRegistration::new(&mut stream)?;
        Ok(Conn {
            stream,
            reg,
            closed: Cell::new(false),
        })
    }

    /// Splits a registered connection into its reader and writer.
    pub(crate) fn split(self) -> (StreamReader, StreamWriter) {
        let conn = Rc::new(self);
        (StreamReader::new(conn.clone()), StreamWriter::new(conn))
    }

    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self.stream.shutdown(Shutdown::Write) {
            // The peer is gone already: there is nothing left to close.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }

    /// Shuts the connection down in both directions (the peer reads EOF
    /// after what the kernel already has to send) and wakes every waiter,
    /// so that a reader waiting in another task meets EOF at once.
    pub(crate) fn shutdown_both(&self) -> io::Result<()> {
        self.closed.set(true);
        let r = match self.stream.shutdown(Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        };
        self.reg.set_closed();
        r
    }

    /// Whether [`shutdown_both`](Conn::shutdown_both) was called.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub(crate) fn extra_info(&self, name: &str) -> Option<SocketAddr> {
        match name {
            "peername" => self.stream.peer_addr().ok(),
            "sockname" => self.stream.local_addr().ok(),
            _ => None,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Err(e) = self.reg.deregister(&mut self.stream) {
            log::debug!("uasyncio-streams: deregistering a connection failed: {e}");
        }
    }
}
