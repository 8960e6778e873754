//! Progress bars on stderr for long work (model downloads): bytes, rate and time left.

use std::io::Write;
use std::time::{Duration, Instant};

use hearth_core::models::fetch::FetchProgress;

/// One line per file, redrawn in place at most ten times a second.
#[derive(Debug)]
pub struct FetchBar {
    model: String,
    file: String,
    total: u64,
    done: u64,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl FetchBar {
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            file: String::new(),
            total: 0,
            done: 0,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn draw(&mut self, force: bool) {
        let now = Instant::now();
        if !force && self.last_drawn.is_some_and(|last| now - last < Duration::from_millis(100)) {
            return;
        }
        self.last_drawn = Some(now);
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / elapsed;
        let fraction = if self.total == 0 { 1.0 } else { self.done as f64 / self.total as f64 };
        let filled = (fraction * 24.0).round() as usize;
        let eta = if rate > 0.0 { (self.total.saturating_sub(self.done)) as f64 / rate } else { 0.0 };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r{} {} [{}{}] {:>5.1}/{:.1} MB {:>6.1} MB/s ETA {:>3.0} s ",
            self.model,
            self.file,
            "#".repeat(filled.min(24)),
            " ".repeat(24 - filled.min(24)),
            self.done as f64 / 1e6,
            self.total as f64 / 1e6,
            rate / 1e6,
            eta
        );
        let _ = stderr.flush();
    }

    /// Ends the current line.
    pub fn done(&mut self) {
        if self.last_drawn.is_some() {
            eprintln!();
        }
    }
}

impl FetchProgress for FetchBar {
    fn source(&mut self, description: &str) {
        self.done();
        self.last_drawn = None;
        eprintln!("{}: trying {description}", self.model);
    }

    fn file_started(&mut self, name: &str, total_bytes: u64) {
        self.done();
        self.file = name.to_owned();
        self.total = total_bytes;
        self.done = 0;
        self.started = Instant::now();
        self.draw(true);
    }

    fn advanced(&mut self, bytes: u64) {
        self.done += bytes;
        self.draw(false);
    }

    fn file_finished(&mut self) {
        self.draw(true);
    }
}
