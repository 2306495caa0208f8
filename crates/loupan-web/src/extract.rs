//! Extractors: the acting user, the caller's language, JSON and form bodies
//! whose rejections become translated errors.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use loupan_service::Actor;

use crate::error::AppError;
use crate::i18n::Lang;

/// Set by the authentication middleware on every request.
#[derive(Clone)]
pub struct Caller {
    pub actor: Option<Actor>,
    /// A credential was presented but is unknown or expired.
    pub stale_credential: bool,
    /// Authenticated through the session cookie (so CSRF rules apply).
    pub via_cookie: bool,
    pub lang: Lang,
}

/// A signed-in user; 401 otherwise.
pub struct Authed(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        match parts.extensions.get::<Caller>() {
            Some(Caller { actor: Some(actor), .. }) => Ok(Authed(actor.clone())),
            Some(Caller { stale_credential: true, .. }) => {
                Err(AppError::new(StatusCode::UNAUTHORIZED, "session_expired"))
            }
            _ => Err(AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated")),
        }
    }
}

/// The signed-in user if any (the login page works either way).
pub struct MaybeAuthed(pub Option<Actor>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuthed {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthed(parts.extensions.get::<Caller>().and_then(|c| c.actor.clone())))
    }
}

/// Where a request came from, for limits on what anyone may send: the last
/// `X-Forwarded-For` entry behind a trusted proxy, else the connection's peer
/// (None when served without one, as in tests through the router).
pub struct ClientAddress(pub Option<String>);

impl FromRequestParts<crate::AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let forwarded = || {
            let header = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).next_back()?;
            header.rsplit(',').map(str::trim).find(|a| !a.is_empty()).map(str::to_owned)
        };
        let peer = || {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|axum::extract::ConnectInfo(addr)| addr.ip().to_string())
        };
        Ok(ClientAddress(if state.trust_forwarded_for { forwarded().or_else(peer) } else { peer() }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().map(|c| c.lang).unwrap_or_default())
    }
}

/// `axum::Json` whose rejections name the problem in the caller's language.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        // Within the JSON limit, whatever larger limit files have.
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, crate::BODY_LIMIT)
            .await
            .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?;
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        ApiJson::from_value(value)
    }
}

impl<T: serde::de::DeserializeOwned> ApiJson<T> {
    /// Types a body already read as JSON, naming the field that does not fit.
    pub fn from_value(mut value: serde_json::Value) -> Result<Self, AppError> {
        integral_numbers(&mut value);
        match serde_path_to_error::deserialize(value) {
            Ok(typed) => Ok(ApiJson(typed)),
            Err(e) => {
                let field = e.path().to_string();
                Err(if field.is_empty() || field == "." {
                    AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json_field")
                } else {
                    AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json_field", field, "invalid_type")
                })
            }
        }
    }
}

/// JSON has one number type: `2.0` is the integer 2 to JSON Schema (and to
/// clients that print every number with a decimal point), so an integral
/// float is read as the integer it is before the request is typed.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15) {
                // In range and whole: exactly representable as an i64.
                *n = serde_json::Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// `axum::extract::Query` with translated rejections.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

/// `axum::extract::Path` with translated rejections.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(value))
    }
}

/// An HTML form body as name/value pairs; a name may repeat (check boxes).
#[derive(Clone, Debug, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
    /// What was typed, by name (the first of a repeated name), to fill a form again.
    pub fn values(&self) -> std::collections::BTreeMap<String, String> {
        let mut map = std::collections::BTreeMap::new();
        for (k, v) in &self.0 {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        map
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = AppError;
    async fn from_request(req: Request, _: &S) -> Result<Self, AppError> {
        let bytes = axum::body::to_bytes(req.into_body(), crate::BODY_LIMIT)
            .await
            .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?;
        Ok(FormData::parse(&bytes))
    }
}

pub use loupan_domain::validation::optional_date;

/// For a query parameter documented as one of a list of names (a status, a
/// kind): an empty value is none of them, so the API refuses it (400) rather
/// than reading it as "any", which only the pages' forms mean by it. A
/// non-empty name is passed on, and the service answers an unknown one with a
/// field error naming the parameter.
pub fn named_param<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    match Option::<String>::deserialize(d)? {
        Some(name) if name.is_empty() => Err(serde::de::Error::custom("an empty value is not one of the names")),
        name => Ok(name),
    }
}

#[cfg(test)]
mod tests {
    use super::integral_numbers;
    use serde_json::json;

    #[test]
    fn integral_floats_read_as_integers_and_fractions_stay() {
        let mut v = json!({"floors": 2081.0, "share": 0.5, "rows": [3.0, -4.0, 1e300], "name": "2.0"});
        integral_numbers(&mut v);
        assert_eq!(v, json!({"floors": 2081, "share": 0.5, "rows": [3, -4, 1e300], "name": "2.0"}));
        assert!(v["floors"].is_i64());
    }
}
