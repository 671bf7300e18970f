//! The driver's global allocator: the system allocator, counting live bytes, with two caps
//! (one allocation, and all live bytes). An input that makes the code under test ask for more
//! is a finding ("unbounded allocation"): the allocation is never made, the asking thread is
//! parked, and the driver's watchdog saves the input and stops the run. Parking instead of
//! failing the allocation keeps the input: Rust aborts on a failed allocation before anything
//! could write it down.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Bytes currently allocated.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Largest single allocation allowed (no cap until the driver sets one).
static ONE_CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Largest total allowed.
static LIVE_CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The size of a refused allocation (0: none so far).
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// The allocator; install with `#[global_allocator]` in the driver binary.
#[derive(Debug)]
pub struct CappedAllocator;

/// Sets the caps, in bytes.
pub fn set_caps(one: usize, live: usize) {
    ONE_CAP.store(one, Ordering::Relaxed);
    LIVE_CAP.store(live, Ordering::Relaxed);
}

/// Bytes currently allocated.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The size of the allocation that broke a cap, if one did.
pub fn refused() -> Option<usize> {
    match REFUSED.load(Ordering::Relaxed) {
        0 => None,
        size => Some(size),
    }
}

/// May `more` bytes be added? Otherwise records the refusal and parks this thread for good
/// (the watchdog ends the process).
fn admit(more: usize) {
    let over_one = more > ONE_CAP.load(Ordering::Relaxed);
    let over_live =
        LIVE.load(Ordering::Relaxed).saturating_add(more) > LIVE_CAP.load(Ordering::Relaxed);
    if (over_one || over_live) && REFUSED.load(Ordering::Relaxed) == 0 {
        REFUSED.store(more.max(1), Ordering::Relaxed);
        loop {
            // `sleep` does not allocate.
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

#[expect(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; every call forwards to the system allocator"
)]
// SAFETY: every method forwards to `System` with the caller's own pointer and layout, and only
// adds bookkeeping around it.
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        // SAFETY: forwarded as received.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        // SAFETY: forwarded as received.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            admit(new_size);
        }
        // SAFETY: forwarded as received.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}
