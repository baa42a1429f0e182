//! The default exception handler's report: with no logger installed it is
//! one line on stderr naming the task; with a logger, it goes to the logger
//! and stderr gets nothing from us. Each case runs in a child process (this
//! test binary, re-run on one test), since a logger, once installed, stays.

use std::process::{Command, Output};

use uasyncio_core::{create_task, get_event_loop, run, yield_now};

/// Set in the child: which scenario to play.
const CHILD: &str = "UASYNCIO_PANIC_REPORT_CHILD";

/// `name`'s path in this test binary: libtest names a test by its module
/// path without the crate (`time_wrap::NAME` when this file is a module).
fn test_path(name: &str) -> String {
    match module_path!().split_once("::") {
        Some((_crate, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    }
}

/// Re-runs this binary on test `name` with `CHILD=scenario`.
fn child(name: &str, scenario: &str) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .args([
            test_path(name).as_str(),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the child");
    assert!(out.status.success(), "child failed: {out:?}");
    out
}

/// The scenario: a task and a callback panic; prints the task's id.
fn panic_a_task_and_a_callback() {
    let id = run(async {
        let id = create_task(async { panic!("boom in a task") });
        get_event_loop().call_soon(|| panic!("boom in a callback"));
        yield_now().await;
        yield_now().await;
        id
    });
    println!("TASK={id}");
}

/// The lines of `out`'s stderr that start with `uasyncio:`, and the task id
/// the child printed (libtest's "test ... " may precede it on its line).
fn reports(out: &Output) -> (Vec<String>, String) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stderr
        .lines()
        .filter(|l| l.starts_with("uasyncio:"))
        .map(str::to_owned)
        .collect();
    let id = stdout
        .lines()
        .find_map(|l| l.split_once("TASK=").map(|(_, id)| id))
        .expect("the child printed its task id")
        .to_owned();
    (lines, id)
}

#[test]
fn without_a_logger_a_panic_is_reported_on_stderr_with_its_task_id() {
    if std::env::var_os(CHILD).is_some() {
        assert_eq!(
            log::max_level(),
            log::LevelFilter::Off,
            "no logger in this process"
        );
        panic_a_task_and_a_callback();
        return;
    }
    let out = child(
        "without_a_logger_a_panic_is_reported_on_stderr_with_its_task_id",
        "plain",
    );
    let (lines, id) = reports(&out);
    assert_eq!(
        lines,
        [
            format!("uasyncio: {id} panicked: boom in a task"),
            "uasyncio: a callback panicked: boom in a callback".to_owned(),
        ]
    );
}

/// A logger that prints records to stdout with a marker.
struct Stdout;

impl log::Log for Stdout {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        println!("LOG {} {}", record.level(), record.args());
    }
    fn flush(&self) {}
}

#[test]
fn with_a_logger_a_panic_is_logged_and_not_written_to_stderr() {
    if std::env::var_os(CHILD).is_some() {
        log::set_logger(&Stdout).expect("the first logger");
        log::set_max_level(log::LevelFilter::Error);
        panic_a_task_and_a_callback();
        return;
    }
    let out = child(
        "with_a_logger_a_panic_is_logged_and_not_written_to_stderr",
        "logger",
    );
    let (lines, id) = reports(&out);
    assert!(lines.is_empty(), "stderr got {lines:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // (libtest's "test ... " may precede the first record on its line.)
    let logged: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.find("LOG ").map(|at| &l[at..]))
        .collect();
    assert_eq!(
        logged,
        [
            format!("LOG ERROR uasyncio: {id} panicked: boom in a task").as_str(),
            "LOG ERROR uasyncio: a callback panicked: boom in a callback",
        ]
    );
}
