//! What one client received during a load run: which messages, how often, in what order, and how
//! long each took.
//!
//! Every client is registered before the first message is sent, so SPEC.md R-ORDER-1 says each
//! must receive every message exactly once, and R-ORDER-2 that all receive them in one order. A
//! bit per message tells a first delivery from a duplicate exactly; the highest number seen per
//! sender finds a sender's messages overtaking each other (a server processes a connection's lines
//! in order, R-TRANS-10, so each sender's messages have increasing points in the global order);
//! and the order of a sample of messages, compared across clients afterwards ([`super::order`]),
//! finds clients that disagree about messages of different senders.

use super::stamp::Stamp;

/// How a received stamp was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    /// The first copy of this message at this client.
    First,
    /// A copy this client had already received.
    Duplicate,
    /// A stamp that names no message of the run.
    Stray,
}

/// The receipts of one client.
#[derive(Clone, Debug)]
pub struct Receipts {
    senders: u32,
    messages: u32,
    /// One bit per message, by `seq × K + sender`.
    seen: Vec<u64>,
    /// Per sender: 1 + the highest sequence number received so far (0: none yet).
    highest: Vec<u32>,
    received: u64,
    duplicates: u64,
    out_of_order: u64,
    sample_stride: u64,
    /// Sampled messages in the order they arrived, as `index / stride`.
    sample: Vec<u32>,
    /// Latencies of first deliveries not yet handed to the histogram, in nanoseconds.
    latencies: Vec<u64>,
    last_delivery_ns: Option<u64>,
}

impl Receipts {
    /// Receipts for `senders × messages` messages, sampling every `sample_stride`-th for the order
    /// check.
    pub fn new(senders: u32, messages: u32, sample_stride: u64) -> Receipts {
        let bits = u64::from(senders) * u64::from(messages);
        let words = usize::try_from(bits.div_ceil(64)).expect("the plan bounds the run's size");
        Receipts {
            senders,
            messages,
            seen: vec![0; words],
            highest: vec![0; senders as usize],
            received: 0,
            duplicates: 0,
            out_of_order: 0,
            sample_stride: sample_stride.max(1),
            sample: Vec::new(),
            latencies: Vec::new(),
            last_delivery_ns: None,
        }
    }

    /// Counts one received message, received at `now_ns`.
    pub fn record(&mut self, stamp: Stamp, now_ns: u64) -> Receipt {
        if stamp.sender >= self.senders || stamp.seq >= self.messages {
            return Receipt::Stray;
        }
        let index = u64::from(stamp.seq) * u64::from(self.senders) + u64::from(stamp.sender);
        let (word, bit) = ((index / 64) as usize, 1u64 << (index % 64));
        if self.seen[word] & bit != 0 {
            self.duplicates += 1;
            return Receipt::Duplicate;
        }
        self.seen[word] |= bit;
        self.received += 1;
        let highest = &mut self.highest[stamp.sender as usize];
        if stamp.seq < *highest {
            // A later message of the same sender arrived first.
            self.out_of_order += 1;
        } else {
            *highest = stamp.seq + 1;
        }
        if index % self.sample_stride == 0 {
            self.sample.push(u32::try_from(index / self.sample_stride).expect("the sample is bounded"));
        }
        self.latencies.push(now_ns.saturating_sub(stamp.sent_ns));
        self.last_delivery_ns = Some(self.last_delivery_ns.map_or(now_ns, |t| t.max(now_ns)));
        Receipt::First
    }

    /// Takes the latencies recorded since the last call (nanoseconds, one per first delivery).
    pub fn take_latencies(&mut self) -> std::vec::Drain<'_, u64> {
        self.latencies.drain(..)
    }

    /// Distinct messages received.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Copies of messages received before.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// First deliveries that arrived after a later message of the same sender.
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }

    /// The sampled messages, in the order this client received them.
    pub fn order_sample(&self) -> &[u32] {
        &self.sample
    }

    /// When the last first delivery arrived.
    pub fn last_delivery_ns(&self) -> Option<u64> {
        self.last_delivery_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(sender: u32, seq: u32) -> Stamp {
        Stamp { sender, seq, sent_ns: 100 }
    }

    #[test]
    fn each_message_counts_once_and_copies_are_duplicates() {
        let mut r = Receipts::new(2, 3, 1);
        assert_eq!(r.record(stamp(0, 0), 150), Receipt::First);
        assert_eq!(r.record(stamp(1, 0), 160), Receipt::First);
        assert_eq!(r.record(stamp(0, 0), 170), Receipt::Duplicate);
        assert_eq!((r.received(), r.duplicates(), r.out_of_order()), (2, 1, 0));
        assert_eq!(r.take_latencies().collect::<Vec<_>>(), vec![50, 60]);
        assert_eq!(r.take_latencies().count(), 0);
        assert_eq!(r.last_delivery_ns(), Some(160));
    }

    #[test]
    fn a_message_overtaken_by_a_later_one_of_its_sender_is_out_of_order() {
        let mut r = Receipts::new(2, 4, 1);
        for (sender, seq) in [(0, 0), (0, 2), (1, 0), (0, 1), (0, 3)] {
            assert_eq!(r.record(stamp(sender, seq), 200), Receipt::First);
        }
        assert_eq!(r.out_of_order(), 1, "0:1 after 0:2");
        assert_eq!(r.received(), 5);
    }

    #[test]
    fn stamps_outside_the_run_are_strays() {
        let mut r = Receipts::new(2, 3, 1);
        assert_eq!(r.record(stamp(2, 0), 0), Receipt::Stray);
        assert_eq!(r.record(stamp(0, 3), 0), Receipt::Stray);
        assert_eq!(r.received(), 0);
    }

    #[test]
    fn the_order_sample_keeps_every_strideth_message_in_arrival_order() {
        // Indices: seq × 2 + sender. Stride 3 samples indices 0, 3 (= 1:1) and 6 (= 0:3).
        let mut r = Receipts::new(2, 4, 3);
        for (sender, seq) in [(1, 1), (0, 0), (0, 1), (0, 3), (1, 1)] {
            r.record(stamp(sender, seq), 0);
        }
        assert_eq!(r.order_sample(), &[1, 0, 2]);
    }

    #[test]
    fn the_last_bit_of_a_run_is_tracked() {
        // 65 messages: the 65th is in a second word.
        let mut r = Receipts::new(1, 65, 1);
        assert_eq!(r.record(stamp(0, 64), 0), Receipt::First);
        assert_eq!(r.record(stamp(0, 64), 0), Receipt::Duplicate);
    }
}
