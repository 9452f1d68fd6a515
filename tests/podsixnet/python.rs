//! Real PodSixNet programs for the Rust tests: the Python environment they run in, and a handle on
//! a running one. Shared by `server/tests/podsixnet.rs` and `client/tests/podsixnet.rs` (each
//! includes this file with `#[path]`), next to the Python programs it runs.
//!
//! The environment is made once, under the workspace's `target/` directory:
//! `python3.11 -m venv target/podsixnet-venv`, then `pip install podsixnet==0.11.0` (the version
//! SPEC.md §16 and the reference vectors were made with; it needs Python 3.11 or older, for
//! `asyncore`). Later runs reuse it. Test threads wait on a [`OnceLock`]; test processes (the
//! server's and the client's test binaries may run at the same time) never see a partial one
//! (see `make_environment`). Without network access to PyPI the first run fails and says so:
//! these tests are never skipped.
//!
//! Every wait is bounded ([`LIMIT`], or [`INSTALL_LIMIT`] for pip), and none sleeps: a test reads
//! a program's output until the line it expects.

#![allow(dead_code)] // Each test binary uses a different part.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use wait_timeout::ChildExt;

/// The PodSixNet release the profile was written against.
pub const PODSIXNET_REQUIREMENT: &str = "podsixnet==0.11.0";
/// The longest any single wait for a program may take. It bounds a hang; it measures nothing.
pub const LIMIT: Duration = Duration::from_secs(30);
/// The longest making the environment may take (pip downloads from PyPI).
pub const INSTALL_LIMIT: Duration = Duration::from_secs(600);

/// The directory holding the Python programs (this file's directory).
pub fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/podsixnet")
}

/// The workspace's target directory (the parent of the tests' scratch directory).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("CARGO_TARGET_TMPDIR is inside target/").to_path_buf()
}

/// The Python interpreter of an environment with PodSixNet 0.11.0, made on first use.
pub fn podsixnet_python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(make_environment) {
        Ok(python) => python,
        Err(problem) => panic!("{problem}"),
    }
}

fn make_environment() -> Result<PathBuf, String> {
    let target = target_dir();
    let venv = target.join("podsixnet-venv");
    if is_ready(&venv) {
        return Ok(venv.join("bin").join("python"));
    }
    // Made under a name of this process's own and renamed into place when complete: a rename is
    // atomic, so another test process (or a run interrupted half-way) never sees a partial
    // environment. Two processes starting at once both make one and the second rename loses;
    // that costs a second download once, and needs no lock. A venv run as `python -m …` does not
    // depend on where it was made.
    let staging = target.join(format!("podsixnet-venv.{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| format!("cannot remove {}: {e}", staging.display()))?;
    }
    fs::create_dir_all(&target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let base = base_python()?;
    run(Command::new(&base).args(["-m", "venv"]).arg(&staging), "create the Python environment")?;
    let python = staging.join("bin").join("python");
    let pip = run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--timeout",
            "30",
            PODSIXNET_REQUIREMENT,
        ]),
        "install PodSixNet",
    );
    if let Err(problem) = pip {
        let _ = fs::remove_dir_all(&staging);
        return Err(format!(
            "{problem}\n\nThe PodSixNet tests need {PODSIXNET_REQUIREMENT} from PyPI, installed once into {} \
             (later runs reuse it). Check that this machine can reach PyPI (pip's proxy settings, \
             PIP_INDEX_URL), or make it by hand: {} -m venv {0} && {0}/bin/python -m pip install \
             {PODSIXNET_REQUIREMENT} && echo {PODSIXNET_REQUIREMENT} > {0}/{READY_MARKER}",
            venv.display(),
            base.display(),
        ));
    }
    run(
        Command::new(&python).args(["-W", "ignore", "-c", "import asyncore, PodSixNet.Server, PodSixNet.Connection"]),
        "import PodSixNet",
    )?;
    let marker = staging.join(READY_MARKER);
    fs::write(&marker, PODSIXNET_REQUIREMENT).map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    if venv.exists() && !is_ready(&venv) {
        // Left by an older layout or by hand, and incomplete.
        fs::remove_dir_all(&venv).map_err(|e| format!("cannot remove {}: {e}", venv.display()))?;
    }
    if let Err(error) = fs::rename(&staging, &venv) {
        let _ = fs::remove_dir_all(&staging);
        if !is_ready(&venv) {
            return Err(format!("cannot move the Python environment into {}: {error}", venv.display()));
        }
        // Another test process put its own in place first.
    }
    Ok(venv.join("bin").join("python"))
}

/// The file that marks a complete environment, holding [`PODSIXNET_REQUIREMENT`].
const READY_MARKER: &str = "minichat-ready";

fn is_ready(venv: &Path) -> bool {
    fs::read_to_string(venv.join(READY_MARKER)).is_ok_and(|r| r.trim() == PODSIXNET_REQUIREMENT)
        && venv.join("bin").join("python").exists()
}

/// A Python that PodSixNet 0.11.0 runs on: it needs `asyncore`, which Python 3.12 removed.
fn base_python() -> Result<PathBuf, String> {
    let check = "import sys; sys.exit(0 if sys.version_info[:2] <= (3, 11) else 1)";
    for candidate in ["python3.11", "python3"] {
        let fits = Command::new(candidate)
            .args(["-c", check])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if fits {
            return Ok(PathBuf::from(candidate));
        }
    }
    Err("the PodSixNet tests need Python 3.11 or older (PodSixNet 0.11.0 uses asyncore, removed in 3.12): \
         neither python3.11 nor python3 on PATH is one; install python3.11"
        .to_owned())
}

/// Runs `command` to completion within [`INSTALL_LIMIT`]; the error names `what` and shows its output.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot {what}: cannot start {command:?}: {e}"))?;
    let output = collect(child.stdout.take().expect("piped"));
    let errors = collect(child.stderr.take().expect("piped"));
    let status = match child.wait_timeout(INSTALL_LIMIT) {
        Ok(Some(status)) => status,
        Ok(None) | Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("cannot {what}: {command:?} did not finish within {INSTALL_LIMIT:?}"));
        }
    };
    if status.success() {
        return Ok(());
    }
    let output = output.join().unwrap_or_default();
    let errors = errors.join().unwrap_or_default();
    Err(format!("cannot {what}: {command:?} failed ({status})\n{output}{errors}"))
}

fn collect(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stream.read_to_string(&mut all);
        all
    })
}

/// A running Python program of this directory: its stdin to write, its stdout read line by line.
/// Dropping it kills the program if it is still running.
pub struct PythonProgram {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a program ended.
#[derive(Debug)]
pub struct Ended {
    pub code: Option<i32>,
    /// Output lines no `expect` consumed.
    pub rest: Vec<String>,
    pub stderr: String,
}

impl PythonProgram {
    /// Starts `python -u <program> <args…>` in the PodSixNet environment; `name` labels failures.
    pub fn start(name: &str, program: &str, args: &[&str]) -> PythonProgram {
        let python = podsixnet_python();
        let mut child = Command::new(python)
            // Unbuffered, so every line arrives when printed; asyncore's deprecation warning is noise.
            .args(["-u", "-W", "ignore::DeprecationWarning"])
            .arg(programs_dir().join(program))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {program}: {e}"));
        let stdout = child.stdout.take().expect("piped");
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = collect(child.stderr.take().expect("piped"));
        PythonProgram {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            stdout: lines_rx,
            stderr: Some(stderr),
        }
    }

    /// Writes one line to the program's standard input.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap_or_else(|| panic!("{}: input already closed", self.name));
        writeln!(stdin, "{line}").unwrap_or_else(|e| panic!("{}: cannot write to it: {e}", self.name));
        stdin.flush().unwrap_or_else(|e| panic!("{}: cannot write to it: {e}", self.name));
    }

    /// Closes the program's standard input.
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    /// The next output line, within [`LIMIT`].
    pub fn next_line(&mut self) -> String {
        match self.stdout.recv_timeout(LIMIT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("{}: no output line within {LIMIT:?}", self.name),
            Err(RecvTimeoutError::Disconnected) => {
                let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
                panic!("{}: output ended while a line was expected; stderr:\n{stderr}", self.name)
            }
        }
    }

    /// Checks that the next output lines are exactly `expected`, in order.
    pub fn expect(&mut self, expected: &[&str]) {
        for want in expected {
            let got = self.next_line();
            assert_eq!(&got, want, "{}: unexpected output line", self.name);
        }
    }

    /// Reads until a line satisfies `wanted` and returns it.
    pub fn read_until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let mut skipped = Vec::new();
        loop {
            let line = self.next_line();
            if wanted(&line) {
                return line;
            }
            skipped.push(line);
            assert!(skipped.len() < 10_000, "{}: no {what} in {skipped:?}", self.name);
        }
    }

    /// Waits (within [`LIMIT`]) for the program to exit, killing it otherwise, and returns how it
    /// ended.
    pub fn finish(mut self) -> Ended {
        self.stdin = None;
        let status = match self.child.wait_timeout(LIMIT).expect("waiting for a Python program") {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: did not exit within {LIMIT:?}", self.name);
            }
        };
        let mut rest = Vec::new();
        loop {
            match self.stdout.recv_timeout(LIMIT) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("{}: output did not end within {LIMIT:?}", self.name),
            }
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        Ended { code: status.code(), rest, stderr }
    }
}

impl Drop for PythonProgram {
    fn drop(&mut self) {
        // A failed test must not leave a process behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `chat_client.py`: a PodSixNet client connected to `addr`, printing every event as JSON.
pub fn chat_client(name: &str, addr: &str) -> PythonProgram {
    let mut client = PythonProgram::start(name, "chat_client.py", &[addr]);
    // The library's own event once the socket is connected, then the server's first frame.
    client.expect(&[r#"{"action": "socketConnect"}"#, r#"{"action": "connected"}"#]);
    client
}

/// `course_server.py` on an ephemeral loopback port, and its address once it listens.
pub fn course_server() -> (PythonProgram, String) {
    let mut server = PythonProgram::start("course_server.py", "course_server.py", &["127.0.0.1:0"]);
    let ready = server.next_line();
    let addr = ready
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("course_server.py: expected its ready line, got {ready:?}"))
        .to_owned();
    (server, addr)
}

/// A JSON string literal for `s`, for writing frames to `chat_client.py` and for expected lines
/// (Python's `json.dumps(..., ensure_ascii=False)` writes the same for the texts the tests use).
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
