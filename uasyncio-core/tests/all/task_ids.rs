//! A `TaskId` names one task and never a newer one: not a later task in the
//! same slot (see the unit tests for the last generation), not a task of a
//! loop that replaced its own, not a task of another thread's loop.

use uasyncio_core::{TaskId, cancel, cur_task, get_event_loop, new_event_loop, run, sleep_ms};

#[test]
fn an_id_of_a_replaced_loop_names_no_task_of_the_new_one() {
    let old_loop = new_event_loop();
    let old = old_loop.create_task(sleep_ms(10_000));
    drop(old_loop);
    let lp = new_event_loop();
    // The new loop's first task takes the same slot and generation.
    let new = lp.create_task(sleep_ms(10_000));
    assert_ne!(old, new);
    assert!(!lp.is_alive(old));
    assert!(!cancel(old), "an old loop's id cancelled a task of the new one");
    assert!(lp.is_alive(new));
    assert_eq!(lp.tasks(), [new]);
    lp.close();
}

#[test]
fn an_id_from_another_threads_loop_names_no_task_here() {
    let theirs: TaskId = std::thread::spawn(|| {
        let lp = get_event_loop();
        let id = lp.create_task(sleep_ms(10_000));
        lp.close();
        id
    })
    .join()
    .unwrap();
    let lp = new_event_loop();
    let mine = lp.create_task(sleep_ms(10_000));
    assert_ne!(theirs, mine);
    assert!(!lp.is_alive(theirs));
    assert!(!lp.cancel(theirs), "another thread's id cancelled a task here");
    assert!(lp.is_alive(mine));
    lp.close();
}

#[test]
fn cur_task_inside_a_task_is_the_id_create_task_returned() {
    new_event_loop();
    let (spawned, seen) = run(async {
        let seen = std::rc::Rc::new(std::cell::Cell::new(None));
        let s = seen.clone();
        let id = uasyncio_core::create_task(async move { s.set(cur_task()) });
        sleep_ms(1).await;
        (id, seen.get())
    });
    assert_eq!(Some(spawned), seen);
}
