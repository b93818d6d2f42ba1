//! ConfigMgr client installation command lines (`shared/specs/task-sequence.md` §10).
