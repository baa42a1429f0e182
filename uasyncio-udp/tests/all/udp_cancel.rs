//! A receive that is cancelled (a `wait_for_ms` that timed out, a dropped
//! future) leaves its socket's wait list at once: it keeps no waker, so no
//! task's memory is held by a socket nobody reads; waits do not pile up and
//! registering stays O(1). And a receive's `n` is no allocation size.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use uasyncio_core::io::MioPoller;
use uasyncio_core::{create_task, get_event_loop, run, sleep_ms, wait_for_ms};
use uasyncio_udp::UdpSocket;

struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn waiters() -> usize {
    get_event_loop()
        .find_poller::<MioPoller, _>(MioPoller::waiter_count)
        .expect("the default poller is a MioPoller")
}

#[test]
fn a_dropped_receive_keeps_no_waker_of_its_task() {
    run(async {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        // 100k receives, each from a task of its own (a waker of its own),
        // each polled once (it has to wait: nothing was sent) and dropped.
        for _ in 0..100_000 {
            let task = Arc::new(Counting(AtomicUsize::new(0)));
            let waker = Waker::from(task.clone());
            {
                let mut recv = pin!(sock.recv(64));
                let mut cx = Context::from_waker(&waker);
                assert!(recv.as_mut().poll(&mut cx).is_pending());
                assert_eq!(waiters(), 1);
            }
            drop(waker);
            assert_eq!(
                Arc::strong_count(&task),
                1,
                "the socket kept a waker of a cancelled receive"
            );
        }
        assert_eq!(waiters(), 0);
    });
}

#[test]
fn a_hundred_thousand_timed_out_receives_leave_no_waiter_behind() {
    run(async {
        let sock = Rc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        const BATCH: usize = 1_000;
        for _ in 0..100_000 / BATCH {
            let done = Rc::new(AtomicUsize::new(0));
            for _ in 0..BATCH {
                let (s, d) = (sock.clone(), done.clone());
                create_task(async move {
                    assert!(wait_for_ms(s.recv(64), 1).await.is_err(), "nothing was sent");
                    d.fetch_add(1, Ordering::Relaxed);
                });
            }
            // Every task of the batch is waiting on the socket at once...
            sleep_ms(0).await;
            assert!(waiters() <= BATCH, "{} waiters for {BATCH} tasks", waiters());
            while done.load(Ordering::Relaxed) < BATCH {
                sleep_ms(1).await;
            }
            // ...and none is left once they timed out.
            assert_eq!(waiters(), 0);
        }
    });
}

#[test]
fn a_receive_of_any_n_allocates_at_most_a_datagram() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = a.local_addr().unwrap();
        b.sendto(b"first", to).await.unwrap();
        b.sendto(b"second", to).await.unwrap();
        // usize::MAX would be a capacity overflow (a panic, or an abort for
        // sizes the allocator refuses) if it were allocated.
        let v = a.recv(usize::MAX).await.unwrap();
        assert_eq!(v, b"first");
        assert!(v.capacity() <= uasyncio_udp::MAX_DATAGRAM);
        let (v, from) = a.recvfrom(1 << 40).await.unwrap();
        assert_eq!((v.as_slice(), from), (&b"second"[..], b.local_addr().unwrap()));
        // A waiting receive of a huge n holds no more than a datagram either.
        let waker = Waker::noop();
        let mut recv = pin!(a.recv(usize::MAX));
        assert!(recv.as_mut().poll(&mut Context::from_waker(waker)).is_pending());
        b.sendto(b"third", to).await.unwrap();
        let got = std::future::poll_fn(|cx| match recv.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => Poll::Pending,
        });
        assert_eq!(wait_for_ms(got, 5_000).await.unwrap().unwrap(), b"third");
    });
}
