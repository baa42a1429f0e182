//! [`Duplex`] (feature `futures-io`): a connection's reader and writer as
//! one `AsyncRead + AsyncBufRead + AsyncWrite` value, for libraries that
//! want a single duplex stream (a TLS session, a protocol client).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::reader::StreamReader;
use crate::writer::StreamWriter;

/// A [`StreamReader`] and a [`StreamWriter`] as one value that reads
/// through the reader and writes through the writer (feature
/// `futures-io`), as a TLS library or a protocol client expects. The
/// fields are public: take the halves back, or use their own methods
/// (`peer_addr`, `close`, ...) in between.
///
/// ```
/// use futures_io::{AsyncRead, AsyncWrite};
/// use uasyncio_streams::{Duplex, open_connection, start_server};
///
/// fn wants_duplex<S: AsyncRead + AsyncWrite + Unpin>(_: &S) {}
///
/// uasyncio_core::run(async {
///     let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
///     let (r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
///     let both = Duplex::new(r, w);
///     wants_duplex(&both);
///     let Duplex { reader, writer } = both; // apart again
///     assert_eq!(reader.peer_addr().unwrap(), writer.peer_addr().unwrap());
/// });
/// ```
#[derive(Debug)]
pub struct Duplex {
    /// The reading half.
    pub reader: StreamReader,
    /// The writing half.
    pub writer: StreamWriter,
}

impl Duplex {
    /// Puts the two halves together.
    ///
    /// ```
    /// # use uasyncio_streams::{Duplex, open_connection, start_server};
    /// # uasyncio_core::run(async {
    /// # let srv = start_server(|_r, _w| async {}, "127.0.0.1", 0, 8).await.unwrap();
    /// let (r, w) = open_connection("127.0.0.1", srv.local_addr().port()).await.unwrap();
    /// let both = Duplex::new(r, w);
    /// # drop(both);
    /// # });
    /// ```
    pub fn new(reader: StreamReader, writer: StreamWriter) -> Self {
        Duplex { reader, writer }
    }
}

impl AsyncRead for Duplex {
    #[inline]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().reader).poll_read(cx, buf)
    }
}

impl AsyncBufRead for Duplex {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().reader).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().reader).consume(amt);
    }
}

impl AsyncWrite for Duplex {
    #[inline]
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_close(cx)
    }
}
