//! Files in an S3-compatible bucket (AWS S3, MinIO, Ceph, and the cloud
//! stores of Chinese providers that speak the S3 API), for a group whose
//! instances must all see every file. Configured by
//! `LOUPAN_FILES_URL=s3://bucket/prefix` with `LOUPAN_S3_ENDPOINT`
//! (`https://s3.<region>.amazonaws.com` by default), `AWS_REGION` and the
//! credentials `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and
//! `AWS_SESSION_TOKEN`) from the environment.
//!
//! Requests are signed with AWS Signature Version 4 here, over the HTTP
//! client Loupan already has, rather than with an SDK: four operations (put,
//! get, head, delete) on path-style URLs need a page of code, and an SDK would
//! double the build. A put carries the SHA-256 of its bytes in the signature,
//! so a body damaged on the way is refused by the store; a get streams.

use std::io::{Error, ErrorKind};
use std::pin::Pin;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::files::{FileBody, FileFuture, FileStore};

/// Where the bucket is and who Loupan is to it.
#[derive(Clone)]
pub struct S3Config {
    /// `http(s)://host[:port]`, without a trailing slash.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Prepended to every key (`loupan/`), empty for the bucket's root.
    pub prefix: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// From `s3://bucket/prefix` and the environment's endpoint, region and credentials.
    pub fn from_url(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<S3Config, String> {
        let rest = url.strip_prefix("s3://").ok_or("LOUPAN_FILES_URL must be s3://bucket[/prefix]")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(format!("`{bucket}` is not a bucket name (3-63 lower-case letters, digits, `-`, `.`)"));
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        let region = env("AWS_REGION").filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".into());
        let endpoint = env("LOUPAN_S3_ENDPOINT")
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"))
            .trim_end_matches('/')
            .to_owned();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err("LOUPAN_S3_ENDPOINT must start with https:// or http://".into());
        }
        let access_key = env("AWS_ACCESS_KEY_ID").filter(|k| !k.is_empty()).ok_or("AWS_ACCESS_KEY_ID is not set")?;
        let secret_key =
            env("AWS_SECRET_ACCESS_KEY").filter(|k| !k.is_empty()).ok_or("AWS_SECRET_ACCESS_KEY is not set")?;
        let session_token = env("AWS_SESSION_TOKEN").filter(|t| !t.is_empty());
        Ok(S3Config { endpoint, region, bucket: bucket.to_owned(), prefix, access_key, secret_key, session_token })
    }
}

#[derive(Debug)]
pub struct S3Files {
    config: S3Config,
    client: reqwest::Client,
}

impl S3Files {
    pub fn new(config: S3Config) -> Result<S3Files, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| Error::other(format!("S3 client: {e}")))?;
        Ok(S3Files { config, client })
    }

    /// The object's path on the endpoint: `/bucket/prefix/key`, each segment encoded.
    fn path(&self, key: &str) -> String {
        let object = format!("{}{key}", self.config.prefix);
        let encoded: Vec<String> = object.split('/').map(uri_encode).collect();
        format!("/{}/{}", self.config.bucket, encoded.join("/"))
    }

    /// A signed request for `key` carrying `payload` (its SHA-256 is signed).
    fn request(&self, method: reqwest::Method, key: &str, payload: &[u8]) -> Result<reqwest::RequestBuilder, Error> {
        if !super::files::valid_key(key) {
            return Err(Error::new(ErrorKind::InvalidInput, format!("not a file key: {key:?}")));
        }
        self.signed(method, &self.path(key), &[], payload)
    }

    /// A signed request for `path` with the query `query` (names and values as they are).
    fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        payload: &[u8],
    ) -> Result<reqwest::RequestBuilder, Error> {
        let mut pairs: Vec<String> =
            query.iter().map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v))).collect();
        pairs.sort();
        let query = pairs.join("&");
        let url = if query.is_empty() {
            format!("{}{path}", self.config.endpoint)
        } else {
            format!("{}{path}?{query}", self.config.endpoint)
        };
        let host = host_of(&self.config.endpoint);
        let now = chrono::Utc::now();
        let headers = sign(&self.config, (method.as_str(), &host, path, &query), &[], payload, now);
        let mut request = self.client.request(method, url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        Ok(request)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        request.send().await.map_err(|e| Error::other(format!("S3 {}: {e}", self.config.endpoint)))
    }
}

/// `host[:port]` as the Host header carries it.
fn host_of(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// RFC 3986 encoding as SigV4 wants it: everything but unreserved characters.
fn uri_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    #[allow(clippy::expect_used)] // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The headers of an AWS Signature Version 4 request (`query` already
/// canonical: encoded pairs in order): `extra` headers (lower-case names) are
/// signed and sent with the rest.
fn sign(
    config: &S3Config,
    (method, host, path, query): (&str, &str, &str, &str),
    extra: &[(&'static str, String)],
    payload: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(&'static str, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = now.format("%Y%m%d").to_string();
    let payload_hash = hex::encode(Sha256::digest(payload));
    let mut headers: Vec<(&'static str, String)> = vec![
        ("host", host.to_owned()),
        ("x-amz-content-sha256", payload_hash.clone()),
        ("x-amz-date", amz_date.clone()),
    ];
    if let Some(token) = &config.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    headers.extend(extra.iter().cloned());
    headers.sort_by_key(|(name, _)| *name);
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed_headers = headers.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(";");
    let canonical_request = format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let scope = format!("{date}/{}/s3/aws4_request", config.region);
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
    let key = hmac(format!("AWS4{}", config.secret_key).as_bytes(), &date);
    let key = hmac(&key, &config.region);
    let key = hmac(&key, "s3");
    let key = hmac(&key, "aws4_request");
    let signature = hex::encode(hmac(&key, &string_to_sign));
    headers.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            config.access_key
        ),
    ));
    // reqwest writes Host itself, from the URL: the same value.
    headers.retain(|(k, _)| *k != "host");
    headers
}

/// The texts of every `<name>…</name>` in an S3 answer, unescaped. Loupan's
/// keys are its own (`2026/<id>`), so a tag never holds markup of its own.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        let text = after[..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        found.push(text);
        rest = &after[end + close.len()..];
    }
    found
}

/// An answer the store should not have given, as an I/O error with its status and body.
async fn refused(what: &str, key: &str, response: reqwest::Response) -> Error {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    let kind = if status == reqwest::StatusCode::NOT_FOUND { ErrorKind::NotFound } else { ErrorKind::Other };
    Error::new(kind, format!("S3 {what} {key}: {status} {body}"))
}

impl FileStore for S3Files {
    fn put<'a>(&'a self, key: &'a str, mut body: Pin<Box<dyn AsyncRead + Send + 'a>>) -> FileFuture<'a, u64> {
        Box::pin(async move {
            // The callers hand over at most a few megabytes already in memory;
            // S3 wants the length (and the signature the hash) before the bytes.
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes).await?;
            let len = bytes.len() as u64;
            let request = self.request(reqwest::Method::PUT, key, &bytes)?.body(bytes);
            let response = self.send(request).await?;
            if !response.status().is_success() {
                return Err(refused("put", key, response).await);
            }
            Ok(len)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> FileFuture<'a, FileBody> {
        Box::pin(async move {
            let response = self.send(self.request(reqwest::Method::GET, key, b"")?).await?;
            if !response.status().is_success() {
                return Err(refused("get", key, response).await);
            }
            let len = response.content_length().ok_or_else(|| Error::other(format!("S3 get {key}: no length")))?;
            use tokio_stream::StreamExt;
            let chunks = response.bytes_stream().map(|chunk| chunk.map_err(Error::other));
            Ok(FileBody { len, reader: Box::pin(tokio_util::io::StreamReader::new(chunks)) })
        })
    }

    fn head<'a>(&'a self, key: &'a str) -> FileFuture<'a, Option<u64>> {
        Box::pin(async move {
            let response = self.send(self.request(reqwest::Method::HEAD, key, b"")?).await?;
            match response.status() {
                reqwest::StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => Ok(response
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())),
                _ => Err(refused("head", key, response).await),
            }
        })
    }

    fn keys(&self) -> FileFuture<'_, Vec<String>> {
        Box::pin(async move {
            // ListObjectsV2, a thousand keys a page, under the prefix.
            let bucket = format!("/{}", self.config.bucket);
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut query = vec![("list-type", "2"), ("prefix", self.config.prefix.as_str())];
                if let Some(t) = &token {
                    query.push(("continuation-token", t.as_str()));
                }
                let response = self.send(self.signed(reqwest::Method::GET, &bucket, &query, b"")?).await?;
                if !response.status().is_success() {
                    return Err(refused("list", &self.config.prefix, response).await);
                }
                let xml = response.text().await.map_err(Error::other)?;
                for key in elements(&xml, "Key") {
                    if let Some(key) = key.strip_prefix(&self.config.prefix) {
                        keys.push(key.to_owned());
                    }
                }
                token = elements(&xml, "NextContinuationToken").into_iter().next();
                if token.is_none() {
                    break;
                }
            }
            keys.sort();
            Ok(keys)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> FileFuture<'a, ()> {
        Box::pin(async move {
            let response = self.send(self.request(reqwest::Method::DELETE, key, b"")?).await?;
            // S3 answers 204 whether or not the key existed; some stores 404.
            if response.status().is_success() || response.status() == reqwest::StatusCode::NOT_FOUND {
                Ok(())
            } else {
                Err(refused("delete", key, response).await)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's own worked example of a signed GET (the S3 documentation's
    /// "GET Object" example: `examplebucket/test.txt`, the first ten bytes).
    #[test]
    fn a_request_is_signed_as_signature_version_4_prescribes() {
        let config = S3Config {
            endpoint: "https://examplebucket.s3.amazonaws.com".into(),
            region: "us-east-1".into(),
            bucket: "examplebucket".into(),
            prefix: String::new(),
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let now = chrono::DateTime::parse_from_rfc3339("2013-05-24T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let range = [("range", "bytes=0-9".to_owned())];
        let request = ("GET", "examplebucket.s3.amazonaws.com", "/test.txt", "");
        let headers = sign(&config, request, &range, b"", now);
        let auth = &headers.iter().find(|(k, _)| *k == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(
            headers.iter().find(|(k, _)| *k == "x-amz-content-sha256").unwrap().1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_listing_is_read() {
        let xml = "<ListBucketResult><Contents><Key>p/2026/a</Key></Contents><Contents><Key>p/a&amp;b</Key>\
                   </Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>";
        assert_eq!(elements(xml, "Key"), ["p/2026/a", "p/a&b"]);
        assert_eq!(elements(xml, "NextContinuationToken"), ["t1"]);
        assert!(elements(xml, "Missing").is_empty());
    }

    #[test]
    fn keys_are_encoded_and_the_url_is_read() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("id".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
            "LOUPAN_S3_ENDPOINT" => Some("http://127.0.0.1:9000/".to_owned()),
            _ => None,
        };
        let config = S3Config::from_url("s3://loupan-files/group/a/", env).unwrap();
        assert_eq!((config.bucket.as_str(), config.prefix.as_str()), ("loupan-files", "group/a/"));
        assert_eq!(config.endpoint, "http://127.0.0.1:9000");
        assert_eq!(config.region, "us-east-1");
        let files = S3Files::new(config).unwrap();
        assert_eq!(files.path("2026/平面图 1.pdf"), "/loupan-files/group/a/2026/%E5%B9%B3%E9%9D%A2%E5%9B%BE%201.pdf");
        assert!(files.request(reqwest::Method::GET, "2026/../keys", b"").is_err());
        assert_eq!(host_of("http://127.0.0.1:9000"), "127.0.0.1:9000");
        assert!(S3Config::from_url("s3://Bad_Bucket", env).is_err());
        assert!(S3Config::from_url("s3://ok-bucket", |_| None).unwrap_err().contains("AWS_ACCESS_KEY_ID"));
        assert!(!format!("{:?}", S3Config::from_url("s3://ok-bucket", env).unwrap()).contains("secret"));
    }
}
