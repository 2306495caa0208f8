//! E-mail through the company's SMTP server (lettre). The settings live in
//! the company's settings with the password encrypted like other secrets; a
//! batch on the e-mail channel sends one message per recipient, each
//! addressed alone, over one pooled connection.
//!
//! Each message carries a Message-ID made from its recipient's id, so a
//! message sent again after a crash (between the server's acceptance and the
//! recipient's record) is the same message to every mail system that
//! deduplicates, which is all of the common ones.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue, MessageId};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use loupan_domain::customers::parse_email;
use loupan_domain::notices::SmtpSecurity;
use loupan_domain::validation::required_text;
use loupan_domain::{Invalid, Permission};
use serde::{Deserialize, Serialize};

use super::{SendFailure, TestOutcome};
use crate::{Actor, ServiceError, ServiceResult, Services};

const SMTP: &str = "smtp";

/// The SMTP settings as stored: the password sealed by the secrets key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    host: String,
    port: u16,
    security: SmtpSecurity,
    user: Option<String>,
    password_encrypted: Option<String>,
    sender_name: String,
    sender_address: String,
}

/// The SMTP settings as an administrator sees them: never the password.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    /// Whether a password is kept (it is never shown).
    pub has_password: bool,
    /// The name recipients see, such as 某某置业 客户服务中心.
    pub sender_name: String,
    pub sender_address: String,
}

impl From<&Stored> for SmtpSettings {
    fn from(s: &Stored) -> Self {
        SmtpSettings {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
            user: s.user.clone(),
            has_password: s.password_encrypted.is_some(),
            sender_name: s.sender_name.clone(),
            sender_address: s.sender_address.clone(),
        }
    }
}

/// The SMTP settings as typed; an absent password keeps the one kept.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SmtpForm {
    /// A host name or address, without spaces or slashes.
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, max_length = 200, pattern = "^\\s*[^\\s/]+\\s*$")
    )]
    pub host: Option<String>,
    /// 25, 465 (implicit TLS) or 587 (STARTTLS) usually.
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, minimum = 1, maximum = 65535))]
    pub port: Option<u32>,
    /// `starttls` (the default), `tls` (implicit, port 465) or `none`
    /// (unencrypted: only for a relay inside the company network).
    #[cfg_attr(feature = "utoipa", schema(pattern = "^(starttls|tls|none)?$"))]
    pub security: Option<String>,
    pub user: Option<String>,
    /// Absent or empty: keep the password kept; `clear_password` removes it.
    pub password: Option<String>,
    #[serde(default)]
    pub clear_password: bool,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, max_length = 100, pattern = "\\S")
    )]
    pub sender_name: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = Option<loupan_domain::customers::Email>))]
    pub sender_address: Option<String>,
}

async fn stored(services: &Services) -> ServiceResult<Option<Stored>> {
    super::setting(services, SMTP).await
}

/// The company's SMTP settings, None until an administrator sets them.
pub async fn smtp_settings(services: &Services, actor: &Actor) -> ServiceResult<Option<SmtpSettings>> {
    actor.require(Permission::ManageIntegrations)?;
    Ok(stored(services).await?.as_ref().map(SmtpSettings::from))
}

/// Sets the company's SMTP settings (recorded in the audit trail, without the password).
pub async fn set_smtp(services: &Services, actor: &Actor, form: SmtpForm) -> ServiceResult<SmtpSettings> {
    actor.require(Permission::ManageIntegrations)?;
    let mut errors = Invalid::default();
    let host = required_text(&mut errors, "host", form.host.as_deref(), 200);
    if host.contains(|c: char| c.is_whitespace() || c == '/') {
        errors.push("host", "invalid_host");
    }
    let port = match form.port {
        None => {
            errors.push("port", "required");
            0
        }
        Some(p) => u16::try_from(p).ok().filter(|p| *p > 0).unwrap_or_else(|| {
            errors.push("port", "invalid_port");
            0
        }),
    };
    let security = match form.security.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => SmtpSecurity::StartTls,
        Some(s) => SmtpSecurity::parse(s).unwrap_or_else(|| {
            errors.push("security", "unknown_kind");
            SmtpSecurity::StartTls
        }),
    };
    let user = form.user.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned);
    let sender_name = required_text(&mut errors, "sender_name", form.sender_name.as_deref(), 100);
    let sender_address = match form.sender_address.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push("sender_address", "required");
            String::new()
        }
        Some(a) => parse_email(a).unwrap_or_else(|code| {
            errors.push("sender_address", code);
            String::new()
        }),
    };
    errors.into_result()?;
    let before = stored(services).await?;
    let password = form.password.as_deref().filter(|p| !p.is_empty());
    let password_encrypted = match (password, form.clear_password) {
        (Some(p), _) => Some(services.secrets.encrypt(p)?),
        (None, true) => None,
        (None, false) => before.as_ref().and_then(|b| b.password_encrypted.clone()),
    };
    let new = Stored { host, port, security, user, password_encrypted, sender_name, sender_address };
    let shown = |s: &Stored| serde_json::to_value(SmtpSettings::from(s)).ok();
    super::save_setting(services, actor, SMTP, &new, before.as_ref().and_then(shown), shown(&new)).await?;
    Ok(SmtpSettings::from(&new))
}

/// One message: to one address, a subject, a plain-text body, maybe a PDF.
pub(crate) struct Mail<'a> {
    /// Made unique per recipient (`<recipient id>@loupan`): the same message when sent again.
    pub id: &'a str,
    pub to_name: &'a str,
    pub to_address: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub pdf: Option<(String, Vec<u8>)>,
    /// Marketing mail: the customer's unsubscribe link, under the text and in
    /// the `List-Unsubscribe` headers that mail programs show as a button (RFC 8058).
    pub unsubscribe: Option<&'a str>,
}

/// `List-Unsubscribe: <https://…>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the link takes a POST without a page.
#[derive(Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// A connection pool to the company's SMTP server.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// For a server without TLS, one connection of our own (see `Plain`).
    plain: Option<Plain>,
    from: Mailbox,
}

/// A plain connection to a relay inside the company network, kept open from
/// message to message, with Nagle's algorithm off: lettre writes a message
/// and its closing `.` in two writes, and with Nagle on the second waits for
/// the server's delayed acknowledgement of the first (40 ms a message, 25
/// messages a second whatever the server's speed).
struct Plain {
    address: (String, u16),
    credentials: Option<Credentials>,
    connection: tokio::sync::Mutex<Option<AsyncSmtpConnection>>,
}

impl Plain {
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendFailure> {
        let (host, port) = &self.address;
        let stream =
            tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect((host.as_str(), *port)))
                .await
                .map_err(|_| SendFailure::Later(format!("{host}:{port}: no answer in 10 s")))?
                .map_err(|e| SendFailure::Later(format!("{host}:{port}: {e}")))?;
        stream.set_nodelay(true).map_err(|e| SendFailure::Later(e.to_string()))?;
        let hello = lettre::transport::smtp::extension::ClientId::default();
        let mut connection =
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello).await.map_err(failure)?;
        if let Some(credentials) = &self.credentials {
            connection.auth(&[Mechanism::Plain, Mechanism::Login], credentials).await.map_err(failure)?;
        }
        Ok(connection)
    }

    async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<Response, SendFailure> {
        let mut slot = self.connection.lock().await;
        let mut connection = match slot.take() {
            Some(c) if !c.has_broken() => c,
            _ => self.connect().await?,
        };
        let answer = connection.send(envelope, bytes).await;
        // A refused recipient leaves the connection usable; a broken one is opened again next time.
        if !connection.has_broken() {
            *slot = Some(connection);
        }
        answer.map_err(failure)
    }
}

/// What a failure means for the message: a permanent refusal (550) is the
/// recipient's answer; anything else is tried again later.
fn failure(e: lettre::transport::smtp::Error) -> SendFailure {
    if e.is_permanent() { SendFailure::Refused(e.to_string()) } else { SendFailure::Later(e.to_string()) }
}

impl Mailer {
    /// The company's mailer; `smtp_not_configured` until someone sets it up.
    pub(crate) async fn load(services: &Services) -> ServiceResult<Mailer> {
        let s = stored(services).await?.ok_or(ServiceError::Conflict("smtp_not_configured"))?;
        let builder = match s.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            SmtpSecurity::StartTls | SmtpSecurity::Tls => {
                let tls = TlsParameters::new(s.host.clone()).map_err(ServiceError::internal)?;
                let tls = if s.security == SmtpSecurity::Tls { Tls::Wrapper(tls) } else { Tls::Required(tls) };
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).tls(tls)
            }
        };
        let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(10)));
        let credentials = match &s.user {
            Some(user) => {
                let password = match &s.password_encrypted {
                    Some(sealed) => services.secrets.decrypt(sealed)?,
                    None => String::new(),
                };
                Some(Credentials::new(user.clone(), password))
            }
            None => None,
        };
        if let Some(credentials) = &credentials {
            builder = builder.credentials(credentials.clone());
        }
        let from = Mailbox::new(
            Some(s.sender_name.clone()),
            s.sender_address.parse().map_err(|e| ServiceError::internal(format!("the sender address: {e}")))?,
        );
        let plain = (s.security == SmtpSecurity::None).then(|| Plain {
            address: (s.host.clone(), s.port),
            credentials: credentials.clone(),
            connection: tokio::sync::Mutex::new(None),
        });
        Ok(Mailer { transport: builder.build(), plain, from })
    }

    /// Sends one message; the server's answer when it accepted it.
    pub(crate) async fn send(&self, mail: Mail<'_>) -> Result<String, SendFailure> {
        let to_address =
            mail.to_address.parse().map_err(|e| SendFailure::Refused(format!("{}: {e}", mail.to_address)))?;
        let to = Mailbox::new(Some(mail.to_name.to_owned()), to_address);
        let body = match mail.unsubscribe {
            Some(link) => format!("{}\n\n--\n不想再收到此类邮件？退订 / Unsubscribe: {link}\n", mail.body),
            None => mail.body.to_owned(),
        };
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(MessageId::from(format!("<{}@loupan>", mail.id)));
        if let Some(link) = mail.unsubscribe {
            builder = builder.header(ListUnsubscribe(link.to_owned())).header(OneClick);
        }
        let message = match mail.pdf {
            None => builder.singlepart(text),
            Some((name, bytes)) => builder.multipart(
                MultiPart::mixed().singlepart(text).singlepart(
                    Attachment::new(name).body(
                        bytes,
                        ContentType::parse("application/pdf")
                            .map_err(|e| SendFailure::Refused(format!("attachment type: {e}")))?,
                    ),
                ),
            ),
        }
        .map_err(|e| SendFailure::Refused(e.to_string()))?;
        let answer = match &self.plain {
            Some(plain) => plain.send(message.envelope(), &message.formatted()).await?,
            None => self.transport.send(message).await.map_err(failure)?,
        };
        Ok(answer.message().collect::<Vec<_>>().join(" "))
    }
}

/// Sends a test message to `to` with the settings as they are.
pub async fn send_test(services: &Services, actor: &Actor, to: &str) -> ServiceResult<TestOutcome> {
    actor.require(Permission::ManageIntegrations)?;
    let to = parse_email(to).map_err(|code| Invalid::one("to", code))?;
    let mailer = Mailer::load(services).await?;
    let mail = Mail {
        id: &loupan_store::new_id(),
        to_name: &actor.display_name,
        to_address: &to,
        subject: "Loupan 邮件测试 / test message",
        body: "这是一封测试邮件：Loupan 能通过这台服务器发送邮件。\n\nThis is a test: Loupan can send e-mail through this server.",
        pdf: None,
        unsubscribe: None,
    };
    Ok(match mailer.send(mail).await {
        Ok(answer) => TestOutcome { delivered: true, answer },
        Err(failure) => TestOutcome { delivered: false, answer: failure.to_string() },
    })
}
