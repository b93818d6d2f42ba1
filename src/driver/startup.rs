//! Start-up files of a WinPE image (placeholder, filled in part 2).
