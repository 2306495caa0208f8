//! Field-level validation errors with stable codes that the web layer translates.

use serde::Serialize;

/// One offending input field and a stable snake_case code (`required`, `too_long`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    /// What the message names beside the field (`line: 3`, `name: customer.nmae`).
    pub facts: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self { field: field.into(), code, facts: Vec::new() }
    }
}

/// Every invalid field of one input, collected so the user can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {0:?}")]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn push(&mut self, field: impl Into<String>, code: &'static str) {
        self.0.push(FieldError::new(field, code));
    }
    /// An error whose message names facts of the input (the line and the name of a template's mistake).
    pub fn push_with(&mut self, field: impl Into<String>, code: &'static str, facts: Vec<(&'static str, String)>) {
        self.0.push(FieldError { field: field.into(), code, facts });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was pushed, else the collected errors.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
    pub fn one(field: impl Into<String>, code: &'static str) -> Self {
        Self(vec![FieldError::new(field, code)])
    }
}

/// A required, trimmed text of at most `max` characters.
pub fn required_text(errors: &mut Invalid, field: &str, value: Option<&str>, max: usize) -> String {
    match value.map(str::trim) {
        None | Some("") => {
            errors.push(field, "required");
            String::new()
        }
        Some(v) if v.chars().count() > max => {
            errors.push(field, "too_long");
            String::new()
        }
        Some(v) => v.to_owned(),
    }
}

/// An optional trimmed text of at most `max` characters; empty means absent.
pub fn optional_text(errors: &mut Invalid, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(v) if v.chars().count() > max => {
            errors.push(field, "too_long");
            None
        }
        Some(v) => Some(v.to_owned()),
    }
}

/// For an optional date in a query or a body: empty (a form left blank) is
/// not given, as the document says; anything else must be `YYYY-MM-DD`.
pub fn optional_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<chrono::NaiveDate>, D::Error> {
    use serde::Deserialize;
    match Option::<String>::deserialize(d)? {
        Some(text) if !text.is_empty() => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not a date (YYYY-MM-DD)")),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_trims_and_bounds() {
        let mut e = Invalid::default();
        assert_eq!(required_text(&mut e, "name", Some("  张三 "), 10), "张三");
        assert!(e.is_empty());
        required_text(&mut e, "name", Some("   "), 10);
        required_text(&mut e, "city", Some("一二三四五六七八九十一"), 10);
        required_text(&mut e, "x", None, 10);
        assert_eq!(
            e.0,
            vec![
                FieldError::new("name", "required"),
                FieldError::new("city", "too_long"),
                FieldError::new("x", "required")
            ]
        );
    }
}
