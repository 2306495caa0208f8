//! What Loupan says to a user about a record (an approval's summary, a
//! notification's title), kept as a translation key and the facts the sentence
//! names, so each reader sees it in their own language. The facts are data
//! (numbers, unit numbers, names); a fact whose value has its own key
//! (`change_kind: swap` → `change_kind.swap`) is translated too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// The translation key (`approval_summary.special_discount`).
    pub key: String,
    pub facts: BTreeMap<String, String>,
}

impl Sentence {
    pub fn new(key: impl Into<String>, facts: &[(&str, String)]) -> Sentence {
        Sentence { key: key.into(), facts: facts.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect() }
    }
}
