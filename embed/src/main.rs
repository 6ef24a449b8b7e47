//! `outpost-embed OUT`: writes the minified loader to `OUT` (what `cargo xtask` serves as
//! `/embed.js`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: outpost-embed <output file>");
        return ExitCode::from(2);
    };
    match outpost_embed::loader_js() {
        Ok(js) => match std::fs::write(&out, js) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("outpost-embed: cannot write {out}: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("outpost-embed: {e}");
            ExitCode::FAILURE
        }
    }
}
