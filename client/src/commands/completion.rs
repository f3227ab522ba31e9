//! `cliauth completion <shell>` (a completion script on stdout) and the hidden
//! `cliauth man <dir>` that writes the man pages (`just man` calls it).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

use super::Cli;

/// `cliauth completion` arguments.
#[derive(Debug, Args)]
#[command(after_help = "\
Install, for example:
  bash:       cliauth completion bash > ~/.local/share/bash-completion/completions/cliauth
  zsh:        cliauth completion zsh > \"${fpath[1]}/_cliauth\"
  fish:       cliauth completion fish > ~/.config/fish/completions/cliauth.fish
  powershell: cliauth completion powershell >> $PROFILE")]
pub(crate) struct CompletionArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cliauth man` arguments.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The folder to write `cliauth.1` and one page per subcommand into (created if missing).
    #[arg(value_name = "DIR")]
    pub out_dir: PathBuf,
}

/// Prints the completion script on stdout.
pub(crate) fn completion(args: &CompletionArgs) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "cliauth", &mut script);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the completion script: {e}");
            ExitCode::from(1)
        }
    }
}

/// Writes the man pages into the folder.
pub(crate) fn man(args: &ManArgs) -> ExitCode {
    let dir = &args.out_dir;
    match std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
    {
        Ok(()) => {
            eprintln!("Wrote the man pages to {}.", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the man pages to {}: {e}",
                dir.display()
            );
            eprintln!("hint: give a folder you can write to, e.g. `cliauth man target/man`");
            ExitCode::from(1)
        }
    }
}
