//! `boardcheck serve --config station.toml` and `boardcheck staff …`: the station service and
//! its staff accounts.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use zeroize::Zeroizing;

use boardcheck_core::clock::unix_now;
use boardcheck_core::manifest::store::Store;
use boardcheck_core::manifest::Role;
use boardcheck_station::auth::hash_password;
use boardcheck_station::config::StationConfig;

#[derive(Args)]
pub struct ServeArgs {
    /// The station's configuration.
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    boardcheck_station::serve(&args.config)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct StaffArgs {
    #[command(subcommand)]
    command: StaffCommand,
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff account; the password is typed without echo, or piped in as one line.
    Add(StaffAdd),
    /// Set a new password (typed without echo, or piped in) for an existing account; ends the
    /// account's console sessions.
    Password(StaffPassword),
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Resolves manual checks, sees lanes and the manifest board.
    Staff,
    /// Also sees reports.
    Supervisor,
}

#[derive(Args)]
struct StaffAdd {
    /// The staff id used to log in (the audit log names it).
    id: String,
    #[arg(long, value_enum, default_value = "staff")]
    role: RoleArg,
    /// The station's configuration (its database gets the account).
    #[arg(long)]
    config: PathBuf,
}

#[derive(Args)]
struct StaffPassword {
    id: String,
    #[arg(long)]
    config: PathBuf,
}

pub fn staff(args: StaffArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        StaffCommand::Add(add) => {
            let store = open_store(&add.config)?;
            let role = match add.role {
                RoleArg::Staff => Role::Staff,
                RoleArg::Supervisor => Role::Supervisor,
            };
            store.add_staff(&add.id, &hash_password(&read_password()?)?, role, unix_now())?;
            eprintln!("staff account '{}' added", add.id);
        }
        StaffCommand::Password(change) => {
            let store = open_store(&change.config)?;
            if !store.set_staff_password(&change.id, &hash_password(&read_password()?)?)? {
                bail!("no staff account '{}'", change.id);
            }
            eprintln!("password of '{}' changed", change.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open_store(config: &std::path::Path) -> anyhow::Result<Store> {
    let config = StationConfig::load(config)?;
    if let Some(dir) = config.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(Store::open(&config.db)?)
}

/// The password, never from the command line (shell history, the process list): typed at a
/// terminal without echo, or one line piped into standard input (scripts, tests). Wiped from
/// memory when dropped.
fn read_password() -> anyhow::Result<Zeroizing<String>> {
    let password = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        Zeroizing::new(rpassword::prompt_password("password: ").context("reading the password from the terminal")?)
    } else {
        // Room enough that reading never moves the line (leaving a copy behind).
        let mut line = Zeroizing::new(String::with_capacity(1024));
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string())
    };
    if password.is_empty() {
        bail!("no password given (type it at the prompt, or pipe one line into standard input)");
    }
    Ok(password)
}
