//! `hive set` as a plan: create, change or delete one value of an offline hive (a loose hive
//! file or a hive inside a WIM image) through the safe edit cycle of
//! [`crate::wim::offline::edit_hives`]: write only when something changes, re-read and verify.

use std::rc::Rc;

use super::hive::{self, Hive, RawValue};
use super::value::{self, ValueType};
use crate::progress::Progress;
use crate::wim::offline::{self, HiveTarget, WriteMode};

/// What to do with the value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Create or change it (creating missing keys), from text data ([`value::encode`]).
    Set {
        /// Its type.
        ty: ValueType,
        /// Its data (one item, or one per string for `multi_sz`).
        data: Vec<String>,
    },
    /// Delete it.
    Delete,
}

/// Everything `hive set` needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetPlan {
    /// The hive.
    pub target: HiveTarget,
    /// Key path inside the hive (`\`-separated, case-insensitive).
    pub key: String,
    /// Value name (`""` for the default value).
    pub name: String,
    /// The change.
    pub change: Change,
    /// How the result is written.
    pub write: WriteMode,
}

/// What [`set`] did.
#[derive(Debug, Clone)]
pub struct SetOutcome {
    /// Whether the hive changed.
    pub changed: bool,
    /// Where the value now is: the file written, or the input when nothing needed writing.
    pub written: std::path::PathBuf,
}

/// Errors of [`set`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The data does not fit the type.
    #[error(transparent)]
    Value(#[from] value::Error),
    /// Opening, writing or re-reading the hive failed.
    #[error(transparent)]
    Offline(#[from] offline::Error),
    /// A hive operation failed.
    #[error(transparent)]
    Hive(#[from] hive::Error),
    /// The value read back is not what was written.
    #[error("verification failed: {key}\\{name} does not hold what was written")]
    NotVerified {
        /// The key.
        key: String,
        /// The value name.
        name: String,
    },
}

impl Error {
    /// A one-line suggestion of what the user can do.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Value(e) => e.hint(),
            Error::Offline(e) => e.hint(),
            Error::Hive(e) => e.hint(),
            Error::NotVerified { .. } => None,
        }
    }
}

/// Executes a [`SetPlan`]: encodes the value, edits the hive, writes and verifies.
pub fn set(plan: &SetPlan, progress: Option<Rc<dyn Progress>>) -> Result<SetOutcome, Error> {
    let new = match &plan.change {
        Change::Set { ty, data } => {
            let (ty, data) = value::encode(*ty, data)?;
            Some(RawValue {
                name: plan.name.clone(),
                ty,
                data,
            })
        }
        Change::Delete => None,
    };
    let (key, name) = (plan.key.as_str(), plan.name.as_str());
    let edited = offline::edit_hives(
        plan.target.source(),
        &plan.write.edit_options(progress),
        |h, _| apply(h, key, name, new.as_ref()),
        |h, _, _| verify(h, key, name, new.as_ref()),
    )?;
    Ok(SetOutcome {
        changed: edited.changed,
        written: edited.written.unwrap_or(edited.input),
    })
}

fn apply(h: &mut Hive, key: &str, name: &str, new: Option<&RawValue>) -> Result<bool, Error> {
    match new {
        Some(v) => {
            let node = h.ensure_key(key)?;
            if h.value(node, name)?.as_ref() == Some(v) {
                return Ok(false);
            }
            h.set_value(node, v)?;
            Ok(true)
        }
        None => match h.lookup(key)? {
            Some(node) => Ok(h.delete_value(node, name)?),
            None => Ok(false),
        },
    }
}

fn verify(h: &Hive, key: &str, name: &str, new: Option<&RawValue>) -> Result<(), Error> {
    let got = match h.lookup(key)? {
        Some(n) => h.value(n, name)?,
        None => None,
    };
    if got.as_ref() != new {
        return Err(Error::NotVerified {
            key: key.into(),
            name: name.into(),
        });
    }
    Ok(())
}
