//! `gan report` and `gan serve`: a run's HTML report, and the dashboard of many runs.

use adversarial::pretrained;
use anyhow::{bail, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ReportArgs {
    /// Run directories (each gets its own report); `pretrained:NAME` for a shipped generator.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output file (default: RUN/report.html); only with one run.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Folder holding run directories, at any depth up to four (default: runs).
    #[arg(default_value = "runs")]
    pub root: PathBuf,
    /// Address to listen on; 127.0.0.1 keeps the dashboard private to this machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
}

pub fn report(a: ReportArgs) -> Result<()> {
    if a.out.is_some() && a.runs.len() > 1 {
        bail!("--out names one file; give one run with it");
    }
    for run in &a.runs {
        let run = PathBuf::from(pretrained::resolve_spec(&run.display().to_string())?);
        let (path, alerts) = adversarial::report::html::write_report(&run, a.out.as_deref())?;
        for al in &alerts {
            eprintln!("warning: {}: {}", run.display(), al.message);
        }
        println!("{}", path.display());
    }
    Ok(())
}

pub fn serve(a: ServeArgs) -> Result<()> {
    let addr = format!("{}:{}", a.host, a.port);
    let server = adversarial::report::serve::Dashboard::bind(&a.root, &addr)?;
    let bound = server.local_addr().map_or(addr, |s| s.to_string());
    // the first line of output is the address, so scripts (and tests) can read the port
    println!("serving {} at http://{bound}/", a.root.display());
    std::io::Write::flush(&mut std::io::stdout())?;
    server.run()
}
