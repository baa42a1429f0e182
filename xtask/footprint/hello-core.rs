fn main() {
    uasyncio_core::run(uasyncio_core::sleep_ms(10));
    println!("hello world");
}
