//! The HTTP/1.1 "hello world" logic shared by the `http_hello` and
//! `multicore_http` examples and the tests: keep-alive by default,
//! `Connection: close` honoured, HTTP/1.0 keep-alive answered with
//! `Connection: keep-alive` (and HTTP/1.0 without it closed), no body for
//! `HEAD`, request bodies read and discarded in chunks.
//!
//! It faces the network, so every size and every wait a client controls is
//! bounded ([`Limits`]): a request's line and headers must arrive within
//! `head_timeout_ms` (a slowloris client that trickles its headers is
//! dropped, with `408`), a body within `body_timeout_ms`; a body longer than
//! `max_body` gets `413` without being read, a header line longer than
//! `max_line` `431` (`414` for the request line), more than `max_headers`
//! headers `431`, a malformed `Content-Length` `400` and any
//! `Transfer-Encoding` `501` (not implemented here). A `Content-Length` is
//! never an allocation size: a body is read through one 8 KiB buffer.

use std::io;

use uasyncio_core::wait_for_ms;
use uasyncio_streams::{StreamReader, StreamWriter};

/// The body the examples serve.
pub(crate) const HELLO: &[u8] = b"hello world";

/// What a client may cost a connection; see the module docs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long a request's line and headers may take to arrive, counted
    /// from when the server starts waiting for them: this also closes a
    /// keep-alive connection idle for that long.
    pub(crate) head_timeout_ms: u32,
    /// How long a request's body may take to arrive.
    pub(crate) body_timeout_ms: u32,
    /// The longest body accepted, in bytes.
    pub(crate) max_body: u64,
    /// The longest request or header line, in bytes.
    pub(crate) max_line: usize,
    /// The most header lines in one request.
    pub(crate) max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            head_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            max_body: 1 << 20,
            max_line: 8 * 1024,
            max_headers: 100,
        }
    }
}

/// How long a connection closed after an error keeps reading (and
/// discarding) what the client still sends, so that our response is not
/// destroyed by a reset, and the most it reads.
const LINGER_MS: u32 = 1_000;
const LINGER_BYTES: usize = 256 * 1024;

/// One request's head, as far as this server cares.
#[derive(Debug)]
struct Request {
    head_only: bool,
    http10: bool,
    keep_alive: bool,
    content_length: u64,
}

/// Why a request cannot be served: a status to answer with (then close),
/// or nothing to say (EOF, a broken connection).
#[derive(Debug)]
enum Refused {
    Status(u16, &'static str),
    Gone,
}

/// Serves one connection with the default [`Limits`].
#[allow(dead_code)] // not every user of this module calls both forms
pub(crate) async fn serve(r: StreamReader, w: StreamWriter, body: &'static [u8]) {
    serve_with(r, w, body, Limits::default()).await;
}

/// Serves one connection: answers every request on it with `body`, within
/// `limits`.
pub(crate) async fn serve_with(
    mut r: StreamReader,
    mut w: StreamWriter,
    body: &'static [u8],
    limits: Limits,
) {
    r.set_line_limit(limits.max_line);
    let len = body.len();
    let keep = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\r\n");
    let keep10 = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\nConnection: keep-alive\r\n\r\n"
    );
    let close = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    let mut line = Vec::with_capacity(256);
    let mut scratch = Vec::new();
    loop {
        let mut started = false;
        let head = wait_for_ms(
            read_head(&mut r, &mut line, &limits, &mut started),
            limits.head_timeout_ms,
        );
        let req = match head.await {
            Ok(Ok(req)) => req,
            Ok(Err(Refused::Gone)) => return,
            Ok(Err(Refused::Status(code, reason))) => return refuse(r, w, code, reason).await,
            // A request had begun: say why it is dropped. An idle
            // keep-alive connection is just closed.
            Err(_) if started => return refuse(r, w, 408, "Request Timeout").await,
            Err(_) => return,
        };
        if req.content_length > limits.max_body {
            return refuse(r, w, 413, "Content Too Large").await;
        }
        if req.content_length > 0 {
            let skipped = wait_for_ms(
                skip_body(&mut r, &mut scratch, req.content_length),
                limits.body_timeout_ms,
            );
            match skipped.await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => return refuse(r, w, 408, "Request Timeout").await,
            }
        }
        let head = match (req.keep_alive, req.http10) {
            (false, _) => &close,
            (true, false) => &keep,
            (true, true) => &keep10,
        };
        let sent = if req.head_only {
            w.awrite(head.as_bytes()).await
        } else {
            w.awriteiter([head.as_bytes(), body]).await
        };
        if sent.is_err() {
            return;
        }
        if !req.keep_alive {
            let _ = w.aclose().await;
            return;
        }
    }
}

/// Reads a request line and its headers. Sets `started` once a byte of the
/// request has arrived.
async fn read_head(
    r: &mut StreamReader,
    line: &mut Vec<u8>,
    limits: &Limits,
    started: &mut bool,
) -> Result<Request, Refused> {
    // The request line (blank lines between requests are tolerated).
    loop {
        line.clear();
        match r.readline_into(line).await {
            Ok(0) => return Err(Refused::Gone),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(Refused::Status(414, "URI Too Long"));
            }
            Err(_) => return Err(Refused::Gone),
        }
        *started = true;
        if !is_blank(line) {
            break;
        }
    }
    let mut parts = trim_eol(line).split(|&b| b == b' ');
    let (Some(method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refused::Status(400, "Bad Request"));
    };
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return Err(Refused::Status(505, "HTTP Version Not Supported")),
    };
    let mut req = Request {
        head_only: method == b"HEAD",
        http10,
        keep_alive: !http10,
        content_length: 0,
    };
    let mut keep_alive_asked = false;
    let mut close_asked = false;
    let mut length_seen = None;
    let mut headers = 0;
    loop {
        line.clear();
        match r.readline_into(line).await {
            Ok(0) => return Err(Refused::Gone),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(Refused::Status(431, "Request Header Fields Too Large"));
            }
            Err(_) => return Err(Refused::Gone),
        }
        if is_blank(line) {
            break;
        }
        headers += 1;
        if headers > limits.max_headers {
            return Err(Refused::Status(431, "Request Header Fields Too Large"));
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(Refused::Status(400, "Bad Request"));
        };
        let (name, value) = line.split_at(colon);
        let value = trim_eol(&value[1..]).trim_ascii();
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                close_asked |= token.eq_ignore_ascii_case(b"close");
                keep_alive_asked |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let Some(n) = parse_length(value) else {
                return Err(Refused::Status(400, "Bad Request"));
            };
            // Several lengths must agree (RFC 9112 §6.3).
            if length_seen.is_some_and(|seen| seen != n) {
                return Err(Refused::Status(400, "Bad Request"));
            }
            length_seen = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Refused::Status(501, "Not Implemented"));
        }
    }
    req.keep_alive = !close_asked && (!http10 || keep_alive_asked);
    req.content_length = length_seen.unwrap_or(0);
    Ok(req)
}

/// A `Content-Length` value: decimal digits only, `u64::MAX` for a number
/// too large for a `u64` (larger than any limit), `None` if malformed.
fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\r\n" || line == b"\n"
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads and discards `n` bytes of body through one 8 KiB buffer.
async fn skip_body(r: &mut StreamReader, scratch: &mut Vec<u8>, mut n: u64) -> io::Result<()> {
    if scratch.is_empty() {
        scratch.resize(8 * 1024, 0);
    }
    while n > 0 {
        let want = scratch.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        match r.read_into(&mut scratch[..want]).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            got => n -= got as u64,
        }
    }
    Ok(())
}

/// Answers `code` and closes: half-closes first, then reads and discards
/// what the client still sends for a while, so that unread input does not
/// turn the close into a reset that would destroy the answer.
async fn refuse(mut r: StreamReader, mut w: StreamWriter, code: u16, reason: &str) {
    let answer = format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if w.awrite(answer.as_bytes()).await.is_err() || w.aclose().await.is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    let _ = wait_for_ms(
        async {
            let mut left = LINGER_BYTES;
            while left > 0 {
                match r.read_into(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        },
        LINGER_MS,
    )
    .await;
}
