//! Many clients at once: every message reaches everyone, in one global order (R-MSG-1,
//! R-ORDER-1 … R-ORDER-3), over real sockets and the adapter's concurrency.

use std::collections::HashMap;

use crate::support::{Client, config, start};

#[test]
fn fifty_clients_chatting_at_once_all_get_every_message_in_one_order() {
    const CLIENTS: usize = 50;
    const EACH: usize = 20;
    let server = start(config());
    let addr = server.local_addr();
    let clients: Vec<Client> = (0..CLIENTS).map(|i| Client::register(addr, &format!("c{i:02}"))).collect();

    let (streams, _clients): (Vec<Vec<String>>, Vec<Client>) = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                s.spawn(move || {
                    for j in 0..EACH {
                        c.send(&format!("MSG {j} from c{i:02} ✓"));
                    }
                    // Everyone registered before anyone spoke: first the JOINs of those who
                    // came later, then the messages.
                    let mut lines = Vec::new();
                    for later in i + 1..CLIENTS {
                        let join = c.line();
                        assert_eq!(join, format!("JOIN c{later:02}"), "c{i:02}");
                    }
                    while lines.len() < CLIENTS * EACH {
                        lines.push(c.line());
                    }
                    let extra = c.barrier();
                    assert!(extra.is_empty(), "c{i:02} got more than the messages: {extra:?}");
                    // Stay connected until every client is done: a LEAVE would add lines.
                    (lines, c)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a client thread")).collect()
    });

    let first = &streams[0];
    for (i, stream) in streams.iter().enumerate() {
        assert_eq!(stream, first, "c{i:02} and c00 disagree on the order (R-ORDER-2)");
    }
    // Every message is there once, each sender's in the order sent, byte for byte.
    let mut next: HashMap<String, usize> = HashMap::new();
    for line in first {
        let (nick, text) = line.strip_prefix("MSG ").and_then(|r| r.split_once(' ')).expect("a relayed MSG");
        let j = next.entry(nick.to_owned()).or_insert(0);
        assert_eq!(text, format!("{j} from {nick} ✓"));
        *j += 1;
    }
    assert_eq!(next.len(), CLIENTS);
    assert!(next.values().all(|&n| n == EACH));
    server.shutdown().unwrap();
}
