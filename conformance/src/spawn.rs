//! Servers the runner starts itself (`--spawn 'COMMAND {port}'`): any program, in any language,
//! started on a free port, waited for until it accepts connections, and stopped afterwards.
//!
//! Because the runner owns the process, it can give a case that needs a server alone (counting
//! connections, filling queues) a fresh one, and test shutdown (SPEC.md §14) by sending SIGTERM.
//!
//! `{podsixnet}` in the command is replaced by a second free port, where the server must accept
//! PodSixNet clients (SPEC.md §16): the MC-PSN cases then run. In the PodSixNet profile, `{port}`
//! is the PodSixNet port unless the command has `{podsixnet}` too.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use minichat_protocol::podsixnet::{NickAction, TERMINATOR, client_value, encode, frame};
use minichat_protocol::{ClientMessage, MAX_MAX_LINE};

use crate::case::Case;
use crate::podsixnet::Profile;
use crate::target::{ServerControl, ServerParams, ServerSource, ServerUnderTest};

/// Where `{podsixnet}` goes in a `--spawn` command.
pub const PODSIXNET_PLACEHOLDER: &str = "{podsixnet}";

/// How long a started server may take to accept its first connection.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A server process started by the runner. Dropping it stops the process.
pub struct SpawnedProcess {
    child: Mutex<Child>,
    command: String,
}

impl SpawnedProcess {
    fn lock(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn exited(&self) -> bool {
        matches!(self.lock().try_wait(), Ok(Some(_)))
    }

    #[cfg(unix)]
    fn terminate(&self) -> Result<(), String> {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let pid = i32::try_from(self.lock().id()).map_err(|e| e.to_string())?;
        kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(|e| format!("sending SIGTERM to {pid} failed: {e}"))
    }

    #[cfg(not(unix))]
    fn terminate(&self) -> Result<(), String> {
        Err("graceful shutdown needs SIGTERM, which only Unix has".into())
    }
}

impl ServerControl for SpawnedProcess {
    fn begin_shutdown(&self) -> Result<(), String> {
        self.terminate()
    }

    fn wait_stopped(&self, limit: Duration) -> bool {
        // std has no wait-with-timeout for a child: poll its exit status.
        let end = Instant::now() + limit;
        loop {
            if self.exited() {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SpawnedProcess {
    fn drop(&mut self) {
        if self.exited() {
            return;
        }
        if self.terminate().is_ok() && self.wait_stopped(Duration::from_secs(10)) {
            return;
        }
        tracing::warn!(command = %self.command, "the server did not stop after SIGTERM; killing it");
        let mut child = self.lock();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Free ports on 127.0.0.1, all different (another program could take one before the server
/// binds it; the startup check then fails with a clear message).
fn free_ports<const N: usize>() -> std::io::Result<[u16; N]> {
    // Held together until all are known, so the OS cannot hand out one port twice.
    let listeners = (0..N).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0; N];
    for (port, l) in ports.iter_mut().zip(&listeners) {
        *port = l.local_addr()?.port();
    }
    Ok(ports)
}

/// Connects, reads the server's first line and leaves with `QUIT`, so the probe connection is
/// gone (and not counted against any limit) before a case starts.
fn probe(addr: SocketAddr) -> std::io::Result<()> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    (&stream).write_all(b"QUIT\n")?;
    let mut rest = Vec::new();
    // Until the server closes (or the read times out): errors here do not matter.
    let _ = std::io::Read::read_to_end(&mut reader, &mut rest);
    Ok(())
}

/// The PodSixNet probe: waits for the server's first frame, then leaves with a `quit` frame.
fn probe_podsixnet(addr: SocketAddr) -> std::io::Result<()> {
    use std::io::Read;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(TERMINATOR.len()).any(|w| w == TERMINATOR) {
        let n = stream.read(&mut buf)?;
        if n == 0 || seen.len() > MAX_MAX_LINE {
            return Err(std::io::Error::other("no PodSixNet frame from the server"));
        }
        seen.extend_from_slice(&buf[..n]);
    }
    let quit = client_value(&ClientMessage::Quit(None), NickAction::Username);
    let payload = encode(&quit).map_err(std::io::Error::other)?;
    stream.write_all(&frame(&payload).map_err(std::io::Error::other)?)?;
    let mut rest = Vec::new();
    // Until the server closes (or the read times out): errors here do not matter.
    let _ = stream.read_to_end(&mut rest);
    Ok(())
}

/// Where a started server listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// For line clients (in the PodSixNet profile without `{podsixnet}`: the PodSixNet port).
    pub addr: SocketAddr,
    pub podsixnet: Option<SocketAddr>,
}

/// Starts `command` (with `{port}` replaced by a free port) and waits until it accepts
/// connections.
pub fn start(command: &str, log: Option<&PathBuf>) -> Result<(SocketAddr, SpawnedProcess), String> {
    start_with(command, log, Profile::Line).map(|(ports, process)| (ports.addr, process))
}

/// Starts `command` with `{port}` (and `{podsixnet}`, if there) replaced by free ports, and waits
/// until it accepts connections on them: lines on the line port, frames on the PodSixNet port.
pub fn start_with(command: &str, log: Option<&PathBuf>, profile: Profile) -> Result<(Ports, SpawnedProcess), String> {
    if !command.contains("{port}") {
        return Err(format!("the --spawn command must contain {{port}} where the port goes: `{command}`"));
    }
    let [port, second] = free_ports().map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let addr = at(port);
    let with_podsixnet = command.contains(PODSIXNET_PLACEHOLDER);
    let ports = match (with_podsixnet, profile) {
        (true, _) => Ports { addr, podsixnet: Some(at(second)) },
        (false, Profile::PodSixNet) => Ports { addr, podsixnet: Some(addr) },
        (false, Profile::Line) => Ports { addr, podsixnet: None },
    };
    let line = command.replace("{port}", &port.to_string()).replace(PODSIXNET_PLACEHOLDER, &second.to_string());
    let (stdout, stderr) = match log {
        Some(path) => {
            let file = File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open the server log {}: {e}", path.display()))?;
            let err = file.try_clone().map_err(|e| e.to_string())?;
            (Stdio::from(file), Stdio::from(err))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    // `exec`, so that the signal reaches the server itself, not a shell around it.
    #[cfg(unix)]
    let mut cmd = {
        let mut c = Command::new("sh");
        c.arg("-c").arg(format!("exec {line}"));
        c
    };
    #[cfg(not(unix))]
    let mut cmd = {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(&line);
        c
    };
    let child = cmd
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start `{line}`: {e}"))?;
    let process = SpawnedProcess { child: Mutex::new(child), command: line.clone() };
    let started = Instant::now();
    let hint = if log.is_some() { "see the server log" } else { "pass --server-log FILE to see its output" };
    loop {
        if let Ok(Some(status)) = process.lock().try_wait() {
            return Err(format!("`{line}` exited ({status}) before accepting connections on {addr}; {hint}"));
        }
        let line_ready = ports.podsixnet == Some(addr) || probe(addr).is_ok();
        if line_ready && ports.podsixnet.is_none_or(|p| probe_podsixnet(p).is_ok()) {
            return Ok((ports, process));
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(format!(
                "`{line}` did not accept connections on {addr} within {} s; does it listen on the port it is given? {hint}",
                STARTUP_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Servers started from one command: one shared by the cases that can share it, and a fresh one
/// for each case that needs a server alone or stops it.
pub struct SpawnedServers {
    command: String,
    params: ServerParams,
    log: Option<PathBuf>,
    profile: Profile,
    shared: OnceLock<Result<(ServerUnderTest, SpawnedProcess), String>>,
}

impl SpawnedServers {
    pub fn new(command: String, params: ServerParams, log: Option<PathBuf>) -> SpawnedServers {
        SpawnedServers { command, params, log, profile: Profile::Line, shared: OnceLock::new() }
    }

    /// Servers checked in `profile`: in the PodSixNet profile, `{port}` is the PodSixNet port
    /// unless the command also has `{podsixnet}`.
    pub fn with_profile(mut self, profile: Profile) -> SpawnedServers {
        self.profile = profile;
        self
    }

    fn start(&self) -> Result<(ServerUnderTest, SpawnedProcess), String> {
        let (ports, process) = start_with(&self.command, self.log.as_ref(), self.profile)?;
        let server = ServerUnderTest {
            addr: ports.addr,
            podsixnet: ports.podsixnet,
            params: self.params.clone(),
            control: None,
        };
        Ok((server, process))
    }
}

impl ServerSource for SpawnedServers {
    fn shared(&self) -> Result<&ServerUnderTest, String> {
        let r = self.shared.get_or_init(|| self.start());
        r.as_ref().map(|(s, _)| s).map_err(Clone::clone)
    }

    fn offers_dedicated(&self, case: &Case) -> bool {
        case.needs_server_alone()
    }

    fn dedicated(&self, _case: &Case) -> Result<ServerUnderTest, String> {
        let (server, process) = self.start()?;
        Ok(ServerUnderTest { control: Some(Box::new(process)), ..server })
    }

    fn known(&self, case: &Case) -> (ServerParams, bool) {
        (self.params.clone(), cfg!(unix) && self.offers_dedicated(case))
    }

    fn offers_podsixnet(&self) -> bool {
        self.profile == Profile::PodSixNet || self.command.contains(PODSIXNET_PLACEHOLDER)
    }
}
