fn main() {
    uasyncio_core::run(async {
        let srv = uasyncio_streams::start_server(
            |_r, mut w| async move {
                let _ = w.awrite(b"hello world\n").await;
            },
            "127.0.0.1",
            0,
            8,
        )
        .await
        .expect("listen");
        let (mut r, _w) = uasyncio_streams::open_connection("127.0.0.1", srv.local_addr().port())
            .await
            .expect("connect");
        uasyncio_core::sleep_ms(10).await;
        let line = r.readline().await.expect("read");
        print!("{}", String::from_utf8_lossy(&line));
    });
}
