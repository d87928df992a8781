//! The `_latest` hint, in one place (format-spec/LAYOUT.md §3): its format, reading and
//! writing it, how far readers probe past it, and how often writers rewrite it.
//!
//! The hint only saves listing: readers never trust it blindly (they probe the ids after it
//! and list when it is far behind or names a missing checkpoint), and a failed hint write is
//! logged, never returned.

use bytes::Bytes;

use super::backend::Backend;
use super::error::Result;
use super::layout::StreamPaths;
use super::url::BackendKind;

/// How many ids past the hint a reader checks before it lists instead: more than the longest
/// rewrite interval, so a lagging hint never forces a listing.
pub(crate) const MAX_PROBES: u32 = 32;

/// The id a `_latest` hint names, read strictly (LAYOUT.md §5.1): exactly the canonical
/// decimal form of an id from 1 to `u64::MAX` (no sign, no leading zero, at most 20 digits)
/// followed by exactly one `\n`, as writers write it. Anything else is no usable hint (`None`).
pub(crate) fn parse(bytes: &[u8]) -> Option<u64> {
    let digits = bytes.strip_suffix(b"\n")?;
    if digits.is_empty()
        || digits.len() > 20
        || digits[0] == b'0'
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The hint's contents for `id`.
pub(crate) fn render(id: u64) -> Bytes {
    Bytes::from(format!("{id}\n"))
}

/// How often writers rewrite the hint: on local disk and in memory a probe is a cheap stat,
/// while rewriting the hint costs as much as a good part of the commit itself; on object
/// stores every probe is a request.
pub(crate) fn interval(kind: BackendKind) -> u64 {
    match kind {
        BackendKind::Local | BackendKind::Memory => 16,
        _ => 1,
    }
}

/// The id the stream's hint names, if there is a well-formed one.
pub(crate) async fn read<B: Backend + ?Sized>(
    backend: &B,
    paths: &StreamPaths,
) -> Result<Option<u64>> {
    Ok(backend
        .read(paths.hint())
        .await?
        .and_then(|bytes| parse(&bytes)))
}

/// Records `id` as the stream's newest checkpoint. A failure is logged, not returned.
pub(crate) async fn write<B: Backend + ?Sized>(backend: &B, paths: &StreamPaths, id: u64) {
    if let Err(e) = backend.write_hint(paths.hint(), render(id)).await {
        tracing::warn!(path = %paths.hint(), error = %crate::error_chain(&e),
            "could not update the latest-id hint");
    }
}

/// The highest id present, starting from the hint: the hint moved past every id that exists
/// after it, or `None` when [`MAX_PROBES`] ids after it all exist (far behind: list instead).
pub(crate) async fn probe_forward<B: Backend + ?Sized>(
    backend: &B,
    paths: &StreamPaths,
    hint: u64,
) -> Result<Option<u64>> {
    let mut top = hint;
    for _ in 0..MAX_PROBES {
        let Some(next) = top.checked_add(1) else {
            return Ok(Some(top));
        };
        if !backend.exists(&paths.checkpoint(next)).await? {
            return Ok(Some(top));
        }
        top = next;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_read_strictly() {
        assert_eq!(parse(b"42\n"), Some(42));
        assert_eq!(parse(b"18446744073709551615\n"), Some(u64::MAX));
        for bad in [
            &b"42"[..],
            b"042\n",
            b"+42\n",
            b"-1\n",
            b"0\n",
            b"\n",
            b"",
            b"42\n\n",
            b"42\r\n",
            b" 42\n",
            b"42 \n",
            b"18446744073709551616\n",
            b"000000000000000000042\n",
            b"100000000000000000000\n",
            "\u{661}\n".as_bytes(),
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn hints_round_trip_and_malformed_ones_are_ignored() {
        assert_eq!(parse(&render(42)), Some(42));
        assert_eq!(parse(&render(u64::MAX)), Some(u64::MAX));
        for bad in [&b"42"[..], b"x\n", b"", b"-1\n", b"18446744073709551616\n"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
