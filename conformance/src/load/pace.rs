//! When a sender may send its next message: a window of messages sent but not yet echoed back,
//! and optionally a fixed rate.
//!
//! The window is closed by the sender's own copy of each message: SPEC.md R-MSG-1 sends it back
//! to its sender at its point in the global order (R-ORDER-3), so an echo proves that the server
//! has taken the message in. A window keeps the server busy without letting its queues grow
//! without bound; a rate measures latency at a load the grader chooses. With a rate, senders are
//! spread evenly over one interval so that they do not all fire at once, and the window still
//! applies: a send the window holds back goes out when a slot frees, and counts as late.
//!
//! Times are nanoseconds on the run's clock, handed in by the caller (sans-IO).

/// The sending schedule of one sender.
#[derive(Clone, Debug)]
pub struct SendPace {
    messages: u32,
    next_seq: u32,
    /// `None`: no window (only with a rate).
    window: Option<u32>,
    in_flight: u32,
    /// `None`: as fast as the window allows.
    interval_ns: Option<f64>,
    /// Where this sender's schedule starts: the start of sending, plus its offset in the interval.
    origin_ns: Option<u64>,
    offset_ns: f64,
    late: u32,
}

impl SendPace {
    /// The schedule of sender `index` of `senders`, sending `messages`; `rate` 0 = no rate.
    pub fn new(messages: u32, window: u32, rate: f64, index: u32, senders: u32) -> SendPace {
        let interval_ns = (rate > 0.0).then(|| 1e9 / rate);
        let offset_ns = interval_ns.map_or(0.0, |iv| iv * f64::from(index) / f64::from(senders.max(1)));
        SendPace {
            messages,
            next_seq: 0,
            window: (window > 0).then_some(window),
            in_flight: 0,
            interval_ns,
            origin_ns: None,
            offset_ns,
            late: 0,
        }
    }

    /// Sending begins now.
    pub fn start(&mut self, now_ns: u64) {
        self.origin_ns = Some(now_ns);
    }

    fn due_ns(&self, seq: u32) -> Option<u64> {
        let origin = self.origin_ns?;
        Some(match self.interval_ns {
            Some(iv) => origin + (self.offset_ns + iv * f64::from(seq)) as u64,
            None => origin,
        })
    }

    /// The number of the message to send now, if the schedule allows one; call until `None`.
    pub fn next(&mut self, now_ns: u64) -> Option<u32> {
        if self.next_seq >= self.messages || self.window.is_some_and(|w| self.in_flight >= w) {
            return None;
        }
        let due = self.due_ns(self.next_seq)?;
        if due > now_ns {
            return None;
        }
        if let Some(iv) = self.interval_ns
            && (now_ns - due) as f64 > iv
        {
            self.late += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight += 1;
        Some(seq)
    }

    /// When the schedule next allows a send: the rate's next due time, or (without a rate) now,
    /// whenever the window has a free slot; `None` when nothing can be sent until an echo frees a
    /// slot, or everything has been sent.
    pub fn wake_at(&self) -> Option<u64> {
        if self.next_seq >= self.messages || self.window.is_some_and(|w| self.in_flight >= w) {
            return None;
        }
        self.due_ns(self.next_seq)
    }

    /// The sender received its own copy of a message it sent: one slot of the window frees.
    pub fn on_echo(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// How many messages have been sent.
    pub fn sent(&self) -> u32 {
        self.next_seq
    }

    /// Every message has been sent.
    pub fn all_sent(&self) -> bool {
        self.next_seq >= self.messages
    }

    /// Sends that left more than one interval after their due time, held back by the window.
    pub fn late(&self) -> u32 {
        self.late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(p: &mut SendPace, now: u64) -> Vec<u32> {
        std::iter::from_fn(|| p.next(now)).collect()
    }

    #[test]
    fn a_window_allows_w_messages_and_one_more_per_echo() {
        let mut p = SendPace::new(10, 3, 0.0, 0, 1);
        assert_eq!(drain(&mut p, 0), Vec::<u32>::new(), "nothing before the start");
        assert_eq!(p.wake_at(), None);
        p.start(5);
        assert_eq!(p.wake_at(), Some(5), "free slots: send now");
        assert_eq!(drain(&mut p, 5), vec![0, 1, 2]);
        assert_eq!(p.wake_at(), None, "the window, not the clock, holds it back");
        p.on_echo();
        assert_eq!(drain(&mut p, 6), vec![3]);
        p.on_echo();
        p.on_echo();
        assert_eq!(drain(&mut p, 7), vec![4, 5]);
    }

    #[test]
    fn the_last_message_ends_sending() {
        let mut p = SendPace::new(2, 8, 0.0, 0, 1);
        p.start(0);
        assert_eq!(drain(&mut p, 0), vec![0, 1]);
        assert!(p.all_sent());
        assert_eq!(p.sent(), 2);
    }

    #[test]
    fn a_rate_spreads_senders_over_one_interval() {
        // 10 messages/s: one every 100 ms; sender 1 of 2 starts half an interval later.
        let mut first = SendPace::new(3, 0, 10.0, 0, 2);
        let mut second = SendPace::new(3, 0, 10.0, 1, 2);
        first.start(0);
        second.start(0);
        assert_eq!(drain(&mut first, 0), vec![0]);
        assert_eq!(drain(&mut second, 0), Vec::<u32>::new());
        assert_eq!(second.wake_at(), Some(50_000_000));
        assert_eq!(first.wake_at(), Some(100_000_000));
        assert_eq!(drain(&mut second, 50_000_000), vec![0]);
        assert_eq!(drain(&mut first, 99_999_999), Vec::<u32>::new());
        assert_eq!(drain(&mut first, 100_000_000), vec![1]);
        assert_eq!(first.late(), 0);
    }

    #[test]
    fn a_send_the_window_holds_back_past_its_interval_is_late() {
        let mut p = SendPace::new(3, 1, 10.0, 0, 1);
        p.start(0);
        assert_eq!(drain(&mut p, 0), vec![0]);
        assert_eq!(drain(&mut p, 250_000_000), Vec::<u32>::new(), "window full");
        p.on_echo();
        assert_eq!(drain(&mut p, 250_000_000), vec![1], "due at 100 ms, sent at 250 ms");
        assert_eq!(p.late(), 1);
    }
}
