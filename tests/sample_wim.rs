//! `peforge sample boot-wim` filler: PE-like by default (LZX compresses it about as real WinPE
//! files, 2.5–3.5:1), random with `--incompressible`. Sizes come from wimlib-imagex's blob table
//! (`wimlib-imagex info --blobs`), not from peforge.

mod common;

use common::Dir;

/// (uncompressed, compressed, SHA-1) of every file blob of at least 1 MiB, as wimlib reports it.
fn large_blobs(d: &Dir, wim: &str) -> Vec<(u64, u64, String)> {
    let out = d.tool("wimlib-imagex", &["info", wim, "--blobs"]).ok();
    let mut blobs = Vec::new();
    for entry in out.stdout.split("\n\n") {
        let field = |name: &str| {
            entry
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        };
        let (Some(hash), Some(u), Some(c)) = (
            field("Hash"),
            field("Uncompressed size"),
            field("Compressed size"),
        ) else {
            continue;
        };
        let num = |s: String| s.trim_end_matches(" bytes").parse::<u64>().unwrap();
        let (u, c) = (num(u), num(c));
        if u >= 1 << 20 && !entry.contains("METADATA") {
            blobs.push((u, c, hash));
        }
    }
    blobs.sort_by(|a, b| a.2.cmp(&b.2));
    blobs
}

fn ratio(blobs: &[(u64, u64, String)]) -> f64 {
    let u: u64 = blobs.iter().map(|b| b.0).sum();
    let c: u64 = blobs.iter().map(|b| b.1).sum();
    u as f64 / c as f64
}

#[test]
fn default_filler_compresses_like_pe_files_and_is_deterministic() {
    let d = Dir::new();
    d.peforge(&["sample", "boot-wim", "--size-mb", "12", "-o", "a.wim"])
        .ok();
    d.peforge(&["sample", "boot-wim", "--size-mb", "12", "-o", "b.wim"])
        .ok();
    let a = large_blobs(&d, "a.wim");
    // 12 MiB = one 8 MiB file and one 4 MiB file, different content (no deduplication).
    let mut sizes: Vec<u64> = a.iter().map(|b| b.0).collect();
    sizes.sort();
    assert_eq!(sizes, [4 << 20, 8 << 20], "{a:?}");
    let r = ratio(&a);
    assert!((2.5..=3.5).contains(&r), "LZX ratio {r:.2}: {a:?}");
    // Same bytes on every run: the blob hashes (SHA-1 of the content) match.
    let hashes = |v: &[(u64, u64, String)]| v.iter().map(|b| b.2.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&a), hashes(&large_blobs(&d, "b.wim")));
}

#[test]
fn incompressible_filler_does_not_compress() {
    let d = Dir::new();
    d.peforge(&[
        "sample",
        "boot-wim",
        "--size-mb",
        "4",
        "--incompressible",
        "-o",
        "r.wim",
    ])
    .ok();
    let blobs = large_blobs(&d, "r.wim");
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    let r = ratio(&blobs);
    assert!(r < 1.01, "ratio {r:.3}: {blobs:?}");
}
