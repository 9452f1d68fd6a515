//! Helpers for the end-to-end tests: the real `minichat` binary in pipe mode, the real server
//! in-process, and a scripted fake server for what a conforming server never does.
//!
//! Every wait is bounded by [`LIMIT`]; none of them sleeps: each waits for a line, an exit or a
//! connection.

#![allow(dead_code)] // Each test file uses a different part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use wait_timeout::ChildExt;

/// The longest any single wait may take before the test fails. Generous: it bounds a hang, it
/// does not measure speed.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The reference server on an ephemeral port, with its default limits.
pub fn start_server() -> minichat_server::ServerHandle {
    let config = minichat_server::Config { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    minichat_server::spawn(config).expect("the reference server starts")
}

/// A `minichat` process in pipe mode: stdin is a pipe we write, stdout is read line by line.
pub struct PipeClient {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a `minichat` process ended.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    /// Standard output lines not consumed by `expect` calls.
    pub rest: Vec<String>,
    pub stderr: String,
}

impl PipeClient {
    /// Starts `minichat <server> <args…>`; `name` labels failures.
    pub fn start(name: &str, server: &str, args: &[&str]) -> PipeClient {
        PipeClient::run(name, &[&[server], args].concat())
    }

    /// Starts `minichat --podsixnet <server> <args…>`.
    pub fn podsixnet(name: &str, server: &str, args: &[&str]) -> PipeClient {
        PipeClient::run(name, &[&["--podsixnet", server], args].concat())
    }

    fn run(name: &str, args: &[&str]) -> PipeClient {
        let mut child = Command::new(env!("CARGO_BIN_EXE_minichat"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .spawn()
            .expect("minichat starts");
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = stderr.read_to_string(&mut all);
            all
        });
        PipeClient { name: name.to_owned(), stdin: child.stdin.take(), child, stdout: lines_rx, stderr: Some(stderr) }
    }

    /// Types one line.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("input is still open");
        writeln!(stdin, "{line}").expect("minichat reads its input");
        stdin.flush().unwrap();
    }

    /// Ends the input (end of file), as a script's last line does.
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    /// The next output line.
    pub fn next_line(&self) -> String {
        match self.stdout.recv_timeout(LIMIT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("{}: no output line within {LIMIT:?}", self.name),
            Err(RecvTimeoutError::Disconnected) => panic!("{}: output ended while a line was expected", self.name),
        }
    }

    /// Checks that the next output lines are exactly `expected`, in order.
    pub fn expect(&self, expected: &[&str]) {
        for want in expected {
            let got = self.next_line();
            assert_eq!(&got, want, "{}: unexpected output line", self.name);
        }
    }

    /// Waits for the process to exit (killing it if it does not within [`LIMIT`]) and returns
    /// its status, remaining output and standard error.
    pub fn finish(mut self) -> Finished {
        self.stdin = None;
        let status = match self.child.wait_timeout(LIMIT).expect("waiting for minichat") {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: did not exit within {LIMIT:?}", self.name);
            }
        };
        // The process has exited, so its stdout reaches end of file and the reader thread ends.
        let mut rest = Vec::new();
        loop {
            match self.stdout.recv_timeout(LIMIT) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("{}: output did not end within {LIMIT:?}", self.name),
            }
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        Finished { code: status.code(), rest, stderr }
    }
}

impl Drop for PipeClient {
    fn drop(&mut self) {
        // A failed test must not leave a process behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A one-connection fake server that follows a script, to produce what a conforming server
/// never sends (control characters, silence after QUIT, a dropped connection).
pub struct FakeServer {
    pub addr: SocketAddr,
    script: JoinHandle<()>,
}

/// The fake server's end of the connection.
pub struct FakeConnection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl FakeServer {
    /// Listens on an ephemeral port and runs `script` on the first connection.
    pub fn start(script: impl FnOnce(FakeConnection) + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let script = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            let writer = stream.try_clone().unwrap();
            script(FakeConnection { reader: BufReader::new(stream), writer });
        });
        FakeServer { addr, script }
    }

    /// Waits for the script to finish, failing the test if the script failed.
    pub fn join(self) {
        if let Err(panic) = self.script.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl FakeConnection {
    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
    }

    /// The next line the client sent, without its LF.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("the client sends a line in time");
        assert!(n > 0, "the client closed the connection while a line was expected");
        assert!(line.ends_with('\n'), "{line:?} is not terminated by LF");
        line.pop();
        line
    }

    /// Sends HELLO (with line limit `l`) and registers whoever connects under the nick it asks.
    pub fn register(&mut self, l: usize) -> String {
        self.send(&format!("HELLO minichat/1 {l} welcome to the fake server\n"));
        let user = self.line();
        let nick = user.strip_prefix("USER ").unwrap_or_else(|| panic!("expected USER, got {user:?}")).to_owned();
        self.send(&format!("WELCOME {nick}\nUSERS {nick}\nENDUSERS 1\n"));
        nick
    }

    /// Waits until the client closes its side.
    pub fn expect_close(&mut self) {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        assert!(rest.is_empty(), "unexpected bytes before close: {:?}", String::from_utf8_lossy(&rest));
    }
}

/// A port on 127.0.0.1 that refuses connections: bound but never listening, and held for as long
/// as the returned socket lives. A port bound and released at once would do until another test's
/// server, binding port 0 meanwhile, got it from the OS.
pub fn refusing_port() -> (socket2::Socket, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind 127.0.0.1:0");
    let port = socket.local_addr().ok().and_then(|a| a.as_socket()).expect("an IPv4 address").port();
    (socket, port)
}
