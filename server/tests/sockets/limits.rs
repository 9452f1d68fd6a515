//! The connection limits and the output bound over real sockets (R-LIMIT-1 … R-LIMIT-3).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc;

use minichat_server::Config;
use socket2::{Domain, Socket, Type};

use crate::support::{Client, WAIT, config, start};

#[test]
fn a_connection_over_max_clients_gets_server_full_and_bye_and_the_others_are_unaffected() {
    let server = start(Config { max_clients: 3, ..config() });
    let addr = server.local_addr();
    let mut a = Client::register(addr, "a");
    let mut b = Client::register(addr, "b");
    let mut c = Client::hello(addr, "c");
    a.expect("JOIN b");
    let mut refused = Client::connect(addr, "refused");
    refused.expect_error("SERVER_FULL");
    refused.expect("BYE");
    assert_eq!(refused.until_closed(), Vec::<String>::new());
    // The three are still served.
    c.send("USER c");
    c.expect("WELCOME c");
    b.send("MSG still here");
    // b's PONG first: then its message is queued to a as well (R-ORDER-6).
    for client in [&mut b, &mut a] {
        assert_eq!(client.barrier(), ["JOIN c", "MSG b still here"].map(String::from).to_vec(), "{}", client.name);
    }
    // Once one leaves, its slot is free.
    c.send("QUIT");
    assert_eq!(c.until_closed(), ["USERS a b c", "ENDUSERS 3", "MSG b still here", "BYE"].map(String::from).to_vec());
    let mut d = Client::hello(addr, "d");
    d.send("PING ok");
    d.expect("PONG ok");
}

fn connect_from(ip: Ipv4Addr, server: SocketAddr, name: &str) -> Option<Client> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((ip, 0)).into()).ok()?;
    socket.connect(&server.into()).unwrap();
    Some(Client::from_stream(TcpStream::from(socket), name))
}

#[test]
fn a_connection_over_max_per_address_gets_too_many_connections() {
    let server = start(Config { max_per_address: 2, ..config() });
    let addr = server.local_addr();
    let _a = Client::hello(addr, "a");
    let mut b = Client::hello(addr, "b");
    let mut third = Client::connect(addr, "third");
    third.expect_error("TOO_MANY_CONNECTIONS");
    third.expect("BYE");
    assert_eq!(third.until_closed(), Vec::<String>::new());
    b.send("PING ok");
    b.expect("PONG ok");
    // Another address has its own count (127.0.0.2 is loopback too on Linux).
    let mut other = connect_from(Ipv4Addr::new(127, 0, 0, 2), addr, "other").expect("127.0.0.2 is usable");
    assert!(other.line().starts_with("HELLO "));
}

/// What the reading clients of the slow-consumer test tell the sender.
enum Progress {
    /// Reader `0` (the sender's own connection) or `1` (the watcher) has read one more message.
    Read(usize),
    /// `LEAVE slow SLOW` arrived; the reader has seen this many messages before it.
    Left(usize, usize),
}

#[test]
fn a_client_that_stops_reading_is_disconnected_and_the_others_keep_receiving() {
    // Large lines reach Q sooner; the operating system's buffers hold a few MB first.
    let server = start(Config { max_line: 65536, ..config() });
    let addr = server.local_addr();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut slow = Client::from_stream(socket.into(), "slow");
    slow.line();
    slow.send("USER slow");
    slow.expect("WELCOME slow");
    while !slow.line().starts_with("ENDUSERS") {}
    let mut sender = Client::register(addr, "sender");
    let mut watcher = Client::register(addr, "watcher");
    sender.expect("JOIN watcher");
    let text = "z".repeat(65536 - 64);
    let line_len = "MSG sender ".len() + text.len();
    let mut echoes = Client::from_stream(sender.stream().try_clone().unwrap(), "sender (reader)");

    let (progress, told) = mpsc::channel();
    let (sent, seen) = std::thread::scope(|s| {
        for (who, reader) in [&mut echoes, &mut watcher].into_iter().enumerate() {
            let progress = progress.clone();
            s.spawn(move || {
                let mut n = 0;
                loop {
                    let line = reader.line();
                    if line == "LEAVE slow SLOW" {
                        return progress.send(Progress::Left(who, n)).unwrap();
                    }
                    assert_eq!(line.len(), line_len, "{}: {line:.40}", reader.name);
                    n += 1;
                    progress.send(Progress::Read(who)).unwrap();
                }
            });
        }
        // The readers stay at most two messages behind, so only slow falls behind by more
        // than Q (nobody else is a slow consumer, however loaded the machine); at most 64 MB.
        let (mut read, mut seen, mut sent) = ([0; 2], [None; 2], 0);
        while seen.iter().any(Option::is_none) && sent < 1000 {
            let caught_up = read.iter().zip(&seen).all(|(&r, done)| done.is_some() || r + 2 >= sent);
            if caught_up && seen.iter().all(Option::is_none) {
                sender.send(&format!("MSG {text}"));
                sent += 1;
                continue;
            }
            match told.recv_timeout(WAIT).expect("the readers keep up") {
                Progress::Read(who) => read[who] += 1,
                Progress::Left(who, n) => seen[who] = Some(n),
            }
        }
        (sent, seen)
    });
    assert!(sent < 1000, "slow was never disconnected");
    // Both saw the same messages before slow left; the rest follows, and the room goes on.
    assert_eq!(seen[0], seen[1]);
    let before = seen[0].unwrap();
    for reader in [&mut echoes, &mut watcher] {
        let rest = reader.barrier();
        assert_eq!(before + rest.len(), sent, "{}: every message, once", reader.name);
        assert!(rest.iter().all(|l| l.len() == line_len), "{}: only messages after the LEAVE", reader.name);
    }
    // The sender's PONG first: then its message is queued to everyone (R-ORDER-6).
    echoes.send("MSG after");
    assert_eq!(echoes.barrier(), ["MSG sender after"]);
    assert_eq!(watcher.barrier(), ["MSG sender after"]);
    // What slow got is a prefix of the conversation, then the server closed it.
    let got = slow.until_closed();
    assert_eq!(got[..2], ["JOIN sender", "JOIN watcher"]);
    let relayed = got[2..].iter().take_while(|l| l.starts_with("MSG sender ")).count();
    assert!(relayed <= before, "slow cannot have received what came after its LEAVE");
    let rest: Vec<&str> = got[2 + relayed..].iter().map(|l| &l[..l.len().min(60)]).collect();
    assert!(
        rest.is_empty() || (rest.len() == 2 && rest[0].starts_with("ERROR SLOW_CONSUMER ") && rest[1] == "BYE"),
        "{rest:?}"
    );
}
