//! Assertion macros for `Poll` values, as tokio-test offers.

/// Asserts that a `Poll` is `Ready` and returns its value.
///
/// ```
/// use std::task::Poll;
/// let v = uasyncio_test::assert_ready!(Poll::Ready(3));
/// assert_eq!(v, 3);
/// ```
#[macro_export]
macro_rules! assert_ready {
    ($e:expr) => {
        match $e {
            ::std::task::Poll::Ready(v) => v,
            ::std::task::Poll::Pending => panic!("expected Ready, got Pending: {}", stringify!($e)),
        }
    };
    ($e:expr, $($msg:tt)+) => {
        match $e {
            ::std::task::Poll::Ready(v) => v,
            ::std::task::Poll::Pending => panic!("expected Ready, got Pending: {}", format_args!($($msg)+)),
        }
    };
}

/// Asserts that a `Poll` is `Pending`.
///
/// ```
/// use std::task::Poll;
/// uasyncio_test::assert_pending!(Poll::<()>::Pending);
/// ```
#[macro_export]
macro_rules! assert_pending {
    ($e:expr) => {
        match $e {
            ::std::task::Poll::Pending => {}
            ::std::task::Poll::Ready(v) => {
                panic!("expected Pending, got Ready({:?}): {}", v, stringify!($e))
            }
        }
    };
    ($e:expr, $($msg:tt)+) => {
        match $e {
            ::std::task::Poll::Pending => {}
            ::std::task::Poll::Ready(v) => {
                panic!("expected Pending, got Ready({:?}): {}", v, format_args!($($msg)+))
            }
        }
    };
}

/// Asserts that a `Poll` is `Ready` with the given value.
///
/// ```
/// use std::task::Poll;
/// uasyncio_test::assert_ready_eq!(Poll::Ready("a"), "a");
/// ```
#[macro_export]
macro_rules! assert_ready_eq {
    ($e:expr, $expect:expr) => {
        assert_eq!($crate::assert_ready!($e), $expect)
    };
    ($e:expr, $expect:expr, $($msg:tt)+) => {
        assert_eq!($crate::assert_ready!($e), $expect, $($msg)+)
    };
}

/// Asserts that a `Poll<Result<T, E>>` is `Ready(Ok(_))` and returns the value.
///
/// ```
/// use std::task::Poll;
/// let v = uasyncio_test::assert_ready_ok!(Poll::<Result<u8, ()>>::Ready(Ok(1)));
/// assert_eq!(v, 1);
/// ```
#[macro_export]
macro_rules! assert_ready_ok {
    ($e:expr) => {
        match $crate::assert_ready!($e) {
            Ok(v) => v,
            Err(e) => panic!(
                "expected Ready(Ok(_)), got Ready(Err({:?})): {}",
                e,
                stringify!($e)
            ),
        }
    };
}

/// Asserts that a `Poll<Result<T, E>>` is `Ready(Err(_))` and returns the error.
///
/// ```
/// use std::task::Poll;
/// let e = uasyncio_test::assert_ready_err!(Poll::<Result<(), &str>>::Ready(Err("no")));
/// assert_eq!(e, "no");
/// ```
#[macro_export]
macro_rules! assert_ready_err {
    ($e:expr) => {
        match $crate::assert_ready!($e) {
            Ok(v) => panic!(
                "expected Ready(Err(_)), got Ready(Ok({:?})): {}",
                v,
                stringify!($e)
            ),
            Err(e) => e,
        }
    };
}
