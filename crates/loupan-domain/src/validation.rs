//! Field-level validation errors with stable codes that the web layer translates.

use serde::Serialize;

/// One offending input field and a stable snake_case code (`required`, `too_long`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self { field: field.into(), code }
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
