//! A blocking line client for tests, and servers started with test limits.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use minichat_server::{Config, ServerHandle};

/// The longest any test waits for one line or one close. A bound, never a synchronisation.
pub const WAIT: Duration = Duration::from_secs(20);

/// A configuration on a free loopback port with flood control and the per-address limit off;
/// tests change what they exercise.
pub fn config() -> Config {
    Config { listen: "127.0.0.1:0".parse().unwrap(), max_per_address: 0, msg_rate: 0, ..Config::default() }
}

pub fn start(config: Config) -> ServerHandle {
    minichat_server::spawn(config).expect("the server starts")
}

/// One connection, read line by line.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    partial: String,
    pings: u32,
    pub name: String,
}

impl Client {
    pub fn connect(addr: SocketAddr, name: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{name}: connect to {addr}: {e}"));
        Client::from_stream(stream, name)
    }

    pub fn from_stream(stream: TcpStream, name: &str) -> Client {
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_write_timeout(Some(WAIT)).unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            partial: String::new(),
            pings: 0,
            name: name.to_owned(),
        }
    }

    /// Connects and checks the greeting (R-REG-1).
    pub fn hello(addr: SocketAddr, name: &str) -> Client {
        let mut c = Client::connect(addr, name);
        let hello = c.line();
        assert!(hello.starts_with("HELLO minichat/1 "), "{name}: {hello:?}");
        c
    }

    /// Connects and registers `nick`; returns once the whole user list has arrived.
    pub fn register(addr: SocketAddr, nick: &str) -> Client {
        let mut c = Client::hello(addr, nick);
        c.send(&format!("USER {nick}"));
        c.expect(&format!("WELCOME {nick}"));
        while !c.line().starts_with("ENDUSERS ") {}
        c
    }

    pub fn send(&mut self, line: &str) {
        self.send_bytes(format!("{line}\n").as_bytes());
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let name = &self.name;
        self.writer.write_all(bytes).unwrap_or_else(|e| panic!("{name}: write: {e}"));
    }

    /// The next line, or `None` once the server has closed the connection.
    pub fn try_line(&mut self) -> Option<String> {
        match self.reader.read_line(&mut self.partial) {
            Ok(0) => None,
            Ok(_) if self.partial.ends_with('\n') => {
                let line = std::mem::take(&mut self.partial);
                let line = line.strip_suffix('\n').unwrap().to_owned();
                assert!(!line.contains('\r'), "{}: a CR from the server (R-TRANS-3): {line:?}", self.name);
                Some(line)
            }
            Ok(_) => None, // EOF after an incomplete line
            Err(e) if e.kind() == ErrorKind::ConnectionReset => None,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{}: nothing within {WAIT:?} (so far {:?})", self.name, self.partial)
            }
            Err(e) => panic!("{}: read: {e}", self.name),
        }
    }

    /// The next line; the connection must still be open.
    pub fn line(&mut self) -> String {
        let name = self.name.clone();
        self.try_line().unwrap_or_else(|| panic!("{name}: the server closed the connection"))
    }

    #[track_caller]
    pub fn expect(&mut self, expected: &str) {
        let got = self.line();
        assert_eq!(got, expected, "{}", self.name);
    }

    #[track_caller]
    pub fn expect_error(&mut self, code: &str) {
        let got = self.line();
        assert!(got.starts_with(&format!("ERROR {code} ")), "{}: expected ERROR {code}, got {got:?}", self.name);
    }

    /// Reads the lines that come before the server closes the connection.
    pub fn until_closed(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.try_line()).collect()
    }

    /// Sends `PING` and returns every line that arrives before its `PONG` (R-ORDER-6).
    pub fn barrier(&mut self) -> Vec<String> {
        self.pings += 1;
        let token = format!("barrier-{}", self.pings);
        self.send(&format!("PING {token}"));
        let pong = format!("PONG {token}");
        let mut before = Vec::new();
        loop {
            let line = self.line();
            if line == pong {
                return before;
            }
            before.push(line);
        }
    }

    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }
}
