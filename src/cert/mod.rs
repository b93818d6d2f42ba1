//! Certificates and machine certificate stores (`shared/specs/cert-store-blob.md`).
