//! The `main` of the command-line examples (`bake`, `prepare_training_data`, `neural_eval`), included
//! with `#[path]` (the rest of `common` is for windowed examples).

use std::process::ExitCode;

/// Runs a command-line example: arguments that do not parse print the error (none for `--help`) and
/// `usage`, exit status 2; a run that fails prints its error, exit status 1.
pub fn main<A>(
    usage: &str,
    args: Result<A, String>,
    run: impl FnOnce(&A) -> Result<(), String>,
) -> ExitCode {
    let args = match args {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
