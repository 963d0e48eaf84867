//! Progress of long steps (key generation, proofs: minutes each) on stderr, whether or not
//! stderr is a terminal.
//!
//! On a terminal, a spinner with the step and its elapsed time. Without one (the demo piped
//! to a log, CI), indicatif draws nothing, so a [`Heartbeat`] writes a line every minute
//! instead: a log shows that the step is alive and how long it has run, against its estimate.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a heartbeat line is written without a terminal.
const INTERVAL: Duration = Duration::from_secs(60);

/// What a heartbeat says: called for every line or redraw, so it can report a count.
pub type Label = Arc<dyn Fn() -> String + Send + Sync>;

/// `"4 min 10 s"`, `"12 s"`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// Shows that a long step is running until dropped.
pub struct Heartbeat {
    bar: Option<ProgressBar>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts showing `label` on stderr: a spinner on a terminal, else a line a minute.
    pub fn start(label: Label) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(label());
            let redraw = bar.clone();
            // The label may change (a count): the spinner's message follows it.
            bar.enable_steady_tick(Duration::from_millis(250));
            let (stop, thread) = spawn_ticker(Duration::from_millis(500), move |_| {
                redraw.set_message(label());
            });
            Self {
                bar: Some(bar),
                stop: Some(stop),
                thread: Some(thread),
            }
        } else {
            Self::lines(label, INTERVAL, Box::new(std::io::stderr()))
        }
    }

    /// Without a terminal: `"  ... <label>: <elapsed> so far"` to `out` every `interval`.
    fn lines(label: Label, interval: Duration, mut out: Box<dyn Write + Send>) -> Self {
        let (stop, thread) = spawn_ticker(interval, move |elapsed| {
            // A lost progress line is no reason to stop the proof it reports on.
            let _ = writeln!(out, "  ... {}: {} so far", label(), duration(elapsed));
        });
        Self {
            bar: None,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

/// Calls `tick(elapsed seconds)` every `interval` on a thread until the sender is dropped.
fn spawn_ticker(
    interval: Duration,
    mut tick: impl FnMut(f64) + Send + 'static,
) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = mpsc::channel::<()>();
    let started = Instant::now();
    // A message or the sender's drop ends it.
    let thread = std::thread::spawn(move || {
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
            tick(started.elapsed().as_secs_f64());
        }
    });
    (stop, thread)
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panicked ticker only lost progress lines.
            let _ = thread.join();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A `Write` into a shared buffer.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn without_a_terminal_a_line_per_interval_until_dropped() {
        let out = Shared::default();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        let label: Label = Arc::new(move || {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("layer 1 keys (call {n})")
        });
        let beat = Heartbeat::lines(label, Duration::from_millis(20), Box::new(out.clone()));
        std::thread::sleep(Duration::from_millis(110));
        drop(beat);
        let written = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = written.lines().collect();
        assert!(lines.len() >= 2, "{written:?}");
        assert!(
            lines[0].starts_with("  ... layer 1 keys (call 0): "),
            "{written:?}"
        );
        assert!(lines[0].ends_with(" s so far"), "{written:?}");
        // The label is asked again for every line, and nothing is written after the drop.
        assert!(lines[1].contains("(call 1)"), "{written:?}");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(out.0.lock().expect("lock").len(), written.len());
    }

    #[test]
    fn durations_read_in_minutes_past_one() {
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(250.0), "4 min 10 s");
    }
}
