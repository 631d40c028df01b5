//! `device::catch_torch` keeps a libtorch panic's message and C++ trace off the terminal by
//! silencing the panic hook, but only on its own thread and only while it runs: panics
//! elsewhere (a failing test's message, a bug's report) must still reach the hook, however
//! many threads call it at once. Its own process, because it installs a panic hook.

use adversarial::device::catch_torch;
use std::sync::atomic::{AtomicUsize, Ordering};

static SEEN: AtomicUsize = AtomicUsize::new(0);

#[test]
fn concurrent_catches_silence_only_their_own_panics() {
    std::panic::set_hook(Box::new(|_| {
        SEEN.fetch_add(1, Ordering::SeqCst);
    }));
    // a first call before the threads start, so that no panic below lands while the hook
    // is being wrapped
    assert!(catch_torch("warm-up", || -> u32 { panic!("inside") }).is_err());
    let catching: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..300 {
                    let e = catch_torch("step", || -> u32 { panic!("inside") }).unwrap_err();
                    assert_eq!(format!("{e}"), "step: inside");
                }
            })
        })
        .collect();
    // panics outside catch_torch on another thread meanwhile
    let outside = std::thread::spawn(|| {
        for _ in 0..100 {
            assert!(std::panic::catch_unwind(|| panic!("outside")).is_err());
        }
    });
    for t in catching {
        t.join().unwrap();
    }
    outside.join().unwrap();
    assert_eq!(
        SEEN.load(Ordering::SeqCst),
        100,
        "every panic outside catch_torch, and none inside it, reaches the hook"
    );
    assert!(std::panic::catch_unwind(|| panic!("after")).is_err());
    assert_eq!(
        SEEN.load(Ordering::SeqCst),
        101,
        "the hook is still in place afterwards"
    );
}
