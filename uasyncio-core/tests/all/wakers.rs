//! SPEC §4 "Wakers": standard wakers, so any std future works on the loop;
//! a wake from another thread ends an idle wait at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use uasyncio_core::{create_task, new_event_loop, run, sleep_ms, wait_for_ms};

/// A oneshot channel written against std only, as a foreign crate would.
#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
}

struct Receiver(Arc<Mutex<Slot>>);

impl Future for Receiver {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.0.lock().unwrap();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

fn send_later(slot: Arc<Mutex<Slot>>, v: u32, after: Duration) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let w = {
            let mut s = slot.lock().unwrap();
            s.value = Some(v);
            s.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    })
}

#[test]
fn a_std_future_woken_from_another_thread_works_on_the_loop() {
    new_event_loop();
    let slot = Arc::new(Mutex::new(Slot::default()));
    let h = send_later(slot.clone(), 42, Duration::from_millis(30));
    let v = run(Receiver(slot));
    assert_eq!(v, 42);
    h.join().unwrap();
}

#[test]
fn a_wake_from_another_thread_ends_an_idle_wait_promptly() {
    new_event_loop();
    let slot = Arc::new(Mutex::new(Slot::default()));
    let h = send_later(slot.clone(), 7, Duration::from_millis(50));
    let t = Instant::now();
    let v = run(async move {
        // The loop's next timer is 10 s away: only the remote wake can end
        // its wait early.
        create_task(sleep_ms(10_000));
        wait_for_ms(Receiver(slot), 20_000).await
    });
    assert_eq!(v, Ok(7));
    let el = t.elapsed();
    assert!(el < Duration::from_secs(3), "woken after {el:?}");
    h.join().unwrap();
    new_event_loop();
}

#[test]
fn a_task_woken_from_another_thread_runs_once_per_wake_burst() {
    new_event_loop();
    let polls = std::rc::Rc::new(std::cell::Cell::new(0));
    let p = polls.clone();
    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let waker_thread = std::thread::spawn(move || {
        let w = rx.recv().unwrap();
        for _ in 0..100 {
            w.wake_by_ref();
        }
    });
    let mut tx = Some(tx);
    run(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if let Some(tx) = tx.take() {
            tx.send(cx.waker().clone()).unwrap();
            return Poll::Pending;
        }
        Poll::Ready(())
    }));
    waker_thread.join().unwrap();
    assert!(polls.get() <= 3, "{} polls", polls.get());
}

#[test]
fn wakers_of_finished_tasks_are_harmless() {
    new_event_loop();
    let kept: std::rc::Rc<std::cell::RefCell<Vec<Waker>>> = Default::default();
    let k = kept.clone();
    run(async move {
        let k2 = k.clone();
        create_task(std::future::poll_fn(move |cx| {
            k2.borrow_mut().push(cx.waker().clone());
            Poll::Ready(())
        }));
        sleep_ms(1).await;
        // A new task reuses the finished task's slot; the old waker must not
        // disturb it, and waking it from anywhere must not crash.
        let ran = std::rc::Rc::new(std::cell::Cell::new(0));
        let r = ran.clone();
        create_task(async move {
            r.set(r.get() + 1);
            sleep_ms(5).await;
            r.set(r.get() + 1);
        });
        let w = k.borrow()[0].clone();
        w.wake_by_ref();
        std::thread::spawn(move || w.wake()).join().unwrap();
        // Until the task has slept and finished (bounded, so a bug fails
        // rather than hangs), whatever the machine's load.
        let finished = wait_for_ms(
            async {
                while ran.get() < 2 {
                    sleep_ms(1).await;
                }
            },
            10_000,
        )
        .await;
        assert_eq!((finished, ran.get()), (Ok(()), 2));
    });
}
