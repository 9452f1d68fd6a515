//! Benchmarks of the protocol crate's hot paths (criterion): what a server does with every byte a
//! client sends (framing, then parsing), with every line it broadcasts (encoding), and with every
//! user list it sends.
//!
//! Run with `cargo bench -p minichat-protocol`; for a quick look,
//! `cargo bench -p minichat-protocol -- --warm-up-time 1 --measurement-time 3`.
//! The workloads are generated from a fixed seed, so every run measures the same bytes.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use minichat_protocol::{
    ClientMessage, Limits, LineFramer, Nick, ServerMessage, Text, Token, encode_user_list, parse_client_line,
};

/// Lines in the client workload: about 1 MB, enough to dwarf per-iteration setup.
const CLIENT_LINES: usize = 10_000;
/// The read size of the client workload: what one `read` of a socket typically returns.
const CHUNK: usize = 4096;

/// xorshift64*: a fixed, dependency-free pseudo-random sequence for reproducible workloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `range`.
    fn pick(&mut self, range: std::ops::RangeInclusive<usize>) -> usize {
        range.start() + (self.next() % (range.end() - range.start() + 1) as u64) as usize
    }

    fn choose<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.pick(0..=items.len() - 1)]
    }
}

#[rustfmt::skip]
const ASCII_WORDS: &[&str] = &[
    "hello", "the", "build", "is", "green", "again", "what", "do", "you", "think", "of", "it", "?", "ok", "lol",
    "see", "you", "later", "deploying", "now", "thanks!", "@bob", "https://example.invalid/x",
];
const UTF8_WORDS: &[&str] =
    &["ça va", "très", "bien", "Привет", "γειά σου", "你好", "こんにちは", "🙂", "🎉", "naïve", "café", "—"];

/// A chat text of `20..=200` bytes; one in five uses multi-byte UTF-8 words.
fn chat_text(rng: &mut Rng) -> Text {
    let target = rng.pick(20..=200);
    let utf8 = rng.pick(0..=4) == 0;
    let mut s = String::new();
    loop {
        let word = if utf8 && rng.pick(0..=1) == 0 { rng.choose(UTF8_WORDS) } else { rng.choose(ASCII_WORDS) };
        if s.len() + 1 + word.len() > 200 {
            break;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(word);
        if s.len() >= target {
            break;
        }
    }
    Text::new(s).expect("a valid text")
}

/// A realistic client stream, as a server reads it: 80 % `MSG`, then `PING`, `PONG`, `USERS` and
/// `USER`; one line in ten ends with CR LF. Returns the bytes and the number of lines.
fn client_stream(lines: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for i in 0..lines {
        let msg = match rng.pick(0..=99) {
            0..=79 => ClientMessage::Msg(chat_text(&mut rng)),
            80..=87 => ClientMessage::Ping(Token::new(&format!("p{i}")).unwrap()),
            88..=91 => ClientMessage::Pong(Token::new(&format!("idle-{i}")).unwrap()),
            92..=95 => ClientMessage::Users,
            _ => ClientMessage::User(Nick::new(&format!("user_{i}")).unwrap()),
        };
        msg.encode(&mut out);
        if rng.pick(0..=9) == 0 {
            out.pop();
            out.extend_from_slice(b"\r\n");
        }
    }
    (out, lines)
}

fn client_input(c: &mut Criterion) {
    let limits = Limits::DEFAULT;
    let (stream, lines) = client_stream(CLIENT_LINES);
    let mut group = c.benchmark_group("client_input");
    group.throughput(Throughput::ElementsAndBytes { elements: lines as u64, bytes: stream.len() as u64 });

    group.bench_function("frame_4k_chunks", |b| {
        b.iter(|| {
            let mut framer = LineFramer::new(limits);
            let mut n = 0;
            for mut chunk in stream.chunks(CHUNK) {
                while let Some(line) = framer.next_line(&mut chunk) {
                    n += black_box(line).is_ok() as usize;
                }
            }
            assert_eq!(n, lines);
        })
    });

    group.bench_function("frame_and_parse_4k_chunks", |b| {
        b.iter(|| {
            let mut framer = LineFramer::new(limits);
            let mut n = 0;
            for mut chunk in stream.chunks(CHUNK) {
                while let Some(line) = framer.next_line(&mut chunk) {
                    let msg = parse_client_line(line.expect("a valid line"), limits);
                    n += black_box(msg).is_ok() as usize;
                }
            }
            assert_eq!(n, lines);
        })
    });
    group.finish();
}

fn server_output(c: &mut Criterion) {
    let mut rng = Rng(7);
    let msg = ServerMessage::Msg { from: Nick::new("alice_42").unwrap(), text: chat_text(&mut rng) };
    let len = msg.to_bytes().len() as u64;
    let mut group = c.benchmark_group("server_output");
    group.throughput(Throughput::ElementsAndBytes { elements: 1, bytes: len });

    // What a server does once per broadcast: encode to shareable bytes, then clone per recipient.
    group.bench_function("encode_msg_broadcast_to_bytes", |b| b.iter(|| black_box(&msg).to_bytes()));

    group.bench_function("encode_msg_into_reused_buffer", |b| {
        let mut buf = BytesMut::with_capacity(1024);
        b.iter(|| {
            buf.clear();
            black_box(&msg).encode(&mut buf);
            black_box(buf.len())
        })
    });
    group.finish();
}

fn user_list(c: &mut Criterion) {
    let limits = Limits::DEFAULT;
    let mut rng = Rng(11);
    let typical: Vec<Nick> =
        (0..1000).map(|i| Nick::new(&format!("{}{i}", &"nickname_long"[..rng.pick(2..=12)])).unwrap()).collect();
    let longest: Vec<Nick> = (0..1000).map(|i| Nick::new(&format!("n{i:0>31}")).unwrap()).collect();
    let mut group = c.benchmark_group("user_list");
    group.throughput(Throughput::Elements(1000));
    for (name, nicks) in [("encode_1000_nicks_of_3_to_15_bytes", &typical), ("encode_1000_nicks_of_32_bytes", &longest)]
    {
        group.bench_function(name, |b| {
            let mut buf = Vec::with_capacity(64 * 1024);
            b.iter(|| {
                buf.clear();
                black_box(encode_user_list(black_box(nicks), limits, &mut buf))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, client_input, server_output, user_list);
criterion_main!(benches);
