//! The global-order check (SPEC.md R-ORDER-2): do all clients see the sampled messages in the same
//! relative order?
//!
//! Each client recorded the order in which the sampled messages reached it
//! ([`super::receipts::Receipts::order_sample`]). The reference order is the one most clients saw
//! (a server that reorders for one client must not make that client the yardstick for everyone);
//! every other client's sequence is walked against the reference positions, and a delivery that
//! arrives after a message the reference puts later counts as a disagreement. Messages a client
//! never received are simply absent from its sequence: loss is counted elsewhere, not here.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// What the check found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderCheck {
    /// Sampled deliveries that arrived in a different relative order than in the reference.
    pub disagreements: u64,
    /// Clients with at least one disagreement.
    pub clients_disagreeing: usize,
}

/// Compares the clients' sampled orders; `sample_len` is the number of sampled messages (every
/// entry of every sample is below it).
pub fn check_order(samples: &[&[u32]], sample_len: usize) -> OrderCheck {
    let Some(reference) = most_common(samples) else {
        return OrderCheck::default();
    };
    let mut position = vec![u32::MAX; sample_len];
    for (at, &message) in reference.iter().enumerate() {
        if let Some(slot) = position.get_mut(message as usize) {
            *slot = u32::try_from(at).unwrap_or(u32::MAX);
        }
    }
    let mut check = OrderCheck::default();
    for sample in samples {
        let mut latest = None;
        let mut disagreements = 0;
        for &message in sample.iter() {
            let Some(&at) = position.get(message as usize) else { continue };
            if at == u32::MAX {
                // The reference client never received it: nothing to compare with.
                continue;
            }
            match latest {
                Some(latest) if at < latest => disagreements += 1,
                _ => latest = Some(at),
            }
        }
        check.disagreements += disagreements;
        check.clients_disagreeing += usize::from(disagreements > 0);
    }
    check
}

/// The sequence most clients saw (ties: the longest, then the first).
fn most_common<'a>(samples: &[&'a [u32]]) -> Option<&'a [u32]> {
    let mut counts: HashMap<u64, (usize, usize)> = HashMap::new();
    for (i, sample) in samples.iter().enumerate() {
        let mut h = DefaultHasher::new();
        sample.hash(&mut h);
        counts.entry(h.finish()).or_insert((0, i)).0 += 1;
    }
    counts
        .values()
        .max_by_key(|&&(count, first)| (count, samples[first].len(), std::cmp::Reverse(first)))
        .map(|&(_, first)| samples[first])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_that_agree_have_no_disagreement() {
        let a = [0, 1, 2, 3];
        assert_eq!(check_order(&[&a, &a, &a], 4), OrderCheck::default());
    }

    #[test]
    fn one_client_that_swaps_two_messages_is_the_one_reported() {
        let a = [0, 1, 2, 3];
        let odd = [0, 2, 1, 3];
        let check = check_order(&[&odd, &a, &a], 4);
        assert_eq!(check, OrderCheck { disagreements: 1, clients_disagreeing: 1 });
    }

    #[test]
    fn missing_messages_are_not_disagreements() {
        let a = [0, 1, 2, 3];
        let lossy = [0, 2, 3];
        assert_eq!(check_order(&[&a, &lossy, &a], 4), OrderCheck::default());
    }

    #[test]
    fn with_no_majority_the_longest_sequence_is_the_reference() {
        let full = [0, 1, 2];
        let moved = [2, 0];
        let check = check_order(&[&moved, &full], 3);
        assert_eq!(check, OrderCheck { disagreements: 1, clients_disagreeing: 1 });
    }

    #[test]
    fn no_clients_no_findings() {
        assert_eq!(check_order(&[], 0), OrderCheck::default());
    }
}
