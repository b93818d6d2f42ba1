//! The block-device ioctls `media write` needs (linux/fs.h): size, read-only flag, buffer
//! flush and partition-table re-read.
#![allow(unsafe_code)] // FFI: each call passes a valid fd and a pointer to a local of the right type.

use std::os::fd::AsRawFd;

const BLKROGET: libc::c_ulong = 0x125E;
const BLKRRPART: libc::c_ulong = 0x125F;
const BLKFLSBUF: libc::c_ulong = 0x1261;
const BLKGETSIZE64: libc::c_ulong = 0x8008_1272;

fn check(rc: libc::c_int) -> std::io::Result<()> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Device size in bytes (BLKGETSIZE64).
pub fn size(f: &impl AsRawFd) -> std::io::Result<u64> {
    let mut v: u64 = 0;
    // SAFETY: BLKGETSIZE64 writes one u64 through the pointer; `v` lives across the call.
    check(unsafe { libc::ioctl(f.as_raw_fd(), BLKGETSIZE64 as _, &mut v as *mut u64) })?;
    Ok(v)
}

/// Whether the kernel treats the device as read-only (BLKROGET).
pub fn read_only(f: &impl AsRawFd) -> std::io::Result<bool> {
    let mut v: libc::c_int = 0;
    // SAFETY: BLKROGET writes one int through the pointer; `v` lives across the call.
    check(unsafe { libc::ioctl(f.as_raw_fd(), BLKROGET as _, &mut v as *mut libc::c_int) })?;
    Ok(v != 0)
}

/// Flushes and drops the device's buffer cache (BLKFLSBUF).
pub fn flush_buffers(f: &impl AsRawFd) -> std::io::Result<()> {
    // SAFETY: BLKFLSBUF takes no argument.
    check(unsafe { libc::ioctl(f.as_raw_fd(), BLKFLSBUF as _, 0) })
}

/// Asks the kernel to re-read the partition table (BLKRRPART).
pub fn reread_partitions(f: &impl AsRawFd) -> std::io::Result<()> {
    // SAFETY: BLKRRPART takes no argument.
    check(unsafe { libc::ioctl(f.as_raw_fd(), BLKRRPART as _, 0) })
}

/// The data extents of the first `len` bytes of a (sparse) file: `(offset, length)` pairs from
/// `lseek` SEEK_DATA/SEEK_HOLE; a file system without hole support reports one extent.
pub fn data_extents(f: &impl AsRawFd, len: u64) -> std::io::Result<Vec<(u64, u64)>> {
    let fd = f.as_raw_fd();
    let end = i64::try_from(len).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    let mut off: i64 = 0;
    while off < end {
        // SAFETY: lseek only moves the file offset of a valid fd; no memory is passed.
        let data = unsafe { libc::lseek(fd, off, libc::SEEK_DATA) };
        if data < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole up to the end
            }
            return Err(e);
        }
        if data >= end {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let hole = hole.min(end);
        out.push((data.unsigned_abs(), (hole - data).unsigned_abs()));
        off = hole;
    }
    Ok(out)
}
