fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(10)).await });
    println!("hello world");
}
