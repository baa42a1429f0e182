//! The HTTP/1.1 "hello world" logic shared by the `http_hello` and
//! `multicore_http` examples and the load tests: keep-alive by default,
//! `Connection: close` and HTTP/1.0 honoured, request bodies
//! (`Content-Length`) skipped.

use uasyncio_streams::{StreamReader, StreamWriter};

/// The body the examples serve.
pub(crate) const HELLO: &[u8] = b"hello world";

/// Serves one connection: answers every request on it with `body`.
pub(crate) async fn serve(mut r: StreamReader, mut w: StreamWriter, body: &'static [u8]) {
    let keep_head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let close_head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut line = Vec::with_capacity(256);
    loop {
        // The request line (blank lines between requests are tolerated).
        line.clear();
        match r.readline_into(&mut line).await {
            Ok(0) | Err(_) => return, // EOF or a broken connection
            Ok(_) => {}
        }
        if line == b"\r\n" || line == b"\n" {
            continue;
        }
        let mut keep_alive = !line.ends_with(b"HTTP/1.0\r\n");
        let mut content_length = 0usize;
        // Headers, up to the empty line.
        loop {
            line.clear();
            match r.readline_into(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = line.split_at(colon);
            let value = String::from_utf8_lossy(&value[1..]).trim().to_ascii_lowercase();
            if name.eq_ignore_ascii_case(b"connection") {
                keep_alive = match value.as_str() {
                    "close" => false,
                    "keep-alive" => true,
                    _ => keep_alive,
                };
            } else if name.eq_ignore_ascii_case(b"content-length") {
                content_length = value.parse().unwrap_or(0);
            }
        }
        if content_length > 0 && r.readexactly(content_length).await.is_err() {
            return;
        }
        let head = if keep_alive { &keep_head } else { &close_head };
        if w.awriteiter([head.as_bytes(), body]).await.is_err() {
            return;
        }
        if !keep_alive {
            let _ = w.aclose().await;
            return;
        }
    }
}
