//! The JSON rendering of a decoded file (spec §9), shared by the command-line tool and the
//! golden-file tests, and of a checkpoint read from a store (the same object without the two
//! keys that describe a file).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Checkpoint, Decoded};

#[derive(Serialize)]
struct View<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    format_version: Option<String>,
    stream: &'a str,
    id: u64,
    batch_time_ms: u64,
    created_at_ms: u64,
    writer: WriterView<'a>,
    offsets: BTreeMap<&'a str, &'a BTreeMap<i32, i64>>,
    metadata: BTreeMap<&'a str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_extensions: Option<Vec<ExtensionView>>,
}

#[derive(Serialize)]
struct WriterView<'a> {
    epoch: u64,
    app_name: &'a str,
    app_version: &'a str,
    host: &'a str,
    tidemark_version: &'a str,
}

#[derive(Serialize)]
struct ExtensionView {
    tag: u32,
    length: u32,
}

/// Renders a decoded file as the pretty-printed JSON of the format spec (§9), ending with a
/// newline. The output is stable: the reference reader prints the same bytes.
pub fn to_json(decoded: &Decoded) -> String {
    let mut view = view(&decoded.checkpoint);
    view.format_version = Some(decoded.version.to_string());
    view.skipped_extensions = Some(
        decoded
            .skipped_extensions
            .iter()
            .map(|e| ExtensionView {
                tag: e.tag,
                length: e.length,
            })
            .collect(),
    );
    render(&view)
}

/// Renders a checkpoint (read from a store, where there is no file to describe) as the JSON of
/// the format spec (§9) without its two file keys, `format_version` and `skipped_extensions`:
/// the same keys otherwise, in the same order, formatted the same way. `tidemark show --json`
/// prints this; `tidemark cat --json` prints [`to_json`].
pub fn checkpoint_to_json(checkpoint: &Checkpoint) -> String {
    render(&view(checkpoint))
}

fn view(c: &Checkpoint) -> View<'_> {
    View {
        format_version: None,
        stream: &c.stream,
        id: c.id,
        batch_time_ms: c.batch_time_ms,
        created_at_ms: c.created_at_ms,
        writer: WriterView {
            epoch: c.writer.epoch,
            app_name: &c.writer.app_name,
            app_version: &c.writer.app_version,
            host: &c.writer.host,
            tidemark_version: &c.writer.tidemark_version,
        },
        offsets: c.offsets.topics().map(|(t, p)| (t.as_str(), p)).collect(),
        metadata: c
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), hex(v)))
            .collect(),
        skipped_extensions: None,
    }
}

fn render(view: &View<'_>) -> String {
    let mut out = serde_json::to_string_pretty(view).expect("the JSON view always serializes");
    out.push('\n');
    out
}

/// Bytes as lowercase hexadecimal, two digits per byte (how JSON renders metadata values).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        write!(s, "{b:02x}").expect("writing to a String cannot fail");
    }
    s
}
