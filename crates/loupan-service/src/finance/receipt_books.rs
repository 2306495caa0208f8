//! Receipt books (票据): a run of pre-printed receipt numbers registered for a
//! project. Numbers are issued in order as the cashier records receipts; a
//! spoiled form, or the number of a receipt that was voided or reversed, is
//! voided with a reason. A book's report accounts for every number issued so
//! far: used by a receipt, voided (and why), or — never expected — missing.

use chrono::{DateTime, Utc};
use loupan_domain::finance::ReceiptStatus;
use loupan_domain::ids::ProjectId;
use loupan_domain::{Invalid, Money, Permission};
use loupan_store::Connection;
use loupan_store::finance::{self as store, NumberVoidRow, ReceiptBookRow};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

#[derive(Debug, Clone, Default)]
pub struct NewBook {
    pub project_id: Option<String>,
    pub prefix: Option<String>,
    pub first_number: Option<i64>,
    pub last_number: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Book {
    pub id: String,
    pub project_id: ProjectId,
    pub prefix: String,
    pub first_number: i64,
    pub last_number: i64,
    /// The next number to issue; `last_number + 1` when the book is used up.
    pub next_number: i64,
    pub issued: i64,
    pub left: i64,
    /// The first and last numbers as printed, e.g. `SJ2026-001 – SJ2026-500`.
    pub range: String,
    pub registered_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<ReceiptBookRow> for Book {
    fn from(b: ReceiptBookRow) -> Self {
        Book {
            issued: b.next_number - b.first_number,
            left: b.last_number + 1 - b.next_number,
            range: format!("{} – {}", printed(&b, b.first_number), printed(&b, b.last_number)),
            id: b.id,
            project_id: b.project_id,
            prefix: b.prefix,
            first_number: b.first_number,
            last_number: b.last_number,
            next_number: b.next_number,
            registered_by: b.registered_by,
            created_at: b.created_at,
        }
    }
}

/// The printed number: prefix and the number padded to the width of the book's last one.
fn printed(book: &ReceiptBookRow, number: i64) -> String {
    let width = book.last_number.to_string().len();
    format!("{}{number:0width$}", book.prefix)
}

/// Registers a book for a project (finance or the cashier).
pub async fn register(services: &Services, actor: &Actor, form: NewBook) -> ServiceResult<Book> {
    actor.require(Permission::RecordReceipts)?;
    let mut errors = Invalid::default();
    let prefix = loupan_domain::validation::required_text(&mut errors, "prefix", form.prefix.as_deref(), 20);
    if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        errors.push("prefix", "invalid_prefix");
    }
    let first = form.first_number.unwrap_or(0);
    let last = form.last_number.unwrap_or(0);
    if form.first_number.is_none() {
        errors.push("first_number", "required");
    } else if first < 1 {
        errors.push("first_number", "must_be_positive");
    }
    if form.last_number.is_none() {
        errors.push("last_number", "required");
    } else if last < first || last.checked_sub(first).is_none_or(|span| span >= 100_000) {
        errors.push("last_number", "invalid_range");
    }
    let project_id = form.project_id.filter(|p| !p.is_empty()).map(ProjectId::from);
    if project_id.is_none() {
        errors.push("project_id", "required");
    }
    errors.into_result()?;
    let project_id = project_id.unwrap_or_default();
    let tx = services.store.begin_write().await?;
    crate::customers::check_project(&tx, actor, &project_id)
        .await
        .map_err(|e| e.when_absent(|| Invalid::one("project_id", "unknown_project").into()))?;
    // Two books under one prefix may not share a number.
    for other in store::books(&tx, None, Some(&project_id)).await? {
        if other.prefix == prefix && other.first_number <= last && first <= other.last_number {
            return Err(Invalid::one("first_number", "overlaps_book").into());
        }
    }
    let row = ReceiptBookRow {
        id: loupan_store::new_id(),
        project_id,
        prefix,
        first_number: first,
        last_number: last,
        next_number: first,
        registered_by: actor.by(),
        created_at: services.clock.now(),
    };
    store::insert_book(&tx, &row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "receipt_book.register",
            record_type: "receipt_book",
            record_id: row.id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&Book::from(row.clone()))?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(row.into())
}

/// The number for a new receipt, inside the recording transaction: from the
/// given book, or the project's oldest book with numbers left; none when the
/// project keeps no books.
pub(crate) async fn issue<C: Connection>(
    conn: &C,
    project_id: &ProjectId,
    book_id: Option<&str>,
) -> ServiceResult<(Option<String>, Option<String>)> {
    let books = store::books(conn, None, Some(project_id)).await?;
    let book = match book_id {
        Some(id) => match books.into_iter().find(|b| b.id == id) {
            Some(b) if b.next_number <= b.last_number => b,
            Some(_) => return Err(Invalid::one("book_id", "book_used_up").into()),
            None => return Err(Invalid::one("book_id", "unknown_book").into()),
        },
        None => match books.into_iter().find(|b| b.next_number <= b.last_number) {
            Some(b) => b,
            None => return Ok((None, None)),
        },
    };
    let Some(number) = store::take_number(conn, &book.id).await? else {
        return Err(Invalid::one("book_id", "book_used_up").into());
    };
    Ok((Some(book.id.clone()), Some(printed(&book, number))))
}

fn visible(actor: &Actor, book: Option<ReceiptBookRow>) -> ServiceResult<ReceiptBookRow> {
    match book {
        Some(b) if actor.sees_project(&b.project_id) => Ok(b),
        _ => Err(ServiceError::NotFound("receipt_book")),
    }
}

pub async fn list(services: &Services, actor: &Actor, project_id: Option<&ProjectId>) -> ServiceResult<Vec<Book>> {
    actor.require(Permission::ReadFinance)?;
    Ok(store::books(services.store.conn(), actor.visible_projects(), project_id)
        .await?
        .into_iter()
        .map(Book::from)
        .collect())
}

/// One number of a book that is not simply a receipt: voided (with why) or missing.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub number: String,
    /// `voided` or `missing`.
    pub kind: &'static str,
    pub reason: Option<String>,
    pub receipt_id: Option<String>,
    pub voided_by: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
}

/// A receipt of the book, by number.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    pub number: String,
    pub receipt_id: String,
    pub amount: Money,
    pub status: ReceiptStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct BookReport {
    pub book: Book,
    pub receipts: Vec<Issued>,
    pub gaps: Vec<Gap>,
}

/// Every number issued so far, accounted for.
pub async fn report(services: &Services, actor: &Actor, id: &str) -> ServiceResult<BookReport> {
    actor.require(Permission::ReadFinance)?;
    let conn = services.store.conn();
    let book = visible(actor, store::find_book(conn, id).await?)?;
    let receipts = store::receipts_of_book(conn, id).await?;
    let voids = store::voids_of_book(conn, id).await?;
    let mut issued: Vec<Issued> = receipts
        .iter()
        .map(|r| Issued {
            number: r.number.clone().unwrap_or_default(),
            receipt_id: r.id.clone(),
            amount: r.amount,
            status: r.status,
        })
        .collect();
    issued.sort_by(|a, b| a.number.cmp(&b.number));
    let mut gaps = Vec::new();
    for n in book.first_number..book.next_number {
        let number = printed(&book, n);
        if let Some(v) = voids.iter().find(|v| v.number == n) {
            gaps.push(Gap {
                number,
                kind: "voided",
                reason: Some(v.reason.clone()),
                receipt_id: v.receipt_id.clone(),
                voided_by: Some(v.voided_by.clone()),
                voided_at: Some(v.voided_at),
            });
        } else if !receipts.iter().any(|r| r.number.as_deref() == Some(number.as_str())) {
            gaps.push(Gap {
                number,
                kind: "missing",
                reason: None,
                receipt_id: None,
                voided_by: None,
                voided_at: None,
            });
        }
    }
    Ok(BookReport { book: book.into(), receipts: issued, gaps })
}

/// Voids a number: the next unused one (a spoiled form), or that of a receipt of
/// this book which was voided or reversed. The reason is required.
pub async fn void(
    services: &Services,
    actor: &Actor,
    id: &str,
    receipt_id: Option<&str>,
    reason: Option<&str>,
) -> ServiceResult<Gap> {
    actor.require(Permission::RecordReceipts)?;
    let mut errors = Invalid::default();
    let reason = loupan_domain::validation::required_text(&mut errors, "reason", reason, 200);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let book = visible(actor, store::find_book(&tx, id).await?)?;
    let number = match receipt_id.filter(|r| !r.is_empty()) {
        None => store::take_number(&tx, id)
            .await?
            .ok_or_else(|| ServiceError::from(Invalid::one("book_id", "book_used_up")))?,
        Some(r) => {
            let receipt = store::find_receipt(&tx, r).await?;
            let Some(receipt) = receipt.filter(|x| x.book_id.as_deref() == Some(id)) else {
                return Err(Invalid::one("receipt_id", "unknown_receipt").into());
            };
            if receipt.status != ReceiptStatus::Void && receipt.reversed_by.is_none() {
                return Err(ServiceError::Conflict("receipt_still_counts"));
            }
            let printed_number = receipt.number.unwrap_or_default();
            let digits = printed_number.strip_prefix(book.prefix.as_str()).unwrap_or_default();
            digits.parse::<i64>().map_err(ServiceError::internal)?
        }
    };
    if store::voids_of_book(&tx, id).await?.iter().any(|v| v.number == number) {
        return Err(ServiceError::Conflict("number_already_voided"));
    }
    let row = NumberVoidRow {
        id: loupan_store::new_id(),
        book_id: id.to_owned(),
        number,
        reason: reason.clone(),
        receipt_id: receipt_id.filter(|r| !r.is_empty()).map(str::to_owned),
        voided_by: actor.by(),
        voided_at: services.clock.now(),
    };
    store::insert_void(&tx, &row).await?;
    let gap = Gap {
        number: printed(&book, number),
        kind: "voided",
        reason: Some(reason),
        receipt_id: row.receipt_id.clone(),
        voided_by: Some(row.voided_by.clone()),
        voided_at: Some(row.voided_at),
    };
    audit::record(
        &tx,
        actor,
        Change {
            action: "receipt_book.void",
            record_type: "receipt_book",
            record_id: id,
            before: None,
            after: crate::platform::audit::snapshot(&gap)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(gap)
}
