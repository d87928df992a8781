//! Decoding never allocates more than a small multiple of the input's length, whatever the
//! header or a count claims. A counting global allocator records the peak during each decode.

use tidemark_testkit::fixtures as common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tidemark::{Offsets, format};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated at the peak of one decode, above what was live before it.
fn peak_of_decode(bytes: &[u8]) -> usize {
    let before = CURRENT.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = format::decode(bytes);
    let peak = PEAK.load(Ordering::SeqCst) - before;
    drop(result);
    peak
}

/// A file with a correct checksum around `body`.
fn file(body: &[u8]) -> Vec<u8> {
    let mut out = format::MAGIC.to_vec();
    out.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(body);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The bound: 24 times the input plus 8 KiB for fixed-size bookkeeping.
///
/// Measured peaks: 4.5 to 7.5 times for files with realistic offsets; 16 times for the densest
/// valid file (one topic, two bytes per partition), while its partition map is built in bulk
/// from a vector (the vector plus the sort's scratch buffer, 16 bytes each per partition).
fn bound(input: usize) -> usize {
    24 * input + 8 * 1024
}

// One test function: the counter is global, so nothing else may run beside it.
#[test]
fn decoding_allocates_at_most_a_small_multiple_of_the_input() {
    let prefix: &[u8] = &[1, b's', 1, 2, 3, 4, 0, 0, 0, 0];
    let mut hostile: Vec<(&str, Vec<u8>)> = Vec::new();
    // A string that claims 2^62 bytes.
    let mut b = prefix.to_vec();
    b.extend_from_slice(&[1, 0xFD]);
    b.extend_from_slice(&(1u64 << 62).to_le_bytes());
    hostile.push(("huge string claim", file(&b)));
    // 100,000 topics claimed, one present.
    let mut b = prefix.to_vec();
    b.extend_from_slice(&[0xFC, 0xA0, 0x86, 0x01, 0x00, 1, b't', 1, 0, 5]);
    hostile.push(("huge topic count", file(&b)));
    // 1,000,000 partitions claimed, one present.
    let mut b = prefix.to_vec();
    b.extend_from_slice(&[1, 1, b't', 0xFC, 0x40, 0x42, 0x0F, 0x00, 0, 5]);
    hostile.push(("huge partition count", file(&b)));
    // A metadata value claiming 60 MiB.
    let mut b = prefix.to_vec();
    b.extend_from_slice(&[0, 1, 1, b'k', 0xFC]);
    b.extend_from_slice(&(60u32 << 20).to_le_bytes());
    hostile.push(("huge metadata value", file(&b)));
    // A header claiming a 64 MiB body on a short file.
    let mut f = file(prefix);
    f[16..20].copy_from_slice(&(64u32 << 20).to_le_bytes());
    hostile.push(("huge body length", f));

    for (what, bytes) in &hostile {
        assert!(format::decode(bytes).is_err(), "{what} decoded");
        let peak = peak_of_decode(bytes);
        assert!(
            peak <= bound(bytes.len()),
            "{what}: {peak} bytes allocated for {} bytes of input",
            bytes.len()
        );
    }

    // Valid files stay within the same bound: realistic offsets, and the densest files there
    // are (two bytes per partition: consecutive partitions, offsets below 251), where the
    // decoded maps are largest next to the input.
    let mut valid = Vec::new();
    for partitions in [1, 100, 10_000] {
        valid.push((
            format!("{partitions} partitions"),
            common::many_partitions("events", partitions),
        ));
    }
    for topics in [1, 2, 10] {
        let mut dense = Offsets::new();
        for t in 0..topics {
            for partition in 0..20_000 / topics {
                dense.insert(format!("t{t}"), partition, i64::from(partition % 251));
            }
        }
        valid.push((format!("20,000 dense partitions in {topics} topics"), dense));
    }
    for (what, offsets) in valid {
        let bytes = format::encode(&common::checkpoint("s", 1, offsets)).unwrap();
        let peak = peak_of_decode(&bytes);
        assert!(
            peak <= bound(bytes.len()),
            "{what}: {peak} bytes allocated for {} bytes of input",
            bytes.len()
        );
    }
}
