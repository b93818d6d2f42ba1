//! Offline diagnosis of a device's registry, e.g. the Autopilot enrollment status page
//! (`shared/specs/task-sequence.md` §11).
