//! The server core's fan-out, with no I/O: what one `MSG` costs per recipient, and what encoding
//! a broadcast costs once. `cargo bench -p minichat-server`.
//!
//! Each iteration is a burst of messages from one member: the core frames and parses them,
//! encodes each relay once and queues it for every member; then every queue is drained into a
//! scratch buffer, as the kernel copies what the adapter writes. Throughput is reported in
//! deliveries (messages × recipients), so the figure per element is the cost of one delivery.
//! A burst of 1 is a quiet room (every message written before the next); under load a write
//! carries tens of messages (BENCHMARKS.md: 50-90 in W1 and W2), hence the burst of 32.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use minichat_protocol::{Nick, ServerMessage, Text};
use minichat_server::Config;
use minichat_server::core::{ConnId, Server};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A core with `members` registered clients, every queue drained.
fn room(members: usize) -> (Server, Vec<ConnId>, Instant) {
    let config =
        Config { max_clients: members + 1, max_per_address: 0, msg_rate: 0, max_queue: 4 << 20, ..Config::default() };
    let mut core = Server::new(&config).expect("a valid configuration");
    let now = Instant::now();
    let ids: Vec<ConnId> = (0..members)
        .map(|i| {
            let id = core.connect(PEER, now);
            core.receive(id, format!("USER member{i}\n").as_bytes(), now);
            id
        })
        .collect();
    drain(&mut core, &ids, &mut Vec::new());
    (core, ids, now)
}

/// Writes every queue out: copies its bytes to `sink` (the kernel's part) and tells the core.
fn drain(core: &mut Server, ids: &[ConnId], sink: &mut Vec<u8>) -> usize {
    let mut bytes = 0;
    for &id in ids {
        sink.clear();
        for piece in core.output(id) {
            sink.extend_from_slice(&piece);
        }
        core.written(id, sink.len());
        bytes += sink.len();
    }
    bytes
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    group.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    // A 64-byte text, as in the load workloads.
    let line = format!("MSG {}\n", "x".repeat(64));
    let mut sink = Vec::new();
    for burst in [1, 32] {
        let input = line.repeat(burst);
        for members in [10, 100, 1000] {
            let (mut core, ids, now) = room(members);
            group.throughput(Throughput::Elements((burst * members) as u64));
            let name = format!("burst_of_{burst}_to_every_member");
            group.bench_with_input(BenchmarkId::new(name, members), &members, |b, _| {
                b.iter(|| {
                    core.receive(ids[0], black_box(input.as_bytes()), now);
                    black_box(drain(&mut core, &ids, &mut sink))
                })
            });
        }
    }
    group.finish();
}

fn encode_once(c: &mut Criterion) {
    let message = ServerMessage::Msg {
        from: Nick::new("member0").expect("a valid nick"),
        text: Text::new("x".repeat(64)).expect("a valid text"),
    };
    c.bench_function("encode_broadcast_once", |b| b.iter(|| black_box(&message).to_bytes()));
}

criterion_group!(benches, fanout, encode_once);
criterion_main!(benches);
