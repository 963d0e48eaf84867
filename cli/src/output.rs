//! Standard output that a closed pipe does not break.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`zkroll execute ... | head
//! -1`). The CLI writes through [`outln!`] instead: once the reader has gone, later lines are
//! dropped and the command finishes its work (a batch half-recorded because nobody read its
//! report would be worse than the report lost). Any other write error (a full disk under
//! `> file`) is kept and reported by [`finish`] as the command's error.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set once a write to stdout has failed: nothing more is written.
static STOPPED: AtomicBool = AtomicBool::new(false);
/// The first write error that was not a closed pipe.
static FAILED: Mutex<Option<io::Error>> = Mutex::new(None);

/// Writes one line to stdout (see the module docs); use [`outln!`].
pub fn write_line(args: fmt::Arguments<'_>) {
    if STOPPED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(error) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        stop(error);
    }
}

fn stop(error: io::Error) {
    STOPPED.store(true, Ordering::Relaxed);
    if error.kind() != io::ErrorKind::BrokenPipe {
        let mut failed = FAILED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failed.get_or_insert(error);
    }
}

/// Flushes stdout; the first write error other than a closed pipe, if any.
pub fn finish() -> io::Result<()> {
    if !STOPPED.load(Ordering::Relaxed) {
        if let Err(error) = io::stdout().lock().flush() {
            stop(error);
        }
    }
    match FAILED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take()
    {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// `println!` for the CLI: a line on stdout that a closed pipe does not turn into a panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
