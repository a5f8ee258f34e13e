//! The worker's plugin lives: `keycompat __worker` never calls the plugin
//! itself. It forks a child per life, which loads the plugin and answers
//! requests (`serve.rs`), and relays frames between the coordinator and
//! that child. When the child dies during a request, the worker tells the
//! coordinator how it ended, what it wrote to stderr, and which item's call
//! it was in (a word of shared memory, [`CallingSlot`]), and goes on with
//! the next life at once; after a `Confirm`, it first runs that item alone
//! in a fresh life and, when it fails there too, goes on with the rest of
//! the request itself (`confirm.rs`).
//!
//! Why: a crashing input used to cost a new worker (an exec of keycompat,
//! its dynamic linking, a `dlopen` and a hello: milliseconds of CPU) and,
//! when several items were unanswered, one more per suspect re-run alone. A
//! fork of this small process and a `dlopen` cost a fraction of that, and
//! knowing the item being called leaves one suspect to re-run alone. A
//! plugin that crashes on many inputs then costs little more than one that
//! does not.
//!
//! The first life loads the plugin and, when it safely can, becomes the
//! plugin's zygote (`zygote.rs`): it then forks every later life, with the
//! plugin loaded and an instance created but no call made, and the worker
//! keeps such lives spare (forked two at a time, so a crash and its run
//! alone wake the zygote once), so the life that runs a suspect alone or
//! the rest of a request is there before it is needed. Otherwise each life is
//! forked by the worker *before* the plugin is loaded and loads it anew, so
//! no plugin thread, lock or state crosses a fork. Either way each life
//! starts as a freshly started worker would. The first life's ready (or
//! load failure) is the worker's; a first life that dies while loading
//! makes the worker end the same way, so the coordinator reports a load
//! crash as it always did. A call that runs past the timeout is the
//! worker's to end (`watch.rs`): it kills that life and tells the
//! coordinator which item hung. A worker that stops answering is the
//! coordinator's: it kills the worker's process group, every plugin
//! process included.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::calling::CallingSlot;
use super::confirm::{
    Confirm, Outcome, Run, await_alone, ending_words, item_ranges, part_of, read_confirm,
};
use super::ending::Ending;
use super::life::{Life, Recv, put_frame};
use super::serve::{Channel, ReadFrame, read_frame, read_hello};
use super::watch::{CallWatch, Look};
use super::wire::{self, Blamed, LifeEnded, Reader};
use super::zygote::Zygote;
use crate::exit::worker as exit_code;

/// How many spare lives the zygote forks at a time.
const SPARES: usize = 2;

/// Runs the worker: the hello, then every request, each in the current
/// plugin life. Returns the worker's exit code.
pub(super) fn supervise(channel: &mut Channel) -> Result<i32, String> {
    let Some((hello, said)) = read_hello(&mut channel.input)? else {
        return Ok(exit_code::OK);
    };
    let calling = CallingSlot::new()
        .map_err(|e| format!("cannot share memory with the plugin process: {e}"))?;
    let mut first = Life::start(channel, &calling, &hello, true)
        .map_err(|e| format!("cannot start the plugin process: {e}"))?;
    match first.recv() {
        Ok(frame) => {
            write_frame(&mut channel.output, &frame)?;
            match frame.first() {
                Some(&wire::TAG_READY) => {}
                Some(&wire::TAG_LOAD_FAILED) => {
                    first.close();
                    return Ok(exit_code::LOAD_FAILED);
                }
                _ => {
                    first.close();
                    return Ok(exit_code::PROTOCOL);
                }
            }
        }
        Err(_) => {
            let (ending, _) = first.end();
            return Ok(end_like(ending));
        }
    }
    first.ready_pending = false;
    let zygote = first.control.take().and_then(Zygote::join);
    let mut workers = Lives {
        channel,
        calling: &calling,
        hello: &hello,
        progress: said.progress,
        timeout: said.timeout,
        current: None,
        spares: VecDeque::new(),
        zygote: None,
        zygote_process: None,
    };
    match zygote {
        Some(z) => {
            // The first plugin process forks the lives from now on: the
            // first of them, and a spare, start at once.
            workers.zygote = Some(Rc::new(RefCell::new(z)));
            workers.zygote_process = Some(first);
            workers.next_life();
        }
        None => workers.current = Some(first),
    }
    let mut confirm = None;
    loop {
        let request = match read_frame(&mut workers.channel.input) {
            Ok(ReadFrame::Frame(f)) => f,
            Ok(ReadFrame::Eof) => {
                workers.shut_down();
                return Ok(exit_code::OK);
            }
            Err(e) => return Err(format!("reading a request: {e}")),
        };
        match request.first() {
            Some(&wire::TAG_FRESH) => workers.fresh(),
            Some(&wire::TAG_CONFIRM) => confirm = read_confirm(&request),
            _ => workers.answer(&request, confirm.take())?,
        }
    }
}

/// The worker's state between requests.
struct Lives<'a> {
    channel: &'a mut Channel,
    calling: &'a CallingSlot,
    hello: &'a [u8],
    /// How often a busy worker tells the coordinator it is alive.
    progress: Duration,
    /// How long one plugin call may run (see `watch.rs`).
    timeout: Duration,
    /// The plugin child, when one is running (or starting).
    current: Option<Life>,
    /// Lives forked ahead, which served nothing (with a zygote only).
    spares: VecDeque<Life>,
    /// The plugin's zygote, which forks the lives, when the first plugin
    /// process became one (`zygote.rs`).
    zygote: Option<Rc<RefCell<Zygote>>>,
    /// That first process, to reap at the end.
    zygote_process: Option<Life>,
}

impl Lives<'_> {
    /// The next request runs in a life that served nothing before.
    fn fresh(&mut self) {
        if let Some(life) = self.current.take_if(|l| l.served) {
            life.close();
            self.next_life();
        }
    }

    /// Runs one request in the current life (starting one if needed) and
    /// relays its answers; a death is told with a life-ended message (or,
    /// after a `Confirm`, with the outcome of the item run alone, and the
    /// rest of the request goes on in a fresh life).
    fn answer(&mut self, request: &[u8], confirm: Option<Confirm>) -> Result<(), String> {
        let mut confirm = confirm;
        let Some(mut life) = self.ready_life(&mut confirm)? else {
            return Ok(());
        };
        // A request that does not decode is the life's to refuse.
        let mut run = Run::new(request, confirm);
        self.calling.leave();
        life.served = true;
        if life.send(request).is_err() {
            return self.died(life, "", run.as_mut()).map(drop);
        }
        let mut watch = CallWatch::new(self.timeout, Instant::now());
        let mut told = Instant::now();
        loop {
            let received = life.recv_until(run.is_some().then(|| watch.due()));
            match received {
                Err(Recv::TimedOut) => {}
                Ok(frame) => {
                    told = Instant::now();
                    let results = frame.first() == Some(&wire::TAG_RESULTS);
                    let (count, done) = if results {
                        let Some(header) = results_header(&frame) else {
                            life.kill();
                            let what = "a results frame that does not decode".into();
                            return self.garbage(life, what);
                        };
                        header
                    } else {
                        (0, false)
                    };
                    match run.as_mut() {
                        Some(run) if results => self.relay(run, frame, count)?,
                        _ => write_frame(&mut self.channel.output, &frame)?,
                    }
                    if done {
                        self.current = Some(life);
                        return Ok(());
                    }
                    if !results {
                        // The child gave up (an error message): the
                        // coordinator takes the worker for broken.
                        life.kill();
                        life.end();
                        return Ok(());
                    }
                }
                Err(Recv::Closed) => match self.died(life, "", run.as_mut())? {
                    Some(next) => {
                        life = next;
                        watch.restart(Instant::now());
                    }
                    None => return Ok(()),
                },
                Err(Recv::Garbage(what)) => {
                    life.kill();
                    return self.garbage(life, what);
                }
            }
            // After the answers that came are relayed: a hang is the call
            // still running now.
            if let Some(run) = run.as_mut() {
                let now = Instant::now();
                match watch.look(self.calling.current(), now) {
                    Look::Hung(c) => return self.hung(life, c, run),
                    Look::Running if now.duration_since(told) >= self.progress => {
                        keep_alive(&mut self.channel.output, run.before + run.answered)?;
                        told = now;
                    }
                    Look::Running | Look::Nothing => {}
                }
            }
        }
    }

    /// Relays a results frame of the current life's part of `run`: its
    /// first answer counts on from the answers relayed before that part.
    fn relay(&mut self, run: &mut Run<'_>, mut frame: Vec<u8>, count: usize) -> Result<(), String> {
        if run.before > 0 {
            let first = results_first(&frame).unwrap_or(0) as usize + run.before;
            frame[1..5].copy_from_slice(&(first as u32).to_le_bytes());
        }
        write_frame(&mut self.channel.output, &frame)?;
        run.answered += count;
        if count > 0
            && let Some(confirm) = &mut run.confirm
        {
            // Answers received: the coordinator's count starts again.
            confirm.in_a_row = 0;
        }
        Ok(())
    }

    /// The current life, ready for a request (or a new one); `None` once
    /// the coordinator was told why there is none. A life found dead
    /// meanwhile is told as an idle death, which `confirm` counts as the
    /// coordinator does.
    fn ready_life(&mut self, confirm: &mut Option<Confirm>) -> Result<Option<Life>, String> {
        loop {
            let started = match self.current.take() {
                Some(life) => Ok(life),
                None => self.start_life(),
            };
            let mut life = match started.and_then(|life| self.started(life)) {
                Ok(life) => life,
                Err(e) => {
                    self.tell(LifeEnded {
                        idle: false,
                        calling: None,
                        garbage: false,
                        timed_out: false,
                        ending: format!("cannot start a new plugin process: {e}"),
                        quote: String::new(),
                    })?;
                    return Ok(None);
                }
            };
            if !life.ready_pending && life.has_exited() {
                // Died between requests (a plugin thread, a signal from
                // outside): no item is concerned; go on in a fresh life.
                let (ending, quote) = life.end();
                self.tell(LifeEnded {
                    idle: true,
                    calling: None,
                    garbage: false,
                    timed_out: false,
                    ending: ending.describe(),
                    quote,
                })?;
                if let Some(c) = confirm {
                    c.in_a_row += 1;
                }
                self.next_life();
                continue;
            }
            if life.ready_pending {
                match life.recv() {
                    Ok(frame) if frame.first() == Some(&wire::TAG_READY) => {
                        life.ready_pending = false;
                    }
                    Ok(frame) => {
                        let what = match frame.first() {
                            Some(&wire::TAG_LOAD_FAILED) => "failed to load the plugin again",
                            _ => "answered its hello with an unexpected message",
                        };
                        life.kill();
                        let (ending, quote) = life.end();
                        self.tell(LifeEnded {
                            idle: false,
                            calling: None,
                            garbage: false,
                            timed_out: false,
                            ending: format!("a new plugin process {what} ({})", ending.describe()),
                            quote,
                        })?;
                        return Ok(None);
                    }
                    Err(_) => {
                        self.died(life, "while loading the plugin again", None)?;
                        return Ok(None);
                    }
                }
            }
            return Ok(Some(life));
        }
    }

    /// The child closed its end: it died (or is killed now). Tells how,
    /// with the item it was calling, and goes on with the next life. After
    /// a `Confirm`, first runs that item alone in a fresh life and, when it
    /// fails there too, goes on with the rest of the request in another:
    /// returns that life, which was sent it.
    fn died(
        &mut self,
        life: Life,
        detail: &str,
        run: Option<&mut Run<'_>>,
    ) -> Result<Option<Life>, String> {
        // Read before another life calls anything.
        let calling = self.calling.current();
        let Some(run) = run else {
            let (ending, quote) = life.end();
            self.tell(LifeEnded {
                idle: false,
                calling,
                garbage: false,
                timed_out: false,
                ending: ending_words(&ending, detail),
                quote,
            })?;
            self.next_life();
            return Ok(None);
        };
        // The item being called, as the coordinator numbers it.
        let index = calling
            .map(|c| c as usize)
            .filter(|&c| c >= run.answered && c < run.sent.len());
        let position = index.map(|c| run.sent[c]);
        let unanswered = run.sent.len() - run.answered;
        if let Some(confirm) = &mut run.confirm {
            if index.is_some_and(|c| c > run.answered) {
                // Calls before it returned: progress, for the coordinator.
                confirm.in_a_row = 0;
            }
            confirm.in_a_row += 1;
        }
        let confirm = run.confirm.filter(|c| c.in_a_row <= c.max);
        if run.ranges.is_none() && confirm.is_some() {
            run.ranges = item_ranges(run.request);
        }
        let alone = match (confirm, position, &run.ranges) {
            (Some(c), Some(p), Some(ranges)) if unanswered >= 2 => {
                Some((part_of(run.request, ranges, &[p]), c.timeout))
            }
            // With one item unanswered the coordinator blames it at once.
            _ => None,
        };
        let crash = |ending: Ending, quote: String| LifeEnded {
            idle: false,
            calling: position,
            garbage: false,
            timed_out: false,
            ending: ending_words(&ending, detail),
            quote,
        };
        let Some((alone, timeout)) = alone else {
            let (ending, quote) = life.end();
            self.tell(crash(ending, quote))?;
            self.next_life();
            return Ok(None);
        };
        self.next_life();
        let Some(mut fresh) = self.current.take() else {
            // No life to run it in: the coordinator will.
            let (ending, quote) = life.end();
            self.tell(crash(ending, quote))?;
            return Ok(None);
        };
        // The item starts alone at once (a life the zygote forked reads it
        // straight away; one that loads the plugin itself answers its
        // hello first); the dead life is described while it runs.
        self.calling.leave();
        fresh.served = true;
        let mut sent = !fresh.ready_pending && fresh.send(&alone).is_ok();
        let (ending, quote) = life.end();
        let crash = crash(ending, quote);
        if fresh.ready_pending {
            match fresh.recv() {
                Ok(frame) if frame.first() == Some(&wire::TAG_READY) => {
                    fresh.ready_pending = false;
                    sent = fresh.send(&alone).is_ok();
                }
                _ => {
                    fresh.kill();
                    fresh.close();
                    self.tell(crash)?;
                    return Ok(None);
                }
            }
        }
        if !sent {
            // It died before it could read the item: as if it had not
            // been tried (the next request finds it dead).
            self.current = Some(fresh);
            self.tell(crash)?;
            return Ok(None);
        }
        let output = &mut self.channel.output;
        let relayed = run.before + run.answered;
        let keep_alive = || keep_alive(output, relayed);
        let alone = match await_alone(fresh, self.calling, timeout, self.progress, keep_alive)? {
            Outcome::Answered(life) => {
                // Not reproduced alone: the coordinator decides.
                self.current = Some(life);
                self.tell(crash)?;
                return Ok(None);
            }
            Outcome::Failed(alone) => alone,
        };
        // The coordinator counts that death too; with more items left and
        // no death too many, the rest goes on in a fresh life.
        let in_a_row = run.confirm.as_mut().map_or(u32::MAX, |c| {
            c.in_a_row += 1;
            c.in_a_row
        });
        let index = index.unwrap_or(run.answered);
        let rest: Vec<u32> = run.sent[run.answered..]
            .iter()
            .enumerate()
            .filter(|&(k, _)| run.answered + k != index)
            .map(|(_, &p)| p)
            .collect();
        let goes_on = !rest.is_empty() && confirm.is_some_and(|c| in_a_row <= c.max);
        self.channel
            .output
            .write_all(&wire::encode_blamed(&Blamed {
                crash,
                alone,
                goes_on,
            }))
            .map_err(|e| format!("writing to the coordinator: {e}"))?;
        if !goes_on {
            self.next_life();
            return Ok(None);
        }
        let Some(ranges) = &run.ranges else {
            return Ok(None);
        };
        let part = part_of(run.request, ranges, &rest);
        run.before += run.answered;
        run.answered = 0;
        run.sent = rest;
        self.next_life();
        let Some(mut next) = self.ready_life(&mut run.confirm)? else {
            return Ok(None);
        };
        self.calling.leave();
        next.served = true;
        if next.send(&part).is_err() {
            return self.died(next, "", Some(run));
        }
        Ok(Some(next))
    }

    /// The child's call of item `calling` (its numbering) ran past the
    /// timeout: it is killed, and the item gets the timeout without a run
    /// alone (a hang costs one timeout, once; see `watch.rs`).
    fn hung(&mut self, mut life: Life, calling: u32, run: &mut Run<'_>) -> Result<(), String> {
        life.kill();
        let (_, quote) = life.end();
        let c = calling as usize;
        let position = (c >= run.answered && c < run.sent.len()).then(|| run.sent[c]);
        self.tell(LifeEnded {
            idle: false,
            calling: position,
            garbage: false,
            timed_out: true,
            ending: "killed: its call ran past the timeout".into(),
            quote,
        })?;
        self.next_life();
        Ok(())
    }

    /// The child sent something that is not a frame: a protocol failure.
    /// Which item was running is not trusted: the child went on after it.
    fn garbage(&mut self, life: Life, what: String) -> Result<(), String> {
        let (_, quote) = life.end();
        self.tell(LifeEnded {
            idle: false,
            calling: None,
            garbage: true,
            timed_out: false,
            ending: what,
            quote,
        })?;
        self.next_life();
        Ok(())
    }

    /// Makes the next life current: a spare, or a new one (started now, so
    /// it loads while the coordinator reads the news; a failure to start
    /// is met on the next request). With a zygote, spares are forked when
    /// none is left, two at a time.
    fn next_life(&mut self) {
        self.current = match self.spares.pop_front() {
            Some(spare) => Some(spare),
            None => self.start_life().ok(),
        };
        if self.zygote.is_some() && self.spares.is_empty() {
            for _ in 0..SPARES {
                match self.start_life() {
                    Ok(life) => self.spares.push_back(life),
                    Err(_) => break,
                }
            }
        }
    }

    /// A new life: forked by the zygote while there is one, else by the
    /// worker (it then loads the plugin itself).
    fn start_life(&mut self) -> std::io::Result<Life> {
        if let Some(zygote) = self.zygote.as_ref().filter(|z| z.borrow().is_alive())
            && let Ok(life) = Life::spawn(zygote, self.calling, self.progress)
        {
            return Ok(life);
        }
        Life::start(self.channel, self.calling, self.hello, false)
    }

    /// `life`, or, when the zygote could not fork it, a life the worker
    /// forks instead (from then on every life is the worker's: the zygote
    /// is not asked again).
    fn started(&mut self, mut life: Life) -> std::io::Result<Life> {
        if !life.never_started() {
            return Ok(life);
        }
        life.close();
        for spare in self.spares.drain(..) {
            spare.close();
        }
        self.zygote = None;
        Life::start(self.channel, self.calling, self.hello, false)
    }

    /// The coordinator is done: the lives end normally (the zygote reaps
    /// them), then the zygote, then its own process.
    fn shut_down(&mut self) {
        let lives = self.current.take().into_iter().chain(self.spares.drain(..));
        for life in lives.collect::<Vec<_>>() {
            life.close();
        }
        self.zygote = None;
        if let Some(zygote) = self.zygote_process.take() {
            zygote.close();
        }
    }

    fn tell(&mut self, ended: LifeEnded) -> Result<(), String> {
        // Encoded as a whole frame, length included.
        self.channel
            .output
            .write_all(&wire::encode_life_ended(&ended))
            .map_err(|e| format!("writing to the coordinator: {e}"))
    }
}

/// Where a results frame's answers start in its request.
fn results_first(frame: &[u8]) -> Option<u32> {
    let mut r = Reader::new(frame);
    r.u8("tag").ok()?;
    wire::read_results_header(&mut r).ok().map(|h| h.first)
}

/// A results frame's answer count and whether it is its request's last
/// (`None`: it does not decode).
fn results_header(frame: &[u8]) -> Option<(usize, bool)> {
    let mut r = Reader::new(frame);
    r.u8("tag").ok()?;
    wire::read_results_header(&mut r)
        .ok()
        .map(|h| (h.count as usize, h.done))
}

/// Tells the coordinator, which hears nothing while a call runs, that the
/// worker is alive: an empty results frame continuing at answer `first`.
fn keep_alive(output: &mut File, first: usize) -> Result<(), String> {
    let mut frame = wire::start_results(first as u32);
    wire::patch_results(&mut frame, 0, false);
    output
        .write_all(&frame.finish())
        .map_err(|e| format!("writing to the coordinator: {e}"))
}

/// Writes one payload as a frame to the coordinator.
fn write_frame(output: &mut File, payload: &[u8]) -> Result<(), String> {
    put_frame(output, payload).map_err(|e| format!("writing to the coordinator: {e}"))
}

/// Ends this process the way the first plugin child ended (it died while
/// loading the plugin), so the coordinator describes it as before.
fn end_like(ending: Ending) -> i32 {
    let Some(status) = ending.status else {
        return exit_code::PROTOCOL;
    };
    if let Some(sig) = status.signal() {
        // SAFETY: resets one signal to its default action and raises it in
        // this process: the process ends as its child did.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
        return 128 + sig;
    }
    status.code().unwrap_or(exit_code::PROTOCOL)
}
