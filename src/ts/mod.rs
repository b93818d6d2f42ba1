//! Task sequences: model, XML, authoring, lint, deployment, packaging (`shared/specs/task-sequence.md`).
