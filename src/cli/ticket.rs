//! `boardcheck ticket keygen | issue | verify`: issuer keys and QR e-ticket tokens.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use serde::Serialize;

use boardcheck_core::clock;
use boardcheck_core::ticket::{self, hash_document, time::parse_time, IssuerKey, IssuerKeys, Pepper, Ticket};
use boardcheck_vision::image_io;

#[derive(Args)]
pub struct TicketArgs {
    #[command(subcommand)]
    command: TicketCommand,
}

#[derive(Subcommand)]
enum TicketCommand {
    /// Make an issuer key: DIR/<key-id>.key (private), .pub, .pepper; prints the key id.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a ticket; prints its token.
    Issue(IssueArgs),
    /// Check a token; exit status 0 when valid, 1 when refused, 2 on error.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct IssueArgs {
    /// The issuer's private key, DIR/<key-id>.key.
    #[arg(long)]
    key: PathBuf,
    #[arg(long = "ticket")]
    ticket_id: String,
    #[arg(long = "trip")]
    trip_id: String,
    #[arg(long)]
    seat: String,
    /// Unix seconds or RFC 3339 (2026-01-01T08:00:00+08:00).
    #[arg(long, value_parser = unix_time)]
    valid_from: i64,
    /// Unix seconds or RFC 3339; the last valid second.
    #[arg(long, value_parser = unix_time)]
    valid_to: i64,
    /// The passenger's ID number; the token carries only its keyed hash.
    #[arg(long)]
    doc_number: Option<String>,
    /// The pepper for --doc-number (default: the key's path with extension .pepper).
    #[arg(long)]
    pepper: Option<PathBuf>,
    /// Also draw the token as a QR code into this PNG file.
    #[arg(long)]
    qr: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// Trusted issuers: a directory of <key-id>.pub files or a TOML file of [[issuer]] entries.
    #[arg(long)]
    keys: PathBuf,
    /// Print `{"valid":…, "reason":…, "ticket":…}`.
    #[arg(long)]
    json: bool,
    /// The trip boarding here; a ticket for another trip is refused.
    #[arg(long)]
    trip: Option<String>,
    /// Read the QR code in this photo instead of a TOKEN.
    #[arg(long, conflicts_with = "token", required_unless_present = "token")]
    image: Option<PathBuf>,
    /// The token, or `-` for scanner text on stdin.
    token: Option<String>,
}

fn unix_time(text: &str) -> Result<i64, String> {
    parse_time(text).and_then(|t| i64::try_from(t).map_err(|_| format!("'{text}' is too far in the future")))
}

pub fn run(args: TicketArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TicketCommand::Keygen { out } => {
            println!("{}", ticket::keygen(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        TicketCommand::Issue(args) => issue(args),
        TicketCommand::Verify(args) => verify(args),
    }
}

fn issue(args: IssueArgs) -> anyhow::Result<ExitCode> {
    let key = IssuerKey::load(&args.key)?;
    let document_hash = match &args.doc_number {
        Some(number) => {
            let pepper = Pepper::load(&args.pepper.clone().unwrap_or_else(|| args.key.with_extension("pepper")))?;
            Some(hash_document(&pepper, number))
        }
        None => None,
    };
    let ticket = Ticket {
        ticket_id: args.ticket_id,
        trip_id: args.trip_id,
        seat: args.seat,
        document_hash,
        not_before: args.valid_from,
        not_after: args.valid_to,
        issuer: key.key_id(),
    };
    let token = key.issue(&ticket)?;
    if let Some(path) = &args.qr {
        let image = ticket::render_qr(&token).map_err(|e| anyhow!("token does not fit a QR code: {e}"))?;
        image.save(path).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Outcome<'a> {
    valid: bool,
    reason: Option<&'static str>,
    ticket: Option<&'a Ticket>,
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let keys = IssuerKeys::load(&args.keys)?;
    let scanned = match (&args.image, args.token.as_deref()) {
        (Some(path), _) => {
            let texts = ticket::decode_qr(&image_io::load_rgb(path)?);
            // A photo may hold other codes (a poster, a payment code): prefer ours.
            texts.iter().find(|t| t.contains(ticket::PREFIX)).or(texts.first()).cloned().unwrap_or_default()
        }
        (None, Some("-")) => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading the token from stdin")?;
            text
        }
        (None, Some(token)) => token.to_owned(),
        (None, None) => return Err(anyhow!("give a TOKEN, - for stdin, or --image FILE")),
    };
    let now = clock::unix_now();
    // The CLI keeps no record of boardings; the lane checks replay against the manifest store.
    let verdict = ticket::verify(&scanned, &keys, now, args.trip.as_deref(), &HashSet::new());
    let outcome = match &verdict {
        Ok(ticket) => Outcome { valid: true, reason: None, ticket: Some(ticket) },
        Err(refused) => Outcome { valid: false, reason: Some(refused.reason.code()), ticket: refused.ticket.as_deref() },
    };
    if args.json {
        super::print_json(&outcome)?;
    } else {
        match &verdict {
            Ok(t) => println!("valid: ticket {} trip {} seat {}", t.ticket_id, t.trip_id, t.seat),
            Err(refused) => println!("refused ({}): {}", refused.reason.code(), refused.reason),
        }
    }
    Ok(if verdict.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
