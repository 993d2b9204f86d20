//! [`AuditLog`]: the audit lines as JSON, written to a file (or any writer) by a background
//! thread in large batches.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A batch is written once this many bytes are queued, without waiting for the interval.
const BATCH_BYTES: usize = 64 * 1024;
/// The longest a line waits in memory before it is written.
const WRITE_INTERVAL: Duration = Duration::from_millis(20);
/// The default of [`AuditLog::max_queued_bytes`]: past it, the sink is not keeping up.
const MAX_QUEUED_BYTES: usize = 8 * 1024 * 1024;
/// The smallest limit [`AuditLog::max_queued_bytes`] takes.
const MIN_QUEUED_BYTES: usize = 4 * 1024;
/// How long dropping the last handle waits for the sink to take the last lines.
const CLOSE_TIMEOUT: Duration = if cfg!(test) { Duration::from_millis(300) } else { Duration::from_secs(10) };
/// Write failures are reported at most this often.
const ERROR_REPORT_INTERVAL: Duration = Duration::from_secs(10);
/// The first pause before a failed write is tried again; it doubles up to the longest.
const RETRY_PAUSE_MIN: Duration = Duration::from_millis(50);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(1);

/// Where the audit lines go instead of `tracing` events: one JSON object per line (the
/// schema's fields in its order, see [the module docs](crate::audit)), appended to a file by a
/// background thread.
///
/// Built for the request path: the line is formatted without `core::fmt` and handed over by a
/// copy under an uncontended lock; the thread writes whatever has queued every 20 ms, or as soon
/// as 64 KiB are waiting, in one system call.
///
/// A sink that stops taking lines (a full disk that blocks, a named pipe or standard output
/// whose reader stalled) never stops the server: once more than
/// [`max_queued_bytes`](Self::max_queued_bytes) (8 MiB) wait, the security layer refuses new
/// requests with `503` (problem type `audit-unavailable`, `Retry-After: 1`, audit outcome
/// `denied:audit_unavailable`, one error a minute for the operator) before they reach a
/// handler, so nothing runs without its line; the lines of requests already admitted are still
/// queued. Request threads never wait for the sink. Only past twice the limit (lines still
/// arriving from admitted requests and refusals) are lines dropped, counted and reported. A
/// sink whose writes fail (a full disk: `ENOSPC`; a removed mount; a closed pipe) is treated
/// the same way: the batch is kept and tried again (after 50 ms, doubling to 1 s), resuming
/// after the bytes already written; meanwhile lines queue up and new requests are refused with
/// `503` once past the limit, and once the sink takes writes again every line is written, in
/// order. Failures are reported through `tracing` (target `secure_api::audit`, at most every
/// 10 s) and the recovery once. A writer that panics ends the writer thread: the log then stays
/// backed up (every new request `503`) until the process restarts. Dropping the last clone writes every queued line and closes the
/// file (waiting at most 10 s for a sink that takes nothing, then reporting the lines not
/// written, so a stalled or failing sink cannot hold a shutdown); [`flush`](Self::flush) writes
/// them now.
///
/// Set it with [`AuditConfig::log_to`](crate::audit::AuditConfig::log_to).
///
/// # Examples
/// ```
/// use secure_api::{audit::AuditConfig, Security, audit::AuditLog};
///
/// let path = std::env::temp_dir().join(format!("audit-doc-{}.log", std::process::id()));
/// let log = AuditLog::to_file(&path)?;
/// let security = Security::builder().audit(AuditConfig::new().log_to(log.clone())).build();
/// # drop(security);
/// log.flush();
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct AuditLog(Arc<Handle>);

impl AuditLog {
    /// Appends to the file at `path`, creating it if needed (an audit log is never truncated).
    ///
    /// # Errors
    /// When the file cannot be opened for appending, or the writer thread cannot start.
    pub fn to_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Self::start(file, path.display().to_string())
    }

    /// Writes to `writer` (standard output, a pipe, a socket...).
    ///
    /// # Errors
    /// When the writer thread cannot start.
    ///
    /// # Examples
    /// ```
    /// let log = secure_api::audit::AuditLog::to_writer(std::io::stdout())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn to_writer(writer: impl Write + Send + 'static) -> io::Result<Self> {
        Self::start(writer, "a writer".to_owned())
    }

    fn start(writer: impl Write + Send + 'static, target: String) -> io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            writer_wake: Condvar::new(),
            progress: Condvar::new(),
            limit: AtomicUsize::new(MAX_QUEUED_BYTES),
            backed_up: AtomicBool::new(false),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("secure-api-audit".to_owned())
                .spawn(move || write_batches(&shared, writer))?
        };
        Ok(Self(Arc::new(Handle { shared, thread: Mutex::new(Some(thread)), target })))
    }

    /// How many bytes of lines may wait for the sink before new requests are refused with `503`
    /// (default 8 MiB, at least 4 KiB): see [the type's docs](Self).
    ///
    /// ```
    /// let log = secure_api::audit::AuditLog::to_writer(std::io::sink())?.max_queued_bytes(1024 * 1024);
    /// assert!(!log.is_backed_up());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn max_queued_bytes(self, bytes: usize) -> Self {
        self.0.shared.limit.store(bytes.max(MIN_QUEUED_BYTES), Ordering::Relaxed);
        self
    }

    /// Whether more than [`max_queued_bytes`](Self::max_queued_bytes) wait for the sink: the
    /// security layer then refuses new requests with `503`.
    pub fn is_backed_up(&self) -> bool {
        self.0.shared.backed_up.load(Ordering::Relaxed)
    }

    /// Queues one line (it must end with a newline). Never waits for the sink.
    pub(crate) fn push(&self, line: &[u8]) {
        let shared = &self.0.shared;
        let limit = shared.limit.load(Ordering::Relaxed);
        let mut queue = shared.lock();
        if queue.lines.len() >= limit.saturating_mul(2) && !queue.writer_gone {
            // The layer refuses new requests past `limit`; this is the lines of requests that
            // were admitted before, and of the refusals, still arriving. Bounded memory wins.
            queue.overflow.record(1, "the audit log's sink is not keeping up; audit lines are lost");
            return;
        }
        if queue.writer_gone {
            // The writer thread died (a panicking `Write` implementation): nothing will ever
            // write this line, and holding it would grow memory without bound. Said once.
            if !queue.loss_reported {
                queue.loss_reported = true;
                tracing::error!(target: "secure_api::audit", "the audit log's writer stopped; audit lines are lost");
            }
            return;
        }
        queue.lines.extend_from_slice(line);
        queue.pushed += 1;
        if queue.lines.len() >= limit {
            shared.backed_up.store(true, Ordering::Relaxed);
        }
        // Wake the writer only when it sleeps without a deadline (the queue was empty) or a
        // batch is full: one wake-up per batch, not a system call per line.
        // (A batch is smaller under a small limit, so a healthy sink never backs up in a burst.)
        let full = queue.lines.len() >= BATCH_BYTES.min(limit / 2);
        if queue.writer_idle || (full && !queue.writer_woken) {
            queue.writer_idle = false;
            queue.writer_woken = true;
            drop(queue);
            shared.writer_wake.notify_one();
        }
    }

    /// Returns once every line queued before the call is written, or at once while the sink
    /// refuses writes (they are retried in the background; see [the type's docs](Self)).
    pub fn flush(&self) {
        let shared = &self.0.shared;
        let mut queue = shared.lock();
        let target = queue.pushed;
        queue.flush_requested = true;
        queue.writer_idle = false;
        shared.writer_wake.notify_one();
        while queue.written < target && !queue.writer_gone && !queue.sink_failing {
            queue.waiting += 1;
            queue = shared.progress.wait(queue).unwrap_or_else(PoisonError::into_inner);
            queue.waiting -= 1;
        }
    }
}

/// Two handles are equal when they write to the same log.
impl PartialEq for AuditLog {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AuditLog {}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog").field("target", &self.0.target).finish_non_exhaustive()
    }
}

/// Owned by the clones of one [`AuditLog`]; the last one to go stops the writer.
struct Handle {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    target: String,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        queue.closing = true;
        self.shared.writer_wake.notify_one();
        // A sink that takes nothing would hold the server's shutdown for good: wait a bounded
        // time for the last lines, then leave the writer thread behind and say what was lost.
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        while !queue.writer_gone {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::error!(
                    target: "secure_api::audit",
                    lines_not_written = queue.pushed - queue.written,
                    "the audit log's sink took no lines for {CLOSE_TIMEOUT:?} while closing; giving up on them"
                );
                return;
            }
            queue.waiting += 1;
            queue = self.shared.progress.wait_timeout(queue, left).unwrap_or_else(PoisonError::into_inner).0;
            queue.waiting -= 1;
        }
        drop(queue);
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

struct Shared {
    queue: Mutex<Queue>,
    /// The writer waits here for lines.
    writer_wake: Condvar,
    /// `flush` waits here for the writer.
    progress: Condvar,
    /// See [`AuditLog::max_queued_bytes`].
    limit: AtomicUsize,
    /// More than `limit` bytes are queued: read on every request without the lock.
    backed_up: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere while holding the lock leaves the queue consistent (every update is
        // a single append or swap), so keep logging.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Queue {
    lines: Vec<u8>,
    /// Lines queued and lines written (or lost to a write error) since the start.
    pushed: u64,
    written: u64,
    /// The writer sleeps until woken (nothing queued).
    writer_idle: bool,
    /// A wake-up is already on its way.
    writer_woken: bool,
    flush_requested: bool,
    closing: bool,
    writer_gone: bool,
    /// The loss of lines after the writer stopped was reported.
    loss_reported: bool,
    /// The sink's last write failed; the writer is retrying it.
    sink_failing: bool,
    /// Threads waiting on `progress`.
    waiting: usize,
    /// Lines dropped past twice the limit.
    overflow: LossReport,
}

/// The writer thread: waits for lines, lets them gather for up to [`WRITE_INTERVAL`], writes
/// them in one call, and repeats until the last handle is dropped and everything is written.
fn write_batches(shared: &Shared, mut writer: impl Write) {
    // However the loop ends (a panicking writer included), waiters must learn it.
    let _gone = WriterGone(shared);
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    let mut failures = LossReport::default();
    let mut queue = shared.lock();
    loop {
        if queue.lines.is_empty() {
            if queue.closing {
                break;
            }
            queue.writer_idle = true;
            queue = shared.writer_wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
            continue;
        }
        let batch_bytes = BATCH_BYTES.min(shared.limit.load(Ordering::Relaxed) / 2);
        if queue.lines.len() < batch_bytes && !queue.closing && !queue.flush_requested {
            queue.writer_woken = false;
            let (next, _) =
                shared.writer_wake.wait_timeout(queue, WRITE_INTERVAL).unwrap_or_else(PoisonError::into_inner);
            queue = next;
        }
        std::mem::swap(&mut queue.lines, &mut batch);
        // The queue is empty again: requests are admitted while this batch is written (or the
        // writer is stuck writing it, until the queue fills up again).
        shared.backed_up.store(false, Ordering::Relaxed);
        let lines = queue.pushed - queue.written;
        queue.flush_requested = false;
        queue.writer_woken = false;
        drop(queue);

        if !write_until_taken(shared, &mut writer, &batch, &mut failures) {
            // Closing over a sink that refuses every write: say what is lost and stop.
            let mut queue = shared.lock();
            failures.lost_on_close(queue.pushed - queue.written);
            queue.written = queue.pushed;
            return;
        }
        batch.clear();
        // Keep the buffer for the next swap (regrowing it every 20 ms cost reallocations on the
        // request thread); only memory a burst grew past the queue's cap is given back.
        if batch.capacity() > MAX_QUEUED_BYTES {
            batch.shrink_to(BATCH_BYTES);
        }

        queue = shared.lock();
        queue.written += lines;
        if queue.waiting > 0 {
            shared.progress.notify_all();
        }
    }
}

/// Writes `batch` (and flushes), retrying after a failed write until the sink takes it: a full
/// disk, a removed mount, a pipe or socket error. The lines are never dropped for a failure;
/// while they wait, the writer takes no new lines, so the queue fills up and the security layer
/// refuses new requests with `503` (`audit-unavailable`) until the sink works again, the same as
/// for a sink that blocks: nothing runs without its line. Each retry resumes after the bytes
/// already written, so a line is never written twice or cut. `false` when the log is closing
/// and the sink still refuses: the caller gives the lines up.
fn write_until_taken(shared: &Shared, writer: &mut impl Write, batch: &[u8], failures: &mut LossReport) -> bool {
    let mut written = 0;
    let mut pause = RETRY_PAUSE_MIN;
    loop {
        let result = if written < batch.len() {
            match writer.write(batch.get(written..).unwrap_or_default()) {
                Ok(0) => Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(taken) => {
                    written += taken;
                    continue;
                }
                Err(error) => Err(error),
            }
        } else {
            writer.flush()
        };
        let error = match result {
            Ok(()) => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => error,
        };
        failures.record_failure(&error);
        let mut queue = shared.lock();
        queue.sink_failing = true;
        if queue.waiting > 0 {
            // `flush` callers return: the lines cannot be written now.
            shared.progress.notify_all();
        }
        // The whole pause: pushes that wake the writer for a full batch do not shorten it;
        // only closing does.
        let deadline = Instant::now() + pause;
        while !queue.closing {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            queue = shared.writer_wake.wait_timeout(queue, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        if queue.closing {
            return false;
        }
        queue.writer_woken = false;
        drop(queue);
        pause = (pause * 2).min(RETRY_PAUSE_MAX);
    }
    let mut queue = shared.lock();
    if queue.sink_failing {
        queue.sink_failing = false;
        drop(queue);
        failures.recovered();
    }
    true
}

/// Marks the writer as gone when the writer thread ends, normally or by a panic, and wakes
/// every request and `flush` waiting for it.
struct WriterGone<'a>(&'a Shared);

impl Drop for WriterGone<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.writer_gone = true;
        if !queue.closing {
            // Only a panicking `Write` ends the writer before the log closes. Nothing will be
            // written any more: refuse new requests for good (503), as for a sink that stopped,
            // rather than serve them unrecorded. The loss is reported on the next line pushed.
            self.0.backed_up.store(true, Ordering::Relaxed);
            tracing::error!(
                target: "secure_api::audit",
                "the audit log's writer stopped (its writer panicked); new requests are refused with 503 until restart"
            );
        }
        drop(queue);
        self.0.progress.notify_all();
    }
}

/// Reports lost lines and failing writes to the operator without flooding the log.
#[derive(Default)]
struct LossReport {
    last_report: Option<Instant>,
    lost_since_report: u64,
    failures_since_report: u64,
    /// A failure of the current run of failures was reported: its end is reported too.
    failing_reported: bool,
}

impl LossReport {
    /// A write failed; said at most every 10 s, with how many failed since.
    fn record_failure(&mut self, error: &io::Error) {
        self.failures_since_report += 1;
        let due = self.last_report.is_none_or(|at| at.elapsed() >= ERROR_REPORT_INTERVAL);
        if due {
            tracing::error!(
                target: "secure_api::audit",
                failed_writes = self.failures_since_report,
                "cannot write the audit log ({error}); retrying, and new requests are refused with 503 once the \
                 queued lines reach the log's limit"
            );
            self.last_report = Some(Instant::now());
            self.failures_since_report = 0;
            self.failing_reported = true;
        }
    }

    /// The sink took a write again after failing: said once for a run of failures that was
    /// reported (so at most as often as failures are).
    fn recovered(&mut self) {
        if std::mem::take(&mut self.failing_reported) {
            tracing::warn!(target: "secure_api::audit", "the audit log is written again; no line was lost");
        }
        self.failures_since_report = 0;
    }

    /// The log closed while its sink refused writes: `lines` were never written.
    fn lost_on_close(&mut self, lines: u64) {
        tracing::error!(
            target: "secure_api::audit",
            lines_lost = lines,
            "the audit log closed while its sink refused every write; these lines were never written"
        );
    }

    /// `lines` were lost for the reason `message` gives; said at most every 10 s.
    fn record(&mut self, lines: u64, message: &str) {
        self.lost_since_report += lines;
        let due = self.last_report.is_none_or(|at| at.elapsed() >= ERROR_REPORT_INTERVAL);
        if due {
            tracing::error!(target: "secure_api::audit", lines_lost = self.lost_since_report, "{message}");
            self.last_report = Some(Instant::now());
            self.lost_since_report = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A writer the test can read back, counting the write calls.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicUsize>,
    }

    impl Write for Sink {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.bytes.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn flush_writes_every_line_in_order_in_few_calls() {
        let sink = Sink::default();
        let log = AuditLog::to_writer(sink.clone()).unwrap();
        for n in 0..10_000 {
            log.push(format!("{{\"n\":{n}}}\n").as_bytes());
        }
        log.flush();
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        let numbers: Vec<usize> = text
            .lines()
            .map(|line| line.trim_start_matches("{\"n\":").trim_end_matches('}').parse().unwrap())
            .collect();
        assert_eq!(numbers, (0..10_000).collect::<Vec<_>>());
        assert!(sink.writes.load(Ordering::Relaxed) < 1_000, "batched: {} writes", sink.writes.load(Ordering::Relaxed));
    }

    #[test]
    fn a_lone_line_is_written_within_the_interval() {
        let sink = Sink::default();
        let log = AuditLog::to_writer(sink.clone()).unwrap();
        log.push(b"one\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.bytes.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*sink.bytes.lock().unwrap(), b"one\n");
    }

    #[test]
    fn dropping_the_last_clone_writes_what_is_queued() {
        let sink = Sink::default();
        let log = AuditLog::to_writer(sink.clone()).unwrap();
        let clone = log.clone();
        log.push(b"a\n");
        drop(log);
        clone.push(b"b\n");
        drop(clone);
        assert_eq!(*sink.bytes.lock().unwrap(), b"a\nb\n");
    }

    #[test]
    fn concurrent_writers_lose_nothing_and_lines_stay_whole() {
        let sink = Sink::default();
        let log = AuditLog::to_writer(sink.clone()).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let log = log.clone();
                scope.spawn(move || {
                    for n in 0..5_000 {
                        log.push(format!("t{thread}-{n:05}-{}\n", "x".repeat(n % 300)).as_bytes());
                    }
                });
            }
        });
        log.flush();
        let text = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 20_000);
        for line in text.lines() {
            let n: usize = line[3..8].parse().unwrap();
            assert_eq!(line.len(), 9 + n % 300, "{line}");
        }
    }

    /// A disk with `room` bytes left (`None`: as much as needed): a write takes what fits, then
    /// fails with `StorageFull`, as `write(2)` does with `ENOSPC`.
    #[derive(Clone, Default)]
    struct Disk {
        room: Arc<Mutex<Option<usize>>>,
        bytes: Arc<Mutex<Vec<u8>>>,
        failures: Arc<AtomicUsize>,
    }

    impl Write for Disk {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let mut room = self.room.lock().unwrap();
            let taken = room.map_or(data.len(), |room| room.min(data.len()));
            if taken == 0 {
                self.failures.fetch_add(1, Ordering::Relaxed);
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            if let Some(room) = room.as_mut() {
                *room -= taken;
            }
            self.bytes.lock().unwrap().extend_from_slice(&data[..taken]);
            Ok(taken)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A full disk: the lines wait (a line cut by the full disk is finished later, not written
    /// twice), the log backs up (the layer's 503) without a push or a `flush` ever waiting for
    /// the disk, and once there is room again every line is written once, whole, in order.
    #[test]
    fn a_full_disk_backs_up_the_log_and_every_line_is_written_once_there_is_room() {
        let disk = Disk { room: Arc::new(Mutex::new(Some(250))), ..Disk::default() };
        let log = AuditLog::to_writer(disk.clone()).unwrap().max_queued_bytes(8 * 1024);
        let line = |n: usize| format!("{n:05}-{}\n", "x".repeat(93));
        // Fill the disk (two lines and a half), then the queue behind the batch the writer
        // keeps retrying.
        let mut pushed = 0;
        while !(disk.failures.load(Ordering::Relaxed) > 0 && log.is_backed_up()) {
            let started = Instant::now();
            log.push(line(pushed).as_bytes());
            assert!(started.elapsed() < Duration::from_millis(100), "a push waited for the disk");
            pushed += 1;
            assert!(pushed < 1_000, "never backed up");
            if pushed == 1 || pushed % 50 == 0 {
                std::thread::sleep(WRITE_INTERVAL * 3);
            }
        }
        let started = Instant::now();
        log.flush(); // returns at once: the disk refuses writes
        assert!(started.elapsed() < Duration::from_secs(1), "flush waited {:?}", started.elapsed());
        std::thread::sleep(RETRY_PAUSE_MIN * 4);
        assert!(log.is_backed_up(), "still backed up while the disk is full: the retries take nothing");
        assert_eq!(disk.bytes.lock().unwrap().len(), 250, "only what fitted");

        *disk.room.lock().unwrap() = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        while log.is_backed_up() {
            assert!(Instant::now() < deadline, "still backed up after the disk had room");
            std::thread::sleep(Duration::from_millis(10));
        }
        log.push(line(pushed).as_bytes());
        pushed += 1;
        log.flush();
        let text = String::from_utf8(disk.bytes.lock().unwrap().clone()).unwrap();
        let expected: String = (0..pushed).map(line).collect();
        assert!(text == expected, "every line once, whole, in order: {} lines of {pushed}", text.lines().count());
    }

    /// Closing while the sink refuses every write gives the lines up at once (reported), rather
    /// than retrying for good or holding the shutdown.
    #[test]
    fn closing_over_a_failing_sink_gives_up_at_once() {
        let log = AuditLog::to_writer(Broken).unwrap();
        for _ in 0..1_000 {
            log.push(b"lost\n");
        }
        log.flush();
        std::thread::sleep(RETRY_PAUSE_MIN * 2);
        let started = Instant::now();
        drop(log);
        assert!(started.elapsed() < CLOSE_TIMEOUT, "{:?}", started.elapsed());
    }

    struct Panicking;

    impl Write for Panicking {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            panic!("a broken writer");
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A sink that takes nothing until the test opens it, as a stalled pipe reader does.
    struct Stalled {
        open: Arc<(Mutex<bool>, Condvar)>,
        bytes: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stalled {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            let (open, opened) = &*self.open;
            let mut is_open = open.lock().unwrap();
            while !*is_open {
                is_open = opened.wait(is_open).unwrap();
            }
            self.bytes.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_sink_backs_up_the_log_never_blocks_a_push_and_drains_when_it_moves() {
        let open = Arc::new((Mutex::new(false), Condvar::new()));
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let sink = Stalled { open: Arc::clone(&open), bytes: Arc::clone(&bytes) };
        let log = AuditLog::to_writer(sink).unwrap().max_queued_bytes(8 * 1024);
        let line = [b"x".repeat(99), b"\n".to_vec()].concat();
        // The first batch goes to the writer, which is stuck in `write` with it; then the queue
        // fills up to the limit.
        let started = Instant::now();
        let mut pushed = 0;
        while !log.is_backed_up() {
            log.push(&line);
            pushed += 1;
            assert!(pushed < 1_000, "never backed up");
            if pushed == 1 {
                std::thread::sleep(WRITE_INTERVAL * 3);
            }
        }
        // 8 KiB of 100-byte lines after the ones the writer took (the first, unless a loaded
        // machine let more through before its swap).
        assert!((82..=170).contains(&pushed), "{pushed}");
        // Past twice the limit lines are dropped, and still nothing waits.
        for _ in 0..1_000 {
            log.push(&line);
        }
        assert!(started.elapsed() < Duration::from_secs(2), "a push waited for the sink");
        assert!(log.is_backed_up());

        *open.0.lock().unwrap() = true;
        open.1.notify_all();
        log.flush();
        assert!(!log.is_backed_up(), "drained");
        let written = bytes.lock().unwrap();
        assert!(written.split(|byte| *byte == b'\n').all(|piece| piece.is_empty() || piece.len() == 99), "whole lines");
        let lines = written.len() / line.len();
        // Every line pushed before the limit was written; of the 1 000 after it, only those
        // that fit under twice the limit.
        assert!(lines >= pushed && lines <= pushed + 2 * 8 * 1024 / line.len(), "{lines} of {pushed} + 1000");
    }

    #[test]
    fn closing_over_a_stalled_sink_gives_up_after_the_close_timeout() {
        let open = Arc::new((Mutex::new(false), Condvar::new()));
        let sink = Stalled { open: Arc::clone(&open), bytes: Arc::default() };
        let log = AuditLog::to_writer(sink).unwrap();
        log.push(b"never written\n");
        let started = Instant::now();
        drop(log);
        let waited = started.elapsed();
        assert!(waited >= CLOSE_TIMEOUT && waited < CLOSE_TIMEOUT * 10, "{waited:?}");
        // Let the abandoned writer thread finish.
        *open.0.lock().unwrap() = true;
        open.1.notify_all();
    }

    #[test]
    fn a_panicking_writer_never_blocks_a_push_and_backs_up_the_log_for_good() {
        let log = AuditLog::to_writer(Panicking).unwrap();
        assert!(!log.is_backed_up());
        log.push(b"first\n");
        log.flush(); // returns: the writer is gone
        assert!(log.is_backed_up(), "nothing can be recorded any more: the layer refuses requests");
        for _ in 0..(MAX_QUEUED_BYTES / 1024 + 10) {
            log.push(&[b'x'; 1024]); // more than the cap: would wait forever for a dead writer
        }
        assert!(log.is_backed_up());
        drop(log);
    }

    #[test]
    fn appends_to_an_existing_file() {
        let path = std::env::temp_dir().join(format!("secure-api-audit-test-{}.log", std::process::id()));
        std::fs::write(&path, "earlier\n").unwrap();
        let log = AuditLog::to_file(&path).unwrap();
        log.push(b"later\n");
        drop(log);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "earlier\nlater\n");
        std::fs::remove_file(&path).unwrap();
    }
}
