//! Progress bars for `krafka perf`, on stderr and only when stderr is a terminal (so pipes,
//! files and tests see the report alone). A display refreshed five times a second; the work
//! itself only bumps two counters.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Records produced and consumed so far, out of `total`.
#[derive(Debug, Default)]
pub struct Progress {
    produced: AtomicUsize,
    consumed: AtomicUsize,
    total: usize,
}

impl Progress {
    pub fn new(total: usize) -> Arc<Self> {
        Arc::new(Self {
            total,
            ..Self::default()
        })
    }

    pub fn produced(&self, n: usize) {
        self.produced.fetch_add(n, Ordering::Relaxed);
    }

    pub fn consumed(&self, n: usize) {
        self.consumed.fetch_add(n, Ordering::Relaxed);
    }
}

fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 24;
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    format!(
        "[{}{}] {:>3}%",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        (done.min(total) * 100).checked_div(total).unwrap_or(100)
    )
}

/// Draws the bars until the returned handle is dropped or stopped; nothing when stderr is not
/// a terminal.
pub struct Display {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Display {
    pub fn start(progress: Arc<Progress>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Display {
                stop: None,
                task: None,
            };
        }
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        let line = format!(
                            "\rproduce {}  consume {}",
                            bar(progress.produced.load(Ordering::Relaxed), progress.total),
                            bar(progress.consumed.load(Ordering::Relaxed), progress.total)
                        );
                        let _ = std::io::stderr().lock().write_all(line.as_bytes());
                    }
                }
            }
            let _ = std::io::stderr().lock().write_all(b"\r\x1b[2K");
        });
        Display {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Clears the bars before the report is printed.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_with_progress() {
        assert_eq!(bar(0, 100), "[------------------------]   0%");
        assert_eq!(bar(50, 100), "[############------------]  50%");
        assert_eq!(bar(150, 100), "[########################] 100%");
        assert_eq!(bar(0, 0), "[########################] 100%");
    }
}
