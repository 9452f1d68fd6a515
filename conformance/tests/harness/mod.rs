//! A [`ServerSource`] for servers started in this process (the reference server, or the toy
//! server of the suite's self-tests): one shared server with default parameters, and a fresh
//! server with [`dedicated_params`] for every case that needs a parameter.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::OnceLock;

use conformance::target::dedicated_params;
use conformance::{Case, Param, ServerControl, ServerParams, ServerSource, ServerUnderTest};

/// A server started in this process: where it listens, and how to stop it.
pub struct Started {
    pub addr: SocketAddr,
    /// Its PodSixNet port (SPEC.md §16), if it has one.
    pub podsixnet: Option<SocketAddr>,
    pub control: Box<dyn ServerControl>,
}

/// Starts a server with the given parameters.
pub type Starter = dyn Fn(&ServerParams) -> Result<Started, String> + Sync + Send;

/// A started server and its control (kept so that the server lives as long as the source).
type Running = (ServerUnderTest, Box<dyn ServerControl>);

pub struct InProcess {
    start: Box<Starter>,
    /// Give every case a server of its own (so one case's clients never meet another's).
    all_dedicated: bool,
    /// Whether the servers the starter starts have a PodSixNet port.
    podsixnet: bool,
    shared_params: ServerParams,
    shared: OnceLock<Result<Running, String>>,
}

impl InProcess {
    /// `shared_params` describe the shared server; cases that need parameters get their own.
    pub fn new(shared_params: ServerParams, start: Box<Starter>) -> InProcess {
        InProcess { start, all_dedicated: false, podsixnet: false, shared_params, shared: OnceLock::new() }
    }

    /// Every case gets a fresh server.
    pub fn all_dedicated(mut self) -> InProcess {
        self.all_dedicated = true;
        self
    }

    /// The starter's servers have a PodSixNet port: cases that need one run.
    pub fn with_podsixnet(mut self) -> InProcess {
        self.podsixnet = true;
        self
    }
}

impl ServerSource for InProcess {
    fn shared(&self) -> Result<&ServerUnderTest, String> {
        let r = self.shared.get_or_init(|| {
            let Started { addr, podsixnet, control } = (self.start)(&self.shared_params)?;
            Ok((ServerUnderTest { addr, podsixnet, params: self.shared_params.clone(), control: None }, control))
        });
        r.as_ref().map(|(s, _)| s).map_err(Clone::clone)
    }

    fn offers_dedicated(&self, case: &Case) -> bool {
        // Knowing the PodSixNet port is no reason for a server of one's own.
        self.all_dedicated || case.requires.iter().any(|&p| p != Param::PodSixNet) || case.needs_server_alone()
    }

    fn dedicated(&self, case: &Case) -> Result<ServerUnderTest, String> {
        let params = dedicated_params(case);
        let Started { addr, podsixnet, control } = (self.start)(&params)?;
        Ok(ServerUnderTest { addr, podsixnet, params, control: Some(control) })
    }

    fn known(&self, case: &Case) -> (ServerParams, bool) {
        if self.offers_dedicated(case) { (dedicated_params(case), true) } else { (self.shared_params.clone(), false) }
    }

    fn offers_podsixnet(&self) -> bool {
        self.podsixnet
    }
}

/// A port on 127.0.0.1 that refuses connections: bound but never listening, and held for as long
/// as the returned socket lives. A port bound and released at once would do until another test's
/// server, binding port 0 meanwhile, got it from the OS.
pub fn refusing_port() -> (socket2::Socket, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a TCP socket");
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind 127.0.0.1:0");
    let port = socket.local_addr().ok().and_then(|a| a.as_socket()).expect("an IPv4 address").port();
    (socket, port)
}
