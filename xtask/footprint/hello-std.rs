fn main() {
    std::thread::sleep(std::time::Duration::from_millis(10));
    println!("hello world");
}
