//! The real `minichat-server` binary as a child process, and what `/proc` says about it.
//!
//! The attacks run against the binary users run, not the library on a thread of the test, so that
//! its memory and CPU time can be read apart from the attackers' (`/proc/PID/status`, `/proc/PID/stat`)
//! and its open sockets counted (`/proc/PID/fd`).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minichat_server::Config;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, SysconfVar, sysconf};
use wait_timeout::ChildExt;

/// Lines of the server's log kept for a failure report.
const LOG_TAIL: usize = 200;

/// The command-line flags that give the binary exactly `config`: every parameter is spelled out,
/// so a figure can be reproduced from the printed command alone.
pub fn flags(config: &Config) -> Vec<String> {
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    [
        ("--listen", config.listen.to_string()),
        ("--max-line", config.max_line.to_string()),
        ("--max-clients", config.max_clients.to_string()),
        ("--max-per-address", config.max_per_address.to_string()),
        ("--max-queue", config.max_queue.to_string()),
        ("--msg-rate", config.msg_rate.to_string()),
        ("--msg-burst", config.msg_burst.to_string()),
        ("--register-timeout", ms(config.register_timeout)),
        ("--line-timeout", ms(config.line_timeout)),
        ("--idle-timeout", ms(config.idle_timeout)),
        ("--ping-timeout", ms(config.ping_timeout)),
        ("--shutdown-grace", ms(config.shutdown_grace)),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .collect()
}

/// Memory of the server process, from `/proc/PID/status`.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss: u64,
    /// The highest resident set size so far (`VmHWM`).
    pub peak: u64,
}

/// The running server. Dropping it kills the process (and, if the test is failing, prints the
/// end of its log).
pub struct ServerProcess {
    child: Child,
    pid: Pid,
    addr: SocketAddr,
    command: String,
    log: Arc<Mutex<VecDeque<String>>>,
    log_thread: Option<JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts the binary with `config` and returns once it has announced its address on stdout.
    pub fn start(config: &Config, wait: Duration) -> ServerProcess {
        let binary = env!("CARGO_BIN_EXE_minichat-server");
        let args = flags(config);
        let command = format!("minichat-server {}", args.join(" "));
        let mut child = Command::new(binary)
            .args(&args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));

        let log = Arc::new(Mutex::new(VecDeque::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let log_thread = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    if log.len() == LOG_TAIL {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            })
        };

        // The first stdout line, read on a thread so that a server that never prints it fails
        // the test within `wait` instead of hanging it.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut first = String::new();
            let _ = stdout.read_line(&mut first);
            let _ = tx.send(first);
            // Keep draining, so that the server never blocks on a full pipe.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let mut server = ServerProcess {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            command,
            log,
            log_thread: Some(log_thread),
        };
        let first = rx.recv_timeout(wait).unwrap_or_else(|_| panic!("the server announced no address within {wait:?}"));
        server.addr = first
            .trim_end()
            .strip_prefix("minichat-server listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("the server's first line is not its address: {first:?}"));
        server
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The command line that started it (the binary's name, then every flag).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Panics if the process has exited.
    #[track_caller]
    pub fn assert_alive(&mut self, when: &str) {
        if let Some(status) = self.child.try_wait().expect("waitpid") {
            panic!("the server exited {when}: {status}");
        }
    }

    pub fn memory(&self) -> Memory {
        let status = self.proc_file("status");
        let field = |name: &str| -> u64 {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in /proc/{}/status", self.pid));
            let kib: u64 = line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("unreadable {line:?}"));
            kib * 1024
        };
        Memory { rss: field("VmRSS:"), peak: field("VmHWM:") }
    }

    /// CPU time used so far, user and system, all threads (`utime + stime` of `/proc/PID/stat`).
    pub fn cpu_time(&self) -> Duration {
        let stat = self.proc_file("stat");
        // The fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')').expect("a command name in parentheses") + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields 14 and 15 of proc(5); `rest` starts at field 3.
        let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        let per_second = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as u64;
        Duration::from_nanos(ticks * 1_000_000_000 / per_second)
    }

    /// Open file descriptors: the listener, the runtime's own, and one per connection.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid))
            .unwrap_or_else(|e| panic!("/proc/{}/fd: {e}", self.pid))
            .count()
    }

    /// Waits until the server holds at most `fds` descriptors (it has let go of every attacking
    /// connection), checking every 10 ms, for at most `within`. Returns how long it took, or the
    /// count still open.
    pub fn wait_for_fds(&self, fds: usize, within: Duration) -> Result<Duration, usize> {
        let start = Instant::now();
        loop {
            let open = self.open_fds();
            if open <= fds {
                return Ok(start.elapsed());
            }
            if start.elapsed() > within {
                return Err(open);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server as an operator does (SIGTERM) and returns its exit status and the
    /// totals it logs on the way out (`accepted=… closed: …`).
    pub fn stop(mut self, within: Duration) -> (ExitStatus, String) {
        kill(self.pid, Signal::SIGTERM).expect("SIGTERM to the server");
        let status = self
            .child
            .wait_timeout(within)
            .expect("waitpid")
            .unwrap_or_else(|| panic!("the server did not exit within {within:?} of SIGTERM"));
        if let Some(thread) = self.log_thread.take() {
            let _ = thread.join();
        }
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let totals = log
            .iter()
            .rev()
            .find_map(|line| line.split_once("stats=").filter(|_| line.contains("stopped")).map(|(_, s)| s.to_owned()))
            .unwrap_or_else(|| "(no totals logged)".to_owned());
        (status, totals)
    }

    fn proc_file(&self, name: &str) -> String {
        let mut text = String::new();
        std::fs::File::open(format!("/proc/{}/{name}", self.pid))
            .and_then(|mut f| f.read_to_string(&mut text))
            .unwrap_or_else(|e| panic!("/proc/{}/{name}: {e} (has the server exited?)", self.pid));
        text
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            eprintln!("--- the last {} lines of the server's log ({}) ---", log.len(), self.command);
            for line in log.iter() {
                eprintln!("{line}");
            }
        }
    }
}
