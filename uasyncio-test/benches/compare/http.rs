//! The HTTP/1.1 "hello world" every server of the HTTP rows runs, whatever
//! the runtime: a tiny sans-I/O request parser and responder (read until
//! `"\r\n\r\n"`, answer with one fixed response), plus the client side the
//! load generator uses.
//!
//! Keep-alive as real clients expect it: HTTP/1.1's default, and HTTP/1.0's
//! on `Connection: keep-alive` (answered with `Connection: keep-alive`, which
//! `ab -k` looks for); an HTTP/1.0 request without it, or any request with
//! `Connection: close`, gets `Connection: close` and the server closes the
//! connection after the response ([`HttpConn::closing`]).

/// The response to an HTTP/1.1 request that keeps the connection.
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello world\n";
/// The response to an HTTP/1.0 request that asked for keep-alive.
const RESPONSE_KEEP_ALIVE: &[u8] =
    b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 12\r\n\r\nHello world\n";
/// The response after which the server closes the connection.
const RESPONSE_CLOSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 12\r\n\r\nHello world\n";

/// The request the load generator sends (wrk sends its own, alike).
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// The largest request head a connection accepts; a longer one closes it.
const MAX_HEAD: usize = 4096;

/// Where `"\r\n\r\n"` starts in `buf` (a scan for `\n`, then a look back:
/// cheaper than comparing every 4-byte window).
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut from = 3;
    while from < buf.len() {
        let nl = from + buf[from..].iter().position(|&b| b == b'\n')?;
        if &buf[nl - 3..nl] == b"\r\n\r" {
            return Some(nl - 3);
        }
        from = nl + 1;
    }
    None
}

/// The answer a request head asks for, and whether the connection closes
/// after it.
fn response_for(head: &[u8]) -> (&'static [u8], bool) {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let request_line = head[..line_end].strip_suffix(b"\r").unwrap_or(&head[..line_end]);
    let http10 = request_line.ends_with(b" HTTP/1.0");
    let mut keep = !http10;
    for line in head[line_end..].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        const NAME: &[u8] = b"connection:";
        if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            let value = &line[NAME.len()..];
            let has = |word: &[u8]| value.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
            if has(b"close") {
                keep = false;
            } else if has(b"keep-alive") {
                keep = true;
            }
        }
    }
    match (keep, http10) {
        (false, _) => (RESPONSE_CLOSE, true),
        (true, true) => (RESPONSE_KEEP_ALIVE, false),
        (true, false) => (RESPONSE, false),
    }
}

/// The server side of one connection: bytes in, responses out. The runtime
/// reads into [`spare`](HttpConn::spare), reports the count to
/// [`received`](HttpConn::received), writes what that returns, and closes
/// the connection after it when [`closing`](HttpConn::closing) says so.
pub struct HttpConn {
    buf: Box<[u8]>,
    filled: usize,
    /// `buf[..scanned]` holds no complete `"\r\n\r\n"`.
    scanned: usize,
    /// Responses to several pipelined requests, sent together.
    out: Vec<u8>,
    /// The last response answered a request that closes the connection.
    closing: bool,
}

impl HttpConn {
    pub fn new() -> Self {
        HttpConn {
            buf: vec![0; MAX_HEAD].into_boxed_slice(),
            filled: 0,
            scanned: 0,
            out: Vec::new(),
            closing: false,
        }
    }

    /// Whether the connection must be closed once the last responses are
    /// written (the request asked for it, or HTTP/1.0 without keep-alive).
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// Where the next read goes.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// Takes `n` bytes read into [`spare`](HttpConn::spare) and returns the
    /// responses to every request now complete (empty: none yet), or `None`
    /// when a request head does not fit (close the connection).
    ///
    /// After a request that closes the connection, the rest of the input
    /// is ignored.
    pub fn received(&mut self, n: usize) -> Option<&[u8]> {
        if self.closing {
            return Some(&[]);
        }
        self.filled += n;
        let (mut start, mut k) = (0, 0);
        let mut single: &'static [u8] = &[];
        let mut from = self.scanned.saturating_sub(3);
        while let Some(i) = find_head_end(&self.buf[from..self.filled]) {
            let (resp, closes) = response_for(&self.buf[start..from + i]);
            start = from + i + 4;
            from = start;
            k += 1;
            if k == 1 {
                single = resp;
            } else {
                if k == 2 {
                    self.out.clear();
                    self.out.extend_from_slice(single);
                }
                self.out.extend_from_slice(resp);
            }
            if closes {
                self.closing = true;
                break;
            }
        }
        if start > 0 {
            self.buf.copy_within(start..self.filled, 0);
            self.filled -= start;
        }
        self.scanned = self.filled;
        if self.filled == self.buf.len() {
            return None;
        }
        Some(match k {
            0 => &[],
            1 => single,
            _ => &self.out,
        })
    }
}

/// The length of the complete response at the start of `buf`, if it is all
/// there (head, then `Content-Length` bytes of body).
///
/// # Panics
///
/// If the response is not a `200` (the load generator checks every one).
pub fn response_len(buf: &[u8]) -> Option<usize> {
    let head = find_head_end(buf)? + 4;
    assert!(
        buf.starts_with(b"HTTP/1.1 200 "),
        "load: unexpected response {:?}",
        String::from_utf8_lossy(&buf[..head])
    );
    let body = buf[..head]
        .split(|&b| b == b'\n')
        .find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let (name, value) = line.split_at(colon);
            name.eq_ignore_ascii_case(b"content-length")
                .then(|| {
                    std::str::from_utf8(&value[1..])
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .flatten()
        })
        .unwrap_or(0);
    (buf.len() >= head + body).then_some(head + body)
}
