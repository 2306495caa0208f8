//! Customers in and out of Excel (C1, S2). An import applies the same field
//! rules and duplicate check as the registration form; a check run reports
//! every invalid row and every duplicate without writing anything, and the
//! import itself writes nothing unless every row is valid.

use loupan_documents::xlsx::{self, Cell};
use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::{Invalid, Permission};
use serde::Serialize;

use crate::customers::{self, CustomerQuery, DuplicateMatch, NewCustomer, OwnerNames};
use crate::platform::audit::{self, Change};
use crate::platform::import::{ColumnSpec, RowError, TableRows};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// Rows written per batch: one duplicate lookup and a few inserts each.
const IMPORT_CHUNK: usize = 500;

/// Field, the header Loupan writes, the headers it accepts.
const COLUMNS: [ColumnSpec; 15] = [
    ("name", "姓名", &["姓名", "name"]),
    ("phone", "电话", &["电话", "手机", "phone", "mobile"]),
    ("id_type", "证件类型", &["证件类型", "id_type"]),
    ("id_number", "证件号码", &["证件号码", "身份证号", "id_number"]),
    ("source", "来源渠道", &["来源渠道", "来源", "source"]),
    ("grade", "等级", &["等级", "grade"]),
    ("notes", "备注", &["备注", "notes"]),
    ("kind", "客户类型", &["客户类型", "kind"]),
    ("contact_person", "联系人", &["联系人", "contact_person"]),
    ("email", "电子邮箱", &["电子邮箱", "邮箱", "email"]),
    ("birthday", "生日", &["生日", "出生日期", "birthday"]),
    ("budget", "预算", &["预算", "预算（元）", "budget"]),
    ("wanted_layout", "意向户型", &["意向户型", "wanted_layout"]),
    ("purpose", "置业目的", &["置业目的", "purpose"]),
    ("tags", "标签", &["标签", "tags"]),
];

/// The Chinese words a sheet may use for a customer type or a purpose, as Loupan names them.
fn code_from_chinese(text: &str) -> String {
    match text {
        "个人" => "individual",
        "企业" | "公司" => "enterprise",
        "自住" => "own_use",
        "改善" => "upgrade",
        "投资" => "investment",
        "学区" => "education",
        "养老" => "retirement",
        "办公" => "office",
        other => other,
    }
    .to_owned()
}

#[derive(Debug, Clone, Serialize)]
pub struct RowDuplicates {
    pub row: usize,
    pub name: String,
    pub duplicates: Vec<DuplicateMatch>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct CustomerImportReport {
    pub rows: usize,
    pub valid_rows: usize,
    pub errors: Vec<RowError>,
    /// Rows that collide with existing customers (or earlier rows of the file).
    pub duplicates: Vec<RowDuplicates>,
    pub created: usize,
    pub written: bool,
}

fn id_type_from_chinese(text: &str) -> String {
    match text {
        "身份证" | "居民身份证" => "resident_id",
        "护照" => "passport",
        "港澳通行证" => "hk_macau_permit",
        "台胞证" => "taiwan_permit",
        "营业执照" => "business_license",
        other => other,
    }
    .to_owned()
}

/// Imports customers into `project_id` for the caller. `write` false: a check.
pub async fn import_customers(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    bytes: &[u8],
    write: bool,
) -> ServiceResult<CustomerImportReport> {
    import_with_progress(services, actor, project_id, bytes, write, None).await
}

/// Starts an import as a background job (large files): the caller follows its
/// progress at `GET /api/v1/jobs/{id}`; the job's result is the report.
pub async fn start_import_job(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    bytes: &[u8],
) -> ServiceResult<crate::platform::jobs::Job> {
    actor.require(Permission::WriteCustomers)?;
    let user = actor.user_id.clone().ok_or(ServiceError::Forbidden)?;
    xlsx::read_first_sheet(bytes).map_err(|_| ServiceError::from(Invalid::one("file", "not_an_xlsx_file")))?;
    let tx = services.store.begin_write().await?;
    customers::check_project(&tx, actor, project_id).await?;
    let payload = serde_json::json!({"project_id": project_id, "file": hex::encode(bytes)});
    let job = crate::platform::jobs::NewJob {
        kind: crate::platform::jobs::JobKind::CustomerImport,
        payload,
        run_at: None,
        unique_key: None,
        max_attempts: 1,
        created_by: Some(user.to_string()),
    };
    let id =
        crate::platform::jobs::enqueue(&tx, job).await?.ok_or_else(|| ServiceError::internal("job not enqueued"))?;
    tx.commit().await.map_err(ServiceError::internal)?;
    crate::platform::jobs::get(services, actor, &id).await
}

/// The `customer_import` job: the import, as the user who started it.
pub(crate) async fn run_import_job(
    services: &Services,
    job: &loupan_store::jobs::JobRow,
    progress: &crate::platform::jobs::Progress<'_>,
) -> Result<Option<String>, String> {
    #[derive(serde::Deserialize)]
    struct Payload {
        project_id: ProjectId,
        file: String,
    }
    let p: Payload = serde_json::from_str(&job.payload).map_err(|e| e.to_string())?;
    let bytes = hex::decode(&p.file).map_err(|e| e.to_string())?;
    let user = job.created_by.as_deref().ok_or("import job without a user")?;
    let actor = crate::platform::auth::load_actor(services.store.conn(), &UserId::from(user), None)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the user who started the import no longer exists")?;
    let report = import_with_progress(services, &actor, &p.project_id, &bytes, true, Some(progress))
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_string(&report).map(Some).map_err(|e| e.to_string())
}

async fn import_with_progress(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    bytes: &[u8],
    write: bool,
    progress: Option<&crate::platform::jobs::Progress<'_>>,
) -> ServiceResult<CustomerImportReport> {
    actor.require(Permission::WriteCustomers)?;
    let owner_id = actor.user_id.clone().ok_or(ServiceError::Forbidden)?;
    let table =
        xlsx::read_first_sheet(bytes).map_err(|_| ServiceError::from(Invalid::one("file", "not_an_xlsx_file")))?;
    let mut errors = Vec::new();
    let rows = TableRows::new(&table, &COLUMNS, &["name", "phone"], &mut errors);
    let mut report = CustomerImportReport { rows: rows.len(), ..Default::default() };
    let mut valid = Vec::new();
    for row in rows.iter() {
        let form = NewCustomer {
            project_id: Some(project_id.to_string()),
            name: row.text("name"),
            phone: row.text("phone"),
            id_type: row.text("id_type").map(|t| id_type_from_chinese(&t)),
            id_number: row.text("id_number"),
            source: row.text("source"),
            grade: row.text("grade"),
            notes: row.text("notes"),
            kind: row.text("kind").map(|k| code_from_chinese(&k)),
            contact_person: row.text("contact_person"),
            email: row.text("email"),
            birthday: row.text("birthday"),
            budget: row.text("budget"),
            wanted_layout: row.text("wanted_layout"),
            purpose: row.text("purpose").map(|p| code_from_chinese(&p)),
            tags: row.text("tags"),
            ..Default::default()
        };
        match customers::validate_form(&form, services.clock.today()) {
            Ok(()) => valid.push((row.line, form)),
            Err(invalid) => errors.extend(invalid.0.into_iter().map(|f| RowError {
                row: row.line,
                column: rows.header_of(&f.field),
                code: f.code,
            })),
        }
    }
    report.valid_rows = valid.len();
    report.errors = errors;
    let tx = services.store.begin_write().await?;
    customers::check_project(&tx, actor, project_id).await?;
    let mut names = OwnerNames::new();
    if !write || !report.errors.is_empty() {
        for (line, form) in &valid {
            let found = customers::matches_for(services, &tx, project_id, form, &mut names).await?;
            if !found.is_empty() {
                report.duplicates.push(RowDuplicates {
                    row: *line,
                    name: form.name.clone().unwrap_or_default(),
                    duplicates: found,
                });
            }
        }
        return Ok(report);
    }
    let total = valid.len();
    // A chunk at a time: the duplicate check and the inserts go by the chunk,
    // and the job's progress moves between chunks.
    let mut done = 0;
    let mut rest = valid.into_iter().peekable();
    while rest.peek().is_some() {
        if let Some(p) = progress {
            p.set(done, total).await;
        }
        let chunk: Vec<(usize, NewCustomer)> = rest.by_ref().take(IMPORT_CHUNK).collect();
        let lines: Vec<usize> = chunk.iter().map(|(line, _)| *line).collect();
        let forms: Vec<NewCustomer> = chunk.into_iter().map(|(_, form)| form).collect();
        let written =
            customers::write_batch(services, &tx, actor, project_id, forms, owner_id.clone(), &mut names).await?;
        for (line, r) in lines.into_iter().zip(written) {
            if !r.duplicates.is_empty() {
                report.duplicates.push(RowDuplicates { row: line, name: r.customer.name, duplicates: r.duplicates });
            }
            report.created += 1;
            done += 1;
        }
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    if let Some(p) = progress {
        p.set(total, total).await;
    }
    report.written = true;
    Ok(report)
}

/// A list of customers as xlsx, masked as on screen; the export is audited.
pub async fn export_customers(services: &Services, actor: &Actor, query: CustomerQuery) -> ServiceResult<Vec<u8>> {
    actor.require(Permission::ExportCustomers)?;
    let list = customers::search(services, actor, query.clone(), None, 100_000).await?;
    let headers: Vec<String> = [
        "姓名",
        "电话",
        "证件类型",
        "证件号码",
        "来源渠道",
        "等级",
        "备注",
        "置业顾问",
        "客户类型",
        "预算",
        "意向户型",
        "置业目的",
        "标签",
        "最近联系",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    let text = |v: Option<String>| v.map_or(Cell::Empty, Cell::Text);
    let rows: Vec<Vec<Cell>> = list
        .iter()
        .map(|c| {
            vec![
                Cell::Text(c.name.clone()),
                Cell::Text(c.phone.clone()),
                text(c.id_type.clone()),
                text(c.id_number_masked.clone()),
                text(c.source.clone()),
                text(c.grade.clone()),
                text(c.notes.clone()),
                Cell::Text(c.owner_name.clone()),
                Cell::Text(
                    if c.kind == loupan_domain::customers::CustomerKind::Enterprise { "企业" } else { "个人" }
                        .to_owned(),
                ),
                text(c.needs.budget.map(|m| m.to_string())),
                text(c.needs.layout.clone()),
                text(c.needs.purpose.clone()),
                Cell::Text(c.tags.join("，")),
                text(c.last_contact_at.map(|t| services.clock.local(t).format("%Y-%m-%d %H:%M").to_string())),
            ]
        })
        .collect();
    let bytes = xlsx::write_table("客户", &headers, &rows).map_err(ServiceError::internal)?;
    let tx = services.store.begin_write().await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.export",
            record_type: "customer_list",
            record_id: "export",
            before: None,
            after: Some(serde_json::json!({"rows": list.len(), "conditions": query})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(bytes)
}
