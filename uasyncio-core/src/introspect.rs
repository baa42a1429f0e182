//! Seeing inside the loop: task names and spawn locations
//! ([`TaskBuilder`], [`set_task_name`]), an exact snapshot of every live
//! task ([`EventLoop::dump`]), slow-poll reports, and the loop's statistics
//! ([`EventLoop::stats`], in `stats.rs`).
//!
//! # What it costs
//!
//! Every task records where it was spawned (`#[track_caller]`: one pointer
//! passed and stored), its name pointer (null unless named) and its number
//! of polls: a task slot is 56 bytes instead of 32, and a spawn or a poll
//! does one or two more stores. Poll *timing* (a task's age, time in polls,
//! longest poll, and the slow-poll warning) reads the clock twice per poll,
//! so it is off unless the loop is built with
//! [`poll_timing`](crate::EventLoopBuilder::poll_timing) or
//! [`slow_poll_threshold_ms`](crate::EventLoopBuilder::slow_poll_threshold_ms).
//!
//! # How the dump knows what a task waits for
//!
//! Nothing on the hot path reports it: the dump reads what the loop already
//! holds, and recognises the task wakers in it.
//!
//! * a task being polled (the one calling `dump`) is **running**;
//! * a task whose header says "queued" is **runnable**;
//! * a task whose waker sits in a socket's waiter list is **waiting on
//!   I/O** (that socket's token and the direction);
//! * a task whose waker sits in a spawned task's handle is **awaiting that
//!   task**;
//! * a task whose waker sits in the timer queue and nowhere else the loop
//!   can see is **sleeping** until that timer. A timer beside a socket or a
//!   handle is shown as that wait's timeout; beside something the loop
//!   cannot see (a `wait_for_ms` around a queue's `get`), the task shows as
//!   sleeping until its timeout;
//! * anything else is **waiting (other)**: a queue, a lock, an event, a
//!   foreign future. A future that wraps its task's waker in one of its own
//!   (as [`gather`](crate::gather) does for its children) hides the task
//!   from the timer queue and the sockets, so its task shows as waiting
//!   (other) too.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::panic::Location;
use core::time::Duration;

use crate::current::{self, with_current};
use crate::event_loop::{EventLoop, Inner};
use crate::stats::{LoopStats, bump, human};
use crate::task::{Origin, Task, TaskId, TaskKey, spawn_on, task_of};
use crate::ticks::to_ticks;

/// Spawns a task with a name: made by [`task_builder`] (the calling
/// thread's loop) or [`EventLoop::task_builder`] (that loop).
///
/// The name shows in [`EventLoop::dump`] and in slow-poll warnings; like
/// every task, the spawned one records where it was spawned (the line that
/// calls [`create_task`](TaskBuilder::create_task) or
/// [`spawn`](TaskBuilder::spawn)).
///
/// ```
/// use uasyncio_core::{get_event_loop, run, sleep_ms, task_builder};
/// run(async {
///     let id = task_builder().name("heartbeat").create_task(sleep_ms(1_000));
///     let t = task_builder().name(format!("worker {}", 1)).spawn(async { 7 });
///     let dump = get_event_loop().dump();
///     assert_eq!(dump.get(id).unwrap().name.as_deref(), Some("heartbeat"));
///     assert_eq!(dump.get(t.id()).unwrap().location.file(), file!());
///     assert_eq!(t.await, Ok(7));
/// });
/// ```
#[derive(Debug, Default)]
#[must_use = "a task builder spawns nothing until `create_task` or `spawn` is called"]
pub struct TaskBuilder {
    name: Option<Cow<'static, str>>,
    lp: Option<EventLoop>,
}

/// A [`TaskBuilder`] for the calling thread's loop.
///
/// ```
/// let id = uasyncio_core::task_builder().name("idle").create_task(async {});
/// assert!(uasyncio_core::get_event_loop().is_alive(id));
/// # uasyncio_core::get_event_loop().close();
/// ```
pub fn task_builder() -> TaskBuilder {
    TaskBuilder::default()
}

impl TaskBuilder {
    /// Names the task. A `&'static str` is kept as it is; a `String` is
    /// moved in.
    ///
    /// ```
    /// use uasyncio_core::{new_event_loop, task_builder};
    /// let lp = new_event_loop();
    /// let a = task_builder().name("static").create_task(async {});
    /// let b = task_builder().name(format!("conn {}", 7)).create_task(async {});
    /// let dump = lp.dump();
    /// assert_eq!(dump.get(a).unwrap().name.as_deref(), Some("static"));
    /// assert_eq!(dump.get(b).unwrap().name.as_deref(), Some("conn 7"));
    /// # lp.close();
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    #[track_caller]
    fn origin(&mut self) -> Origin {
        Origin {
            location: Location::caller(),
            name: self.name.take().map(Box::new),
        }
    }

    /// Schedules `f` as a task, as [`create_task`](crate::create_task) does,
    /// and returns its id.
    ///
    /// ```
    /// use uasyncio_core::{get_event_loop, task_builder};
    /// let lp = get_event_loop();
    /// let id = lp.task_builder().name("one-shot").create_task(async {});
    /// assert_eq!(lp.dump().get(id).unwrap().name.as_deref(), Some("one-shot"));
    /// # lp.close();
    /// ```
    #[track_caller]
    pub fn create_task<F: Future<Output = ()> + 'static>(mut self, f: F) -> TaskId {
        let origin = self.origin();
        match &self.lp {
            Some(lp) => lp.inner.spawn(Box::pin(f), origin),
            None => with_current(|lp| lp.spawn(Box::pin(f), origin)),
        }
    }

    /// Schedules `f` as a task, as [`spawn`](crate::spawn) does, and
    /// returns its [`Task`] handle.
    ///
    /// ```
    /// let lp = uasyncio_core::get_event_loop();
    /// let t = lp.task_builder().name("answer").spawn(async { 42 });
    /// assert_eq!(lp.run_until_complete(t), Ok(42));
    /// ```
    #[track_caller]
    pub fn spawn<F: Future + 'static>(mut self, f: F) -> Task<F::Output> {
        let origin = self.origin();
        match &self.lp {
            Some(lp) => spawn_on(&lp.inner, f, origin),
            None => with_current(|lp| spawn_on(lp, f, origin)),
        }
    }
}

/// Names the running task (the one whose poll calls this); false outside
/// a task.
///
/// ```
/// use uasyncio_core::{cur_task, get_event_loop, run, set_task_name};
/// assert!(!set_task_name("nobody"), "not inside a task");
/// run(async {
///     assert!(set_task_name("main"));
///     let dump = get_event_loop().dump();
///     assert_eq!(dump.get(cur_task().unwrap()).unwrap().name.as_deref(), Some("main"));
/// });
/// ```
pub fn set_task_name(name: impl Into<Cow<'static, str>>) -> bool {
    match (current::current_loop(), current::current_task()) {
        (Some(lp), Some(id)) => lp.set_task_name(id, name),
        _ => false,
    }
}

/// What a task is doing, as [`EventLoop::dump`] sees it.
///
/// ```
/// use uasyncio_core::{TaskState, new_event_loop, sleep_ms, yield_now};
/// let lp = new_event_loop();
/// let fresh = lp.create_task(async {});
/// let sleeper = lp.create_task(sleep_ms(1_000));
/// lp.run_until_complete(yield_now()); // the sleeper goes to sleep; `fresh` ends
/// let dump = lp.dump();
/// assert!(dump.get(fresh).is_none(), "finished tasks are not in a dump");
/// let state = dump.get(sleeper).unwrap().state;
/// assert!(matches!(state, TaskState::Sleeping { .. }));
/// assert!(state.to_string().starts_with("sleeping until tick"));
/// assert_eq!(TaskState::Waiting.to_string(), "waiting (other)");
/// # lp.close();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Being polled right now (the task that called `dump`).
    Running,
    /// Queued to run in the loop's next round (or woken from another
    /// thread, about to be queued).
    Runnable,
    /// Waiting for a timer and nothing else the loop can see (a
    /// [`sleep_ms`](crate::sleep_ms), say, or the timeout of a
    /// [`wait_for_ms`](crate::wait_for_ms) around a queue's `get`).
    Sleeping {
        /// The timer's deadline on the loop clock's millisecond timeline
        /// ([`EventLoop::now_ms`]).
        until_ms: u64,
        /// The same deadline in ticks ([`EventLoop::time`]).
        until_ticks: u32,
        /// How far away it is, in milliseconds (negative if it is due but
        /// has not fired yet: the loop is busy).
        in_ms: i64,
    },
    /// Waiting for a socket.
    #[cfg(feature = "mio")]
    Io {
        /// The socket's token ([`IoRegistration::token`](crate::io::IoRegistration::token)).
        token: usize,
        /// Which way.
        direction: crate::io::Direction,
    },
    /// Awaiting the [`Task`] handle of another task.
    Joining(TaskId),
    /// Waiting for something the loop does not hold: a queue, a lock, an
    /// event, another executor's future, or a wake wrapped in a
    /// combinator's own waker.
    Waiting,
}

/// One task in a [`TaskDump`].
///
/// ```
/// use uasyncio_core::{new_event_loop, task_builder};
/// let lp = new_event_loop();
/// let (id, line) = (task_builder().name("t").create_task(async {}), line!());
/// let info = lp.dump().get(id).unwrap().clone();
/// assert_eq!((info.name.as_deref(), info.polls, info.main), (Some("t"), 0, false));
/// assert_eq!((info.location.file(), info.location.line()), (file!(), line));
/// assert_eq!(info.age, None, "poll timing is off");
/// # lp.close();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// Its name, if it was given one ([`TaskBuilder::name`], [`set_task_name`]).
    pub name: Option<String>,
    /// Where it was spawned (for the `run_until_complete` future, where that
    /// was called).
    pub location: &'static Location<'static>,
    /// Whether it is the future given to `run_until_complete` (or `run`).
    pub main: bool,
    /// What it is doing.
    pub state: TaskState,
    /// The deadline (on the loop's millisecond timeline) of a timer it
    /// holds besides what its state says: a timeout.
    pub timeout_ms: Option<u64>,
    /// How many times it was polled.
    pub polls: u64,
    /// With poll timing on: how long since it was spawned.
    pub age: Option<Duration>,
    /// With poll timing on: its time inside polls.
    pub busy: Option<Duration>,
    /// With poll timing on: its longest poll.
    pub longest_poll: Option<Duration>,
}

/// A snapshot of every live task of a loop: [`EventLoop::dump`]. Its
/// `Display` is a table, one task per line.
///
/// ```
/// use uasyncio_core::{new_event_loop, sleep_ms, task_builder};
/// let lp = new_event_loop();
/// task_builder().name("napper").create_task(sleep_ms(1_000));
/// let table = lp.dump().to_string();
/// // 1 task(s) at tick 12 (12 ms); poll timing off
/// // id   name    state     polls  age  busy  longest  spawned at
/// // 0.1  napper  runnable      0    -     -        -  src/main.rs:4:29
/// assert!(table.starts_with("1 task(s) at tick"));
/// assert!(table.lines().nth(2).unwrap().contains("napper  runnable"));
/// # lp.close();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskDump {
    /// The loop clock's time when the dump was taken ([`EventLoop::now_ms`]).
    pub now_ms: u64,
    /// Whether the loop times its polls (the age, busy and longest-poll
    /// columns).
    pub poll_timing: bool,
    /// The live tasks, in slot order.
    pub tasks: Vec<TaskInfo>,
}

impl TaskDump {
    /// The task with this id, if it is in the dump.
    ///
    /// ```
    /// let lp = uasyncio_core::new_event_loop();
    /// let id = lp.create_task(async {});
    /// assert_eq!(lp.dump().get(id).unwrap().id, id);
    /// lp.close();
    /// assert!(lp.dump().get(id).is_none());
    /// ```
    pub fn get(&self, id: TaskId) -> Option<&TaskInfo> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The first task with this name, if any.
    ///
    /// ```
    /// use uasyncio_core::{TaskState, new_event_loop, task_builder};
    /// let lp = new_event_loop();
    /// task_builder().name("w").create_task(async {});
    /// assert_eq!(lp.dump().by_name("w").unwrap().state, TaskState::Runnable);
    /// assert!(lp.dump().by_name("nope").is_none());
    /// # lp.close();
    /// ```
    pub fn by_name(&self, name: &str) -> Option<&TaskInfo> {
        self.tasks.iter().find(|t| t.name.as_deref() == Some(name))
    }
}

impl EventLoop {
    /// A [`TaskBuilder`] that spawns on this loop.
    ///
    /// ```
    /// let lp = uasyncio_core::get_event_loop();
    /// let t = lp.task_builder().name("double").spawn(async { 2 * 21 });
    /// assert_eq!(lp.run_until_complete(t), Ok(42));
    /// ```
    pub fn task_builder(&self) -> TaskBuilder {
        TaskBuilder {
            name: None,
            lp: Some(self.clone()),
        }
    }

    /// Names (or renames) the live task `task`; false if it is not alive.
    ///
    /// ```
    /// use uasyncio_core::{new_event_loop, sleep_ms};
    /// let lp = new_event_loop();
    /// let id = lp.create_task(sleep_ms(1_000));
    /// assert!(lp.set_task_name(id, "sleeper"));
    /// assert_eq!(lp.dump().get(id).unwrap().name.as_deref(), Some("sleeper"));
    /// lp.close();
    /// assert!(!lp.set_task_name(id, "gone"));
    /// ```
    pub fn set_task_name(&self, task: TaskId, name: impl Into<Cow<'static, str>>) -> bool {
        let Some(key) = task.key_in(self.inner.id()) else {
            return false;
        };
        let name = Box::new(name.into());
        let set = self
            .inner
            .tasks
            .try_borrow_mut()
            .map(|mut t| t.set_name(key, name));
        matches!(set, Ok(true))
    }

    /// What the loop has done so far: see [`LoopStats`].
    ///
    /// ```
    /// let lp = uasyncio_core::new_event_loop();
    /// lp.run_until_complete(uasyncio_core::sleep_ms(2));
    /// let s = lp.stats();
    /// assert_eq!((s.polls, s.timers_fired), (2, 1));
    /// ```
    pub fn stats(&self) -> LoopStats {
        let i = &self.inner;
        i.stats.snapshot(i.clock.now_ns(), i.poll_timing())
    }

    /// A snapshot of every live task: id, name, spawn location, state
    /// ([`TaskState`]), polls, and with poll timing on its age, time in
    /// polls and longest poll. Its `Display` is a readable table. It may be
    /// called from inside a task (which then shows as running); it costs
    /// a walk over the tasks, the timers and the sockets.
    ///
    /// ```
    /// use uasyncio_core::{TaskState, cur_task, get_event_loop, run, sleep_ms, task_builder};
    /// run(async {
    ///     let sleeper = task_builder().name("sleeper").create_task(sleep_ms(500));
    ///     sleep_ms(1).await; // the sleeper goes to sleep
    ///     let dump = get_event_loop().dump();
    ///     let s = dump.get(sleeper).unwrap();
    ///     assert!(matches!(s.state, TaskState::Sleeping { in_ms: 0..=500, .. }), "{dump}");
    ///     assert_eq!(s.polls, 1);
    ///     assert_eq!(dump.get(cur_task().unwrap()).unwrap().state, TaskState::Running);
    ///     let table = dump.to_string();
    ///     assert!(table.contains("sleeper") && table.contains("sleeping until tick"), "{table}");
    /// });
    /// ```
    pub fn dump(&self) -> TaskDump {
        let inner = &*self.inner;
        let now_ms = inner.clock.now_ms();
        let now_ns = inner.poll_timing().map(|_| inner.clock.now_ns());
        let waits = Waits::gather(self);
        let current = inner.current_task().map(|id| id.key());
        let Ok(tasks) = inner.tasks.try_borrow() else {
            return TaskDump {
                now_ms,
                poll_timing: now_ns.is_some(),
                tasks: Vec::new(),
            };
        };
        let mut joins: BTreeMap<u64, TaskId> = BTreeMap::new();
        for v in tasks.inspect() {
            if let Some(waiter) = v.join_waker.and_then(|w| task_of(w, inner.shared_half())) {
                joins.insert(waiter.to_bits(), TaskId::new(inner.id(), v.key));
            }
        }
        let infos = tasks
            .inspect()
            .map(|v| {
                let bits = v.key.to_bits();
                let deadline = waits.timers.get(&bits).copied();
                let mut timeout_ms = deadline;
                let state = if v.running || current == Some(v.key) {
                    TaskState::Running
                } else if v.header.is_some_and(|h| h.is_queued()) {
                    TaskState::Runnable
                } else if let Some(s) = waits.io_state(bits) {
                    s
                } else if let Some(&joined) = joins.get(&bits) {
                    TaskState::Joining(joined)
                } else if let Some(until_ms) = deadline {
                    timeout_ms = None;
                    TaskState::Sleeping {
                        until_ms,
                        until_ticks: to_ticks(until_ms),
                        in_ms: i64::try_from(i128::from(until_ms) - i128::from(now_ms)).unwrap_or(i64::MAX),
                    }
                } else {
                    TaskState::Waiting
                };
                let timing = now_ns.and(v.timing);
                TaskInfo {
                    id: TaskId::new(inner.id(), v.key),
                    name: v.name.map(str::to_string),
                    location: v.location,
                    main: v.main,
                    state,
                    timeout_ms,
                    polls: if v.main { inner.main_polls.get() } else { v.polls },
                    age: timing
                        .zip(now_ns)
                        .map(|(t, now)| Duration::from_nanos(now.saturating_sub(t.spawned_ns))),
                    busy: timing.map(|t| Duration::from_nanos(t.busy_ns)),
                    longest_poll: timing.map(|t| Duration::from_nanos(t.longest_ns)),
                }
            })
            .collect();
        TaskDump {
            now_ms,
            poll_timing: now_ns.is_some(),
            tasks: infos,
        }
    }
}

/// The task wakers the loop holds, by task key (bits).
struct Waits {
    /// The earliest timer of each task.
    timers: BTreeMap<u64, u64>,
    /// The first socket each task waits on: its token and the direction.
    #[cfg(feature = "mio")]
    io: BTreeMap<u64, (usize, crate::io::Direction)>,
}

impl Waits {
    fn gather(lp: &EventLoop) -> Self {
        let inner = &*lp.inner;
        let shared = inner.shared_half();
        let mut timers = BTreeMap::new();
        if let Ok(t) = inner.timers_ref() {
            for (deadline, w) in t.wakers() {
                if let Some(key) = task_of(w, shared) {
                    let d = timers.entry(key.to_bits()).or_insert(deadline);
                    *d = (*d).min(deadline);
                }
            }
        }
        #[cfg(feature = "mio")]
        let io = {
            let mut io = BTreeMap::new();
            lp.find_poller::<crate::io::MioPoller, _>(|p| {
                p.for_each_waiter(|token, dir, w| {
                    if let Some(key) = task_of(w, shared) {
                        io.entry(key.to_bits()).or_insert((token, dir));
                    }
                });
            });
            io
        };
        Waits {
            timers,
            #[cfg(feature = "mio")]
            io,
        }
    }

    #[cfg(feature = "mio")]
    fn io_state(&self, bits: u64) -> Option<TaskState> {
        self.io
            .get(&bits)
            .map(|&(token, direction)| TaskState::Io { token, direction })
    }

    #[cfg(not(feature = "mio"))]
    fn io_state(&self, _bits: u64) -> Option<TaskState> {
        None
    }
}

/// Poll timing turned on: the slow-poll threshold, and the code that
/// times, reached through function pointers. Only
/// [`EventLoopBuilder::poll_timing`](crate::EventLoopBuilder::poll_timing)
/// and [`slow_poll_threshold_ms`](crate::EventLoopBuilder::slow_poll_threshold_ms)
/// make one, so a program that never turns timing on links none of that
/// code; the loop's checks are the same `Option` tests as before.
#[derive(Clone, Copy)]
pub(crate) struct PollTiming {
    /// The slow-poll threshold in nanoseconds.
    pub(crate) threshold_ns: u64,
    /// Starts a task's times: [`Inner::start_timing`].
    pub(crate) start: fn(&Inner, TaskKey),
    /// Ends a timed poll: [`Inner::poll_timed`].
    pub(crate) polled: fn(&Inner, TaskKey, u64),
}

impl PollTiming {
    /// Timing on, with this slow-poll threshold.
    pub(crate) fn new(threshold_ns: u64) -> Self {
        PollTiming {
            threshold_ns,
            start: Inner::start_timing,
            polled: Inner::poll_timed,
        }
    }
}

impl fmt::Debug for PollTiming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollTiming")
            .field("threshold_ns", &self.threshold_ns)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Starts the times of the task `key`, spawned now.
    fn start_timing(&self, key: TaskKey) {
        let now = self.clock.now_ns();
        self.tasks.borrow_mut().start_timing(key, now);
    }

    /// A timed poll of the task `key`, begun at `start` (clock ns), has
    /// ended: its times, the loop's longest poll, and the slow-poll report.
    #[inline(never)]
    fn poll_timed(&self, key: TaskKey, start: u64) {
        let ns = self.clock.now_ns().saturating_sub(start);
        self.tasks.borrow_mut().record_poll(key, ns);
        if ns > self.stats.longest_poll_ns.get() {
            self.stats.longest_poll_ns.set(ns);
        }
        if let Some(threshold) = self.poll_timing()
            && ns >= threshold
        {
            self.slow_poll(key, ns, threshold);
        }
    }

    #[cold]
    fn slow_poll(&self, key: TaskKey, ns: u64, threshold: u64) {
        bump(&self.stats.slow_polls);
        // Copied out: the logger runs with no borrow held.
        let origin = self
            .tasks
            .borrow()
            .origin(key)
            .map(|(name, location)| (name.map(str::to_string), location));
        let id = TaskId::new(self.id(), key);
        let (took, limit) = (
            human(Duration::from_nanos(ns)),
            human(Duration::from_nanos(threshold)),
        );
        match origin {
            Some((name, location)) => log::warn!(
                "uasyncio: slow poll: {id} ({}) spawned at {location} blocked the loop for {took} \
                 (threshold {limit})",
                name.as_deref().unwrap_or("unnamed"),
            ),
            None => log::warn!("uasyncio: slow poll: {id} blocked the loop for {took} (threshold {limit})"),
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskState::Running => f.write_str("running"),
            TaskState::Runnable => f.write_str("runnable"),
            TaskState::Sleeping {
                until_ticks, in_ms, ..
            } if *in_ms >= 0 => write!(f, "sleeping until tick {until_ticks} (in {in_ms} ms)"),
            TaskState::Sleeping {
                until_ticks, in_ms, ..
            } => write!(
                f,
                "sleeping until tick {until_ticks} (due {} ms ago)",
                in_ms.unsigned_abs()
            ),
            #[cfg(feature = "mio")]
            TaskState::Io { token, direction } => {
                let way = match direction {
                    crate::io::Direction::Read => "read",
                    crate::io::Direction::Write => "write",
                };
                write!(f, "I/O: {way} on socket #{token}")
            }
            TaskState::Joining(id) => write!(f, "awaiting {id}"),
            TaskState::Waiting => f.write_str("waiting (other)"),
        }
    }
}

impl fmt::Display for TaskDump {
    /// A header line, then one line per task: id, name, state, polls, age,
    /// time in polls, longest poll (`-` without poll timing), spawn
    /// location.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} task(s) at tick {} ({} ms){}",
            self.tasks.len(),
            to_ticks(self.now_ms),
            self.now_ms,
            if self.poll_timing { "" } else { "; poll timing off" }
        )?;
        let dur = |d: Option<Duration>| d.map_or_else(|| "-".to_string(), |d| human(d).to_string());
        let header = [
            "id",
            "name",
            "state",
            "polls",
            "age",
            "busy",
            "longest",
            "spawned at",
        ]
        .map(String::from);
        let mut rows = Vec::with_capacity(self.tasks.len() + 1);
        rows.push(header);
        for t in &self.tasks {
            let id = t.id.to_string();
            let mut state = t.state.to_string();
            if let Some(deadline) = t.timeout_ms {
                let left = i128::from(deadline) - i128::from(self.now_ms);
                state.push_str(&alloc::format!(", timeout in {left} ms"));
            }
            let name = match (&t.name, t.main) {
                (Some(n), _) => n.clone(),
                (None, true) => "(main)".to_string(),
                (None, false) => "-".to_string(),
            };
            rows.push([
                id.strip_prefix("task ").unwrap_or(&id).to_string(),
                name,
                state,
                t.polls.to_string(),
                dur(t.age),
                dur(t.busy),
                dur(t.longest_poll),
                t.location.to_string(),
            ]);
        }
        let mut widths = [0usize; 8];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                let numeric = (3..=6).contains(&i);
                let sep = if i == 0 { "" } else { "  " };
                let cell = if i == 7 {
                    alloc::format!("{sep}{cell}")
                } else if numeric {
                    alloc::format!("{sep}{cell:>w$}")
                } else {
                    alloc::format!("{sep}{cell:<w$}")
                };
                line.push_str(&cell);
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
