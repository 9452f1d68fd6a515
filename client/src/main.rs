//! `minichat`: join a minichat server from a terminal, or from a script through a pipe.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use minichat_client::connection::{self, connect};
use minichat_client::pipe::Pipe;
use minichat_client::terminal::Terminal;
use minichat_client::wire::Wire;
use minichat_client::{ExitStatus, Mode, Session};
use minichat_protocol::Nick;
use minichat_protocol::podsixnet::NickAction;

const ABOUT: &str = "\
Chat on a minichat server.

At a terminal, type a message and press Enter to send it; messages from others appear above the
line you are typing. Commands: /users, /help, /quit [reason] (also `quit`, Ctrl-D, Ctrl-C); start a
message with // to send text that begins with /.

When standard input or output is not a terminal (pipe mode), every input line is sent as a message
(with the same commands), end of input sends QUIT, and the output is one plain line per event, with
no prompts and no colours. Without --nick, the first input line is the nickname.

With --podsixnet HOST:PORT, minichat joins a chat server written with the PodSixNet library
instead (the course's second chat): minichat-server's --podsixnet listener, a server in the
course's design (username and message actions, the sender in \"expediteur\"), or the library's
example ChatServer (add --podsixnet-nick-action nickname). Everything above works the same. A
server other than minichat-server announces nothing, so minichat counts you in as soon as your
nickname is sent, allows messages of up to 960 bytes, and /quit simply closes the connection.";

#[derive(Debug, Parser)]
#[command(name = "minichat", version, about = "Chat on a minichat server", long_about = ABOUT)]
#[command(after_help = ExitStatus::help_table())]
struct Args {
    /// The server to join.
    #[arg(value_name = "HOST:PORT", default_value = "127.0.0.1:7777", conflicts_with = "podsixnet")]
    server: String,

    /// Join the PodSixNet chat server at HOST:PORT instead (PodSixNet's customary port is 31425).
    #[arg(long, value_name = "HOST:PORT")]
    podsixnet: Option<String>,

    /// With --podsixnet: the action that sends your nickname. `username` for the course's servers
    /// and minichat-server, `nickname` for PodSixNet's example ChatServer.
    #[arg(long, value_enum, value_name = "ACTION", default_value = "username", requires = "podsixnet")]
    podsixnet_nick_action: NickActionArg,

    /// Your nickname: 1-32 ASCII letters, digits, _ or -, starting with a letter or _.
    /// Without it, minichat asks for one (pipe mode: reads it from the first input line).
    #[arg(long, value_parser = |s: &str| Nick::new(s))]
    nick: Option<Nick>,

    /// Pipe mode: start each line about the room with the local time as HH:MM.
    /// (The terminal always shows it.)
    #[arg(long)]
    timestamps: bool,

    /// After QUIT, how long the server may stay silent before minichat stops waiting for BYE.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    bye_timeout: Duration,

    /// How long to keep trying to connect.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    connect_timeout: Duration,
}

/// `--podsixnet-nick-action`'s values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum NickActionArg {
    /// `{"action": "username", "username": NICK}`
    Username,
    /// `{"action": "nickname", "nickname": NICK}`
    Nickname,
}

impl From<NickActionArg> for NickAction {
    fn from(arg: NickActionArg) -> NickAction {
        match arg {
            NickActionArg::Username => NickAction::Username,
            NickActionArg::Nickname => NickAction::Nickname,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(args)));
    match outcome {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("minichat: {error:#}");
            ExitStatus::LocalFailure.into()
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let (server, wire, what) = match &args.podsixnet {
        Some(server) => (server, Wire::PodSixNet(args.podsixnet_nick_action.into()), "a PodSixNet chat server"),
        None => (&args.server, Wire::Lines, "minichat-server"),
    };
    let stream = match connect(server, args.connect_timeout).await {
        Ok(stream) => stream,
        Err(reason) => {
            eprintln!("minichat: cannot connect to {server}: {reason} — is {what} running there?");
            return Ok(ExitStatus::CannotConnect);
        }
    };
    tracing::info!(%server, ?wire, "connected");
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        let mut terminal = Terminal::enter().context("cannot use the terminal")?;
        let session = Session::with_wire(Mode::Interactive, args.nick, wire);
        connection::run(stream, session, &mut terminal, args.bye_timeout).await.context("terminal")
    } else {
        let mut pipe = Pipe::new(args.timestamps);
        let session = Session::with_wire(Mode::Pipe, args.nick, wire);
        connection::run(stream, session, &mut pipe, args.bye_timeout).await.context("standard input or output")
    }
}

/// Logs go to standard error, and only when RUST_LOG asks for them: at a terminal they would
/// land in the middle of the conversation.
fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
}
