//! The room: who is registered, under which nick (SPEC.md §4, §8).
//!
//! Uniqueness is decided on the case-folded [`NickKey`] (R-NICK-2); the member list keeps each nick
//! exactly as registered (R-NICK-3). Members live in a dense vector so that a broadcast walks
//! memory in order; a leaving member is swap-removed and the core is told whose position moved.

use std::collections::HashMap;

use minichat_protocol::{Nick, NickKey};

use super::ConnId;

/// One registered client.
#[derive(Debug)]
pub struct Member {
    pub conn: ConnId,
    pub nick: Nick,
}

#[derive(Debug, Default)]
pub struct Room {
    members: Vec<Member>,
    by_key: HashMap<NickKey, ConnId>,
}

impl Room {
    /// Whether a registered client holds a nick that folds equal to `nick`.
    pub fn holds(&self, nick: &Nick) -> bool {
        self.by_key.contains_key(&nick.key())
    }

    /// Adds a member; the nick must be free. Returns its position.
    pub fn join(&mut self, conn: ConnId, nick: Nick) -> usize {
        let previous = self.by_key.insert(nick.key(), conn);
        debug_assert!(previous.is_none(), "join with a nick in use");
        self.members.push(Member { conn, nick });
        self.members.len() - 1
    }

    /// Removes the member at `pos`. Returns it, and the member that moved into `pos` (if any).
    pub fn leave(&mut self, pos: usize) -> (Member, Option<ConnId>) {
        let member = self.members.swap_remove(pos);
        self.by_key.remove(&member.nick.key());
        (member, self.members.get(pos).map(|m| m.conn))
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn nick_at(&self, pos: usize) -> &Nick {
        &self.members[pos].nick
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Everyone leaves at once (server shutdown: no LEAVE is sent, R-SHUT-1).
    pub fn clear(&mut self) {
        *self = Room::default();
    }

    /// Whether the member index and the nick index agree.
    pub fn check(&self) -> Result<(), String> {
        if self.by_key.len() != self.members.len() {
            return Err(format!("{} keys for {} members", self.by_key.len(), self.members.len()));
        }
        for m in &self.members {
            if self.by_key.get(&m.nick.key()) != Some(&m.conn) {
                return Err(format!("nick {} is not indexed to its connection", m.nick));
            }
        }
        Ok(())
    }
}
