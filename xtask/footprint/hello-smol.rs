fn main() {
    smol::block_on(async {
        smol::Timer::after(std::time::Duration::from_millis(10)).await;
    });
    println!("hello world");
}
