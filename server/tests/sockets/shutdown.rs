//! Graceful shutdown with clients connected (R-SHUT-1, R-SHUT-2).

use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use minichat_server::Config;
use socket2::{Domain, Socket, Type};

use crate::support::{Client, WAIT, config, start};

#[test]
fn shutdown_tells_every_client_and_returns_even_when_one_never_reads() {
    let server =
        start(Config { max_line: 65536, max_queue: 64 << 20, shutdown_grace: Duration::from_millis(500), ..config() });
    let addr = server.local_addr();
    let mut alice = Client::register(addr, "alice");
    let mut bob = Client::register(addr, "bob");
    let mut newcomer = Client::hello(addr, "newcomer");
    // stuck registers, then never reads again while alice fills its buffers: 6 MB is more than
    // the loopback buffers hold, so the server holds output for it when it shuts down.
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stuck = Client::from_stream(TcpStream::from(socket), "stuck");
    stuck.line();
    stuck.send("USER stuck");
    stuck.expect("WELCOME stuck");
    let text = "s".repeat(60_000);
    std::thread::scope(|s| {
        let mut alice_reads = Client::from_stream(alice.stream().try_clone().unwrap(), "alice (reader)");
        let bob = &mut bob;
        s.spawn(move || {
            let mut echoes = 0;
            while echoes < 100 {
                let line = alice_reads.line();
                if line.starts_with("MSG alice ") {
                    echoes += 1;
                } else {
                    assert!(line.starts_with("JOIN "), "{line:.40}");
                }
            }
        });
        s.spawn(move || {
            while bob.line() != "JOIN stuck" {}
            for _ in 0..100 {
                assert!(bob.line().starts_with("MSG alice "));
            }
        });
        for _ in 0..100 {
            alice.send(&format!("MSG {text}"));
        }
    });
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(server.shutdown()).unwrap());
    for client in [&mut bob, &mut newcomer] {
        client.expect_error("SHUTTING_DOWN");
        client.expect("BYE");
        assert_eq!(client.until_closed(), Vec::<String>::new(), "{}: closed, no LEAVE", client.name);
    }
    // alice's reader took her echoes; the notice is next on her connection.
    alice.expect_error("SHUTTING_DOWN");
    alice.expect("BYE");
    done.recv_timeout(WAIT).expect("shutdown returns within the grace period").unwrap();
    // stuck was abandoned: whatever it reads now, the connection ends.
    let got = stuck.until_closed();
    assert!(got.iter().all(|l| !l.starts_with("LEAVE")), "no LEAVE at shutdown");
    // And nobody is listening any more.
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}
