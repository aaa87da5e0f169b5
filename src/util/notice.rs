//! Notices: things the library did on the user's behalf that they should hear about (a stale
//! staging directory removed, an interrupted replacement restored), routed to one sink.
//!
//! The default sink prints `note: ...` on stderr, with control characters escaped. Front ends
//! that own stderr differently (tests, the Python module) install their own with [`set_sink`].

use std::sync::{Mutex, PoisonError};

type Sink = Box<dyn Fn(&str) + Send + Sync>;

static SINK: Mutex<Option<Sink>> = Mutex::new(None);

/// Hands `message` to the installed sink (stderr by default).
pub fn notice(message: &str) {
    let sink = SINK.lock().unwrap_or_else(PoisonError::into_inner);
    match sink.as_ref() {
        Some(f) => f(message),
        None => eprintln!("note: {}", crate::util::text::escape_controls(message)),
    }
}

/// Replaces the sink; `None` restores the default (stderr).
pub fn set_sink(sink: Option<Sink>) {
    *SINK.lock().unwrap_or_else(PoisonError::into_inner) = sink;
}
