//! The operator commands' glue: compaction with a progress count, describe, copy, and the
//! manual page. Logic lives in `tidemark::ops`; rendering in `render`.

use std::time::{Duration, SystemTime};

use tidemark::ops;
use tidemark::store::{RetentionPolicy, Store};

use crate::cli::{CmdResult, Failure, fail};
use crate::output::{self, Out};
use crate::render;

/// `tidemark compact` (not --quarantine): a dry run unless `execute`; a progress count of the
/// deletions on stderr (a terminal, without -q).
pub(crate) async fn compact(
    store: &Store,
    stream: &str,
    policy: &RetentionPolicy,
    dry_run: bool,
    out: &Out,
) -> CmdResult {
    let bar = output::progress(out, 0, if dry_run { "planning" } else { "deleting" });
    bar.enable_steady_tick(Duration::from_millis(200));
    let report = ops::compact_with_progress(store, stream, policy, dry_run, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish_and_clear();
    render::compact(&report, out)
}

/// `tidemark describe`: the report, read with a progress bar.
pub(crate) async fn describe(
    store: &Store,
    stream: Option<&str>,
    alive_window: Duration,
    out: &Out,
) -> Result<ops::DescribeReport, Failure> {
    let bar = output::progress(out, 0, "reading");
    let report = ops::describe(
        store,
        stream,
        alive_window,
        SystemTime::now(),
        |name, done, total| {
            bar.set_message(name.to_owned());
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .await?;
    bar.finish_and_clear();
    Ok(report)
}

/// `tidemark copy`.
pub(crate) async fn copy(
    from: &Store,
    stream: &str,
    to: &Store,
    as_name: Option<&str>,
    out: &Out,
) -> CmdResult {
    let bar = output::progress(out, 0, "copying");
    let report = ops::copy(
        from,
        stream,
        to,
        as_name.unwrap_or(stream),
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .await?;
    bar.finish_and_clear();
    render::copy(&report, out)
}

/// `tidemark man`: the manual page, from the command line's definition: clap_mangen's page
/// for `tidemark` (synopsis, description, global options, the list of subcommands), then a
/// section per subcommand with its usage, description, arguments and example.
pub(crate) fn man(out: &Out) -> CmdResult {
    let mut command = crate::cli::definition();
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(|e| fail(format!("cannot render the manual page: {e}")))?;
    let mut text = String::from_utf8_lossy(&page).into_owned();
    for sub in command.get_subcommands_mut().filter(|s| !s.is_hide_set()) {
        let mut sub = sub.clone();
        text.push_str(&format!(
            ".SH \"TIDEMARK {}\"\n",
            roff(&sub.get_name().to_uppercase())
        ));
        text.push_str(&format!(
            ".B {}\n.PP\n",
            roff(&sub.render_usage().to_string().replace("Usage: ", ""))
        ));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            text.push_str(&format!("{}\n", roff(&about.to_string())));
        }
        // The global flags are in the main OPTIONS section already.
        let own = |a: &&clap::Arg| !a.is_hide_set() && !a.is_global_set() && a.get_id() != "help";
        for arg in sub.get_arguments().filter(own) {
            let name = match (arg.get_short(), arg.get_long()) {
                (_, Some(long)) => format!("--{long}"),
                (Some(short), None) => format!("-{short}"),
                (None, None) => format!("<{}>", arg.get_id().as_str().to_uppercase()),
            };
            text.push_str(&format!(".TP\n\\fB{}\\fR\n", roff(&name)));
            if let Some(help) = arg.get_long_help().or(arg.get_help()) {
                text.push_str(&format!("{}\n", roff(&help.to_string())));
            }
        }
        if let Some(after) = sub.get_after_help() {
            text.push_str(&format!(".PP\n.nf\n{}\n.fi\n", roff(&after.to_string())));
        }
    }
    out.print(&text)
}

/// Text made safe for roff: backslashes escaped, no line starting with a control character.
fn roff(text: &str) -> String {
    text.replace('\\', "\\e")
        .lines()
        .map(|l| {
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
