//! The data generator: deterministic (a fixed seed), believable (Chinese
//! names, valid mainland phones and resident IDs with check characters), and
//! fast (multi-row inserts in large transactions). Customers are written with
//! the same encryption, blind index and pinyin as the app writes them.

use anyhow::{Result, anyhow};
use loupan_domain::customers::{PhoneNumber, mask_id_number, name_pinyin};
use loupan_domain::ids::{BuildingId, CustomerId, ProjectId, UnitId};
use loupan_domain::sales::{Ratio, Term, TermKind, payment_plan};
use loupan_domain::{Money, inventory::UnitStatus};
use loupan_service::platform::auth::{self, SessionKind};
use loupan_service::{Actor, Services, inventory, platform::users, sales};
use loupan_store::customers::CustomerRow;
use loupan_store::inventory::UnitRow;
use loupan_store::sales::{ContractRow, InstalmentRow};

use crate::Scale;

/// SplitMix64: tiny, fast and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const SURNAMES: [&str; 40] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于",
    "蒋", "蔡",
];
const GIVEN: [&str; 48] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "桂", "英", "华", "建", "文", "玲", "斌", "宇", "浩", "凯", "鹏", "婷", "欣", "雪", "琳", "晨", "辉",
    "佳", "思", "怡", "博", "子", "涵", "睿", "嘉", "一", "诺",
];
const MOBILE_PREFIXES: [&str; 16] =
    ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "186", "187", "188"];
const REGIONS: [&str; 8] = ["110105", "310104", "320505", "330106", "440305", "510107", "420106", "320102"];
const LAYOUTS: [(&str, &str, &str, i64); 4] = [
    ("2室2厅1卫", "89.37", "72.15", 22_600),
    ("3室2厅2卫", "118.46", "96.30", 23_800),
    ("3室2厅1卫", "105.20", "86.40", 23_100),
    ("4室2厅2卫", "142.80", "117.02", 24_500),
];

pub fn chinese_name(rng: &mut Rng) -> String {
    let mut name = (*rng.pick(&SURNAMES)).to_owned();
    for _ in 0..(1 + rng.below(2)) {
        let given: &&str = rng.pick(&GIVEN);
        name.push_str(given);
    }
    name
}

pub fn mobile(rng: &mut Rng) -> String {
    format!("{}{:08}", rng.pick(&MOBILE_PREFIXES), rng.below(100_000_000))
}

/// A valid 18-digit resident ID (GB 11643 check character).
pub fn resident_id(rng: &mut Rng) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default() + chrono::Days::new(rng.below(20_000));
    let body = format!("{}{}{:03}", rng.pick(&REGIONS), birth.format("%Y%m%d"), rng.below(1000));
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

pub struct Shape {
    pub projects: usize,
    pub buildings_per_project: usize,
    pub floors: i32,
    pub stacks: usize,
    pub customers_per_project: usize,
    /// Share of units under contract, in percent.
    pub contracted_percent: u64,
    /// Terms of the seeded payment method (instalments per contract).
    pub terms: usize,
}

pub fn shape(scale: Scale) -> Shape {
    match scale {
        Scale::Small => Shape {
            projects: 2,
            buildings_per_project: 10,
            floors: 20,
            stacks: 4,
            customers_per_project: 10_000,
            contracted_percent: 60,
            terms: 3,
        },
        Scale::Medium => Shape {
            projects: 10,
            buildings_per_project: 10,
            floors: 25,
            stacks: 4,
            customers_per_project: 20_000,
            contracted_percent: 80,
            terms: 6,
        },
        Scale::Full => Shape {
            projects: 100,
            buildings_per_project: 10,
            floors: 25,
            stacks: 2,
            customers_per_project: 10_000,
            contracted_percent: 90,
            terms: 11,
        },
    }
}

/// What the workloads need to know about the generated data.
pub struct Seeded {
    pub admin: Actor,
    pub admin_token: String,
    /// The sales manager of the first project: searches see that project's customers only.
    pub manager: Actor,
    pub projects: Vec<ProjectId>,
    pub buildings: Vec<BuildingId>,
    pub methods: Vec<String>,
    /// Some existing customers: (project, name, phone as typed, pinyin initials).
    pub sample_customers: Vec<(ProjectId, String, String, String)>,
    /// Existing customers' ids: (project, customer id).
    pub customer_ids: Vec<(ProjectId, CustomerId)>,
    /// Planted duplicates: (project, name, phone in another format, the original's id).
    pub planted: Vec<(ProjectId, String, String, CustomerId)>,
    /// Available units, by project, for the sales workloads.
    pub available_units: Vec<(ProjectId, UnitId)>,
    pub counts: Counts,
}

#[derive(Default, serde::Serialize, Clone)]
pub struct Counts {
    pub projects: usize,
    pub buildings: usize,
    pub units: usize,
    pub customers: usize,
    pub planted_duplicates: usize,
    pub contracts: usize,
    pub instalments: usize,
}

impl Seeded {
    pub fn summary(&self) -> String {
        let c = &self.counts;
        format!(
            "{} projects, {} buildings, {} units, {} customers ({} planted duplicates), {} contracts, {} instalments",
            c.projects, c.buildings, c.units, c.customers, c.planted_duplicates, c.contracts, c.instalments
        )
    }
}

fn err(e: loupan_service::ServiceError) -> anyhow::Error {
    anyhow!("{e}")
}

pub async fn seed(services: &Services, scale: Scale) -> Result<Seeded> {
    let shape = shape(scale);
    let mut rng = Rng::new(20_261_127);
    let system = Actor::system("bench");
    let password = "Bench-admin-password-1".to_owned();
    users::ensure_admin(services, Some(password.clone())).await.map_err(err)?;
    let login = auth::login(services, "admin", &password, SessionKind::Token).await.map_err(err)?;
    let mut seeded = Seeded {
        admin: login.actor.clone(),
        admin_token: login.token.clone(),
        manager: login.actor.clone(),
        projects: Vec::new(),
        buildings: Vec::new(),
        methods: Vec::new(),
        sample_customers: Vec::new(),
        customer_ids: Vec::new(),
        planted: Vec::new(),
        available_units: Vec::new(),
        counts: Counts::default(),
    };
    let terms = plan_terms(shape.terms);
    for p in 0..shape.projects {
        let names = (format!("翠湖名苑{}期", p + 1), format!("agent{p:03}"));
        let project = seed_project(services, &mut rng, &shape, &terms, &names, &password).await?;
        seeded.buildings.extend(project.buildings);
        seeded.sample_customers.extend(project.sample_customers);
        seeded.customer_ids.extend(project.customer_ids);
        seeded.planted.extend(project.planted);
        seeded.available_units.extend(project.available_units);
        seeded.methods.push(project.method);
        seeded.counts.units += project.counts.units;
        seeded.counts.customers += project.counts.customers;
        seeded.counts.contracts += project.counts.contracts;
        seeded.counts.instalments += project.counts.instalments;
        seeded.projects.push(project.id);
        print!("\rproject {}/{}", p + 1, shape.projects);
        use std::io::Write;
        let _ = std::io::stdout().flush();
    }
    println!();
    users::create_user(
        services,
        &system,
        users::NewUser {
            username: Some("manager000".into()),
            password: Some(password.clone()),
            display_name: Some(chinese_name(&mut rng)),
            roles: vec!["sales_manager".into()],
            project_ids: seeded.projects.iter().take(1).cloned().collect(),
        },
    )
    .await
    .map_err(err)?;
    seeded.manager = auth::login(services, "manager000", &password, SessionKind::Token).await.map_err(err)?.actor;
    seeded.counts.projects = seeded.projects.len();
    seeded.counts.buildings = seeded.buildings.len();
    seeded.counts.planted_duplicates = seeded.planted.len();
    Ok(seeded)
}

/// Terms of `n` instalments 60 days apart, the first a down payment.
pub fn plan_terms(n: usize) -> Vec<Term> {
    let ratio_each = 1_000_000 / n as i64;
    let mut terms: Vec<Term> = (0..n)
        .map(|i| Term {
            kind: if i == 0 { TermKind::DownPayment } else { TermKind::Instalment },
            ratio: Ratio::from_millionths(ratio_each),
            days_after_signing: (i * 60) as u32,
        })
        .collect();
    if let Some(last) = terms.last_mut() {
        last.ratio = Ratio::from_millionths(1_000_000 - ratio_each * (n as i64 - 1));
    }
    terms
}

/// One seeded project and what the workloads need to know of it.
#[derive(Default)]
pub struct SeededProject {
    pub id: ProjectId,
    pub method: String,
    pub buildings: Vec<BuildingId>,
    pub sample_customers: Vec<(ProjectId, String, String, String)>,
    pub customer_ids: Vec<(ProjectId, CustomerId)>,
    pub planted: Vec<(ProjectId, String, String, CustomerId)>,
    pub available_units: Vec<(ProjectId, UnitId)>,
    pub counts: Counts,
}

/// A project of `shape` (its `projects` aside) named `names.0`, with its
/// agent `names.1`: buildings through the service (each its own
/// transaction), then customers, units, contracts and instalments as bulk
/// rows in one transaction.
pub async fn seed_project(
    services: &Services,
    rng: &mut Rng,
    shape: &Shape,
    terms: &[Term],
    names: &(String, String),
    password: &str,
) -> Result<SeededProject> {
    let system = Actor::system("bench");
    let now = loupan_store::now();
    let mut out = SeededProject::default();
    let project = inventory::create_project(
        services,
        &system,
        inventory::NewProject { name: Some(names.0.clone()), city: Some("苏州".into()) },
    )
    .await
    .map_err(err)?;
    let agent = users::create_user(
        services,
        &system,
        users::NewUser {
            username: Some(names.1.clone()),
            password: Some(password.to_owned()),
            display_name: Some(chinese_name(rng)),
            roles: vec!["sales_agent".into()],
            project_ids: vec![project.id.clone()],
        },
    )
    .await
    .map_err(err)?;
    let method = sales::create_payment_method(
        services,
        &system,
        &project.id,
        sales::NewPaymentMethod {
            name: Some("分期付款".into()),
            kind: Some("instalments".into()),
            discount: Some("0".into()),
            terms: terms
                .iter()
                .map(|t| sales::NewTerm {
                    kind: Some(t.kind.name().into()),
                    ratio: Some(t.ratio.to_string()),
                    days_after_signing: Some(i64::from(t.days_after_signing)),
                })
                .collect(),
            non_standard: false,
        },
    )
    .await
    .map_err(err)?;

    // Buildings through the service (each its own transaction), then the
    // bulk rows in one transaction per project.
    let mut buildings = Vec::new();
    for b in 0..shape.buildings_per_project {
        let building = inventory::create_building(
            services,
            &system,
            &project.id,
            inventory::NewBuilding { name: Some(format!("{}号楼", b + 1)), ..Default::default() },
        )
        .await
        .map_err(err)?;
        out.buildings.push(building.id.clone());
        buildings.push(building);
    }
    // Customers first: contracts need buyers.
    let mut customers = Vec::with_capacity(shape.customers_per_project);
    let tx = services.store.begin_write().await?;
    for _ in 0..shape.customers_per_project {
        let planted = rng.below(100) < 3 && !customers.is_empty();
        let (name, phone) = if planted {
            let original: &CustomerRow = rng.pick(&customers);
            let national = PhoneNumber::from_stored(original.phone.clone()).display();
            let typed = format!("+86 {}-{}-{}", &national[..3], &national[3..7], &national[7..]);
            out.planted.push((project.id.clone(), original.name.clone(), typed, original.id.clone()));
            (original.name.clone(), original.phone.clone())
        } else {
            let phone = PhoneNumber::parse(&mobile(rng)).map_err(|e| anyhow!(e))?;
            (chinese_name(rng), phone.as_str().to_owned())
        };
        let id_number = resident_id(rng);
        let (pinyin, initials) = name_pinyin(&name);
        customers.push(CustomerRow {
            id: loupan_store::new_id().into(),
            project_id: project.id.clone(),
            owner_id: agent.id.clone(),
            kind: loupan_domain::customers::CustomerKind::Individual,
            name,
            name_pinyin: pinyin,
            name_initials: initials,
            phone,
            id_type: Some("resident_id".into()),
            id_number_cipher: Some(services.secrets.encrypt(&id_number).map_err(err)?),
            id_number_index: Some(services.secrets.blind_index(&id_number).map_err(err)?),
            id_number_masked: Some(mask_id_number(&id_number)),
            source: Some((*rng.pick(&["自然来访", "网络", "老带新", "户外广告"])).into()),
            grade: Some((*rng.pick(&["A", "B", "C"])).into()),
            notes: None,
            last_contact_at: None,
            merged_into: None,
            categories: (*rng.pick(&["potential", "potential", "actual", "potential,member"])).into(),
            tags: String::new(),
            birthday: None,
            birthday_lunar: false,
            email: None,
            wechat: None,
            address: None,
            contact_person: None,
            // Budgets 1–10 million yuan, in 100,000 steps; most customers say a layout.
            budget: Some(Money::yuan(i64::try_from(10 + rng.below(91)).unwrap_or(10) * 100_000)),
            wanted_layout: Some((*rng.pick(&["2室1厅", "3室2厅", "3室2厅", "4室2厅"])).into()),
            wanted_area_min: None,
            wanted_area_max: None,
            purpose: Some((*rng.pick(&["own_use", "upgrade", "upgrade", "investment", "education"])).into()),
            homes_owned: None,
            grade_manual: true,
            version: 1,
            created_at: now,
            updated_at: now,
            marketing_opt_out_at: None,
        });
    }
    loupan_store::bulk::insert_customers(&tx, &customers).await?;
    for c in customers.iter().step_by((customers.len() / 50).max(1)).take(50) {
        out.sample_customers.push((
            project.id.clone(),
            c.name.clone(),
            PhoneNumber::from_stored(c.phone.clone()).display(),
            c.name_initials.clone(),
        ));
        out.customer_ids.push((project.id.clone(), c.id.clone()));
    }

    let mut contracts = Vec::new();
    let mut plan_rows = Vec::new();
    let mut number = 0;
    for building in &buildings {
        let mut units = Vec::new();
        for floor in 1..=shape.floors {
            for stack in 0..shape.stacks {
                let (layout, gross, inner, per_m2) = LAYOUTS[stack % LAYOUTS.len()];
                let gross = loupan_domain::Area::parse(gross).map_err(|e| anyhow!("{e}"))?;
                let price = inventory::price_of(gross, Money::yuan(per_m2));
                let contracted = rng.below(100) < shape.contracted_percent;
                let unit = UnitRow {
                    id: loupan_store::new_id().into(),
                    building_id: building.id.clone(),
                    project_id: project.id.clone(),
                    floor,
                    number: format!("{floor}{:02}", stack + 1),
                    layout: layout.into(),
                    gross_area: gross,
                    inner_area: loupan_domain::Area::parse(inner).map_err(|e| anyhow!("{e}"))?,
                    list_price: price,
                    status: if contracted { UnitStatus::Contracted } else { UnitStatus::Available },
                    property_type: loupan_domain::inventory::PropertyType::Residential,
                    orientation: Some("朝南".into()),
                    decoration: Some(loupan_domain::inventory::Decoration::Shell),
                    floor_price: Some(price.times_percent(97)),
                    measured_gross_area: None,
                    measured_inner_area: None,
                    entrance: None,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                };
                if contracted {
                    number += 1;
                    let buyer = rng.pick(&customers);
                    let signed_on = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
                        + chrono::Days::new(rng.below(900));
                    let contract = ContractRow {
                        id: loupan_store::new_id().into(),
                        project_id: project.id.clone(),
                        unit_id: unit.id.clone(),
                        customer_id: buyer.id.clone(),
                        agent_id: agent.id.clone(),
                        subscription_id: None,
                        number: format!("HT{number:06}"),
                        payment_method_id: method.id.clone(),
                        total_price: price,
                        signed_on,
                        status: loupan_domain::sales::ContractStatus::Active,
                        version: 1,
                        created_at: now,
                    };
                    for (i, p) in payment_plan(terms, price, signed_on).into_iter().enumerate() {
                        // Older instalments are mostly paid; some are overdue.
                        let paid = if p.due_date < chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
                            && rng.below(10) < 8
                        {
                            p.amount
                        } else {
                            Money::ZERO
                        };
                        plan_rows.push(InstalmentRow {
                            id: loupan_store::new_id(),
                            contract_id: contract.id.clone(),
                            seq: i as i32 + 1,
                            kind: p.kind,
                            due_date: p.due_date,
                            amount: p.amount,
                            paid,
                        });
                    }
                    contracts.push(contract);
                } else {
                    out.available_units.push((project.id.clone(), unit.id.clone()));
                }
                units.push(unit);
            }
        }
        out.counts.units += units.len();
        loupan_store::bulk::insert_units(&tx, &units).await?;
    }
    loupan_store::bulk::insert_contracts(&tx, &contracts).await?;
    loupan_store::bulk::insert_instalments(&tx, &plan_rows).await?;
    // The bulk rows bypassed the store's writes, which keep the open balances.
    loupan_store::balances::rebuild_project(&tx, &project.id).await?;
    loupan_store::sales::start_numbering_at(&tx, &project.id, "contract", number + 1).await?;
    tx.commit().await?;
    out.counts.customers += customers.len();
    out.counts.contracts += contracts.len();
    out.counts.instalments += plan_rows.len();

    out.id = project.id;
    out.method = method.id;
    Ok(out)
}
