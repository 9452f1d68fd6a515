//! Every attack at once, against one server.

use std::time::Duration;

use super::{Attack, Running, Target, churn, flood, garbage, giant, nick_storm, slowloris, stalled};
use crate::support::scale::Scale;

/// The seven attacks, running.
pub struct All {
    slowloris: Attack<slowloris::Report>,
    stalled: Attack<stalled::Report>,
    garbage: Attack<garbage::Report>,
    giant: Attack<giant::Report>,
    churn: Attack<churn::Report>,
    storm: Attack<nick_storm::Report>,
    flood: Attack<flood::Report>,
}

/// Their reports.
pub struct Report {
    pub slowloris: slowloris::Report,
    pub stalled: stalled::Report,
    pub garbage: garbage::Report,
    pub giant: giant::Report,
    pub churn: churn::Report,
    pub storm: nick_storm::Report,
    pub flood: flood::Report,
}

/// The connections all of them hold at most at once at `scale`.
pub fn connections(scale: &Scale) -> usize {
    scale.slowloris
        + scale.stalled
        + 4 * scale.garbage_per_kind
        + scale.giant_lines
        + churn::IN_FLIGHT
        + scale.storm
        + 1
}

/// Starts every attack at `scale`; stalled readers post at `msg_rate`.
pub fn launch(target: &Target, scale: &Scale, msg_rate: u32) -> All {
    let deadline = scale.attack_deadline();
    All {
        slowloris: slowloris::launch(target.clone(), scale.slowloris, deadline),
        stalled: stalled::launch(target.clone(), scale.stalled, scale.stalled_posters, msg_rate, deadline),
        garbage: garbage::launch(target.clone(), scale.garbage_per_kind),
        giant: giant::launch(target.clone(), scale.giant_lines, scale.giant_bytes, deadline),
        churn: churn::launch(target.clone(), scale.churn_per_second),
        storm: nick_storm::launch(target.clone(), scale.storm),
        flood: flood::launch(target.clone()),
    }
}

impl Running for All {
    type Report = Report;

    fn wait_engaged(&mut self, within: Duration) {
        self.slowloris.wait_engaged(within);
        self.stalled.wait_engaged(within);
        self.garbage.wait_engaged(within);
        self.giant.wait_engaged(within);
        self.churn.wait_engaged(within);
        self.storm.wait_engaged(within);
        self.flood.wait_engaged(within);
    }

    fn stop(self, within: Duration) -> Report {
        self.slowloris.request_stop();
        self.stalled.request_stop();
        self.garbage.request_stop();
        self.giant.request_stop();
        self.churn.request_stop();
        self.storm.request_stop();
        self.flood.request_stop();
        Report {
            slowloris: self.slowloris.stop(within),
            stalled: self.stalled.stop(within),
            garbage: self.garbage.stop(within),
            giant: self.giant.stop(within),
            churn: self.churn.stop(within),
            storm: self.storm.stop(within),
            flood: self.flood.stop(within),
        }
    }
}
