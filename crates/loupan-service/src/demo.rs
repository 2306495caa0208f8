//! Demo data: a believable sales office so that a newcomer sees Loupan alive.
//! Everything goes through the same service functions as real users' work,
//! so the demo also leaves a complete audit trail.

use loupan_domain::Role;
use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::inventory::{FileOwner, UnitStatus};

use crate::customers::{self, NewCustomer, NewFollowUp};
use crate::inventory::{self, NewBuilding, NewProject, NewUnit};
use crate::platform::users::{self, NewUser};
use crate::{Actor, ServiceError, ServiceResult, Services, random_hex};

/// What the demo created; the password is shown to the operator once.
#[derive(Debug)]
pub struct DemoSummary {
    pub users: Vec<(String, String)>,
    pub password: String,
    pub units: usize,
    pub customers: usize,
}

const FLOORS: i32 = 18;
/// Per stack: layout, gross area, inner area, price per m2 in yuan.
const STACKS: [(&str, &str, &str, i64); 4] = [
    ("3室2厅2卫", "118.46", "96.30", 23_800),
    ("2室2厅1卫", "89.37", "72.15", 22_600),
    ("2室2厅1卫", "89.37", "72.15", 22_600),
    ("4室2厅2卫", "142.80", "117.02", 24_500),
];

/// True when the database has no projects yet (the demo never mixes with real data).
pub async fn is_empty(services: &Services) -> ServiceResult<bool> {
    Ok(loupan_store::inventory::count_projects(services.store.conn()).await? == 0)
}

/// Fills an empty database. `progress(done, total)` is called after each unit.
/// The demo users share `password`, or a random one.
pub async fn fill(
    services: &Services,
    password: Option<String>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> ServiceResult<Option<DemoSummary>> {
    if !is_empty(services).await? {
        return Ok(None);
    }
    let system = Actor::system("demo");
    let project = inventory::create_project(
        services,
        &system,
        NewProject { name: Some("翠湖名苑".into()), city: Some("苏州".into()) },
    )
    .await?;
    let password = match password.filter(|p| p.chars().count() >= users::MIN_PASSWORD_CHARS) {
        Some(p) => p,
        None => format!("Demo-{}", random_hex(4)?),
    };
    let people = [
        ("wangfang", "王芳", Role::SalesManager),
        ("liqiang", "李强", Role::SalesAgent),
        ("zhangwei", "张伟", Role::SalesAgent),
        ("chenjing", "陈静", Role::Cashier),
        ("liuyang", "刘洋", Role::Finance),
        ("zhaomin", "赵敏", Role::Executive),
        ("sunli", "孙丽", Role::ProjectManager),
        ("zhoujian", "周健", Role::CostEngineer),
        ("huangmei", "黄梅", Role::Service),
        ("wujun", "吴军", Role::Aftersales),
    ];
    let mut created = Vec::new();
    let mut agents = Vec::new();
    let mut manager = None;
    let mut desk = Vec::new();
    for (username, name, role) in people {
        let user = users::create_user(
            services,
            &system,
            NewUser {
                username: Some(username.into()),
                password: Some(password.clone()),
                display_name: Some(name.into()),
                roles: vec![role.name().into()],
                project_ids: vec![project.id.clone()],
            },
        )
        .await?;
        match role {
            Role::SalesAgent => agents.push(user.id),
            Role::SalesManager => manager = Some(user.id),
            Role::Service | Role::Aftersales | Role::Executive => desk.push(user.id),
            // The cost engineer works in the engineering department: the
            // workbench shows its responsibility cost.
            Role::CostEngineer => {
                let changes = users::UserChanges {
                    version: user.version,
                    display_name: Some(user.display_name.clone()),
                    roles: vec![role.name().into()],
                    project_ids: user.project_ids.clone(),
                    disabled: false,
                    manager_id: None,
                    department: Some("工程部".into()),
                };
                users::update_user(services, &system, &user.id, changes).await?;
            }
            _ => {}
        }
        created.push((username.to_owned(), role.name().to_owned()));
    }
    let buildings = ["1号楼", "2号楼"];
    // A building's gross floor area: what is sold plus a fifth for the basement,
    // lobbies and shafts, so both per-m² figures of the cost pages read sensibly.
    fn demo_gross_floor_area() -> loupan_domain::Area {
        let floor: i64 = STACKS.iter().map(|s| loupan_domain::Area::parse(s.1).unwrap_or_default().hundredths()).sum();
        loupan_domain::Area::from_hundredths(floor * i64::from(FLOORS) * 6 / 5)
    }
    let total = (buildings.len() as u64) * (FLOORS as u64) * (STACKS.len() as u64);
    let mut done = 0;
    for (b, building_name) in buildings.iter().enumerate() {
        let building = inventory::create_building(
            services,
            &system,
            &project.id,
            NewBuilding {
                name: Some((*building_name).into()),
                phase: Some("一期".into()),
                gross_floor_area: Some(demo_gross_floor_area().to_string()),
            },
        )
        .await?;
        for floor in 1..=FLOORS {
            for (stack, (layout, gross, inner, per_m2)) in STACKS.iter().enumerate() {
                let area = loupan_domain::Area::parse(gross).unwrap_or_default();
                // Higher floors cost a little more: 0.5% a floor, rounded to the yuan.
                let per_m2 = loupan_domain::Money::yuan(per_m2 * (1000 + 5 * i64::from(floor)) / 1000);
                let price = area.priced_at(per_m2);
                // A few units kept back by sales control, the top floors not yet released.
                let status = if floor > 16 {
                    "not_for_sale"
                } else if (floor + stack as i32 + b as i32) % 11 == 0 {
                    "held"
                } else {
                    "available"
                };
                inventory::create_unit(
                    services,
                    &system,
                    &building.id,
                    NewUnit {
                        floor: Some(floor),
                        number: Some(format!("{floor}{:02}", stack + 1)),
                        layout: Some((*layout).into()),
                        gross_area: Some((*gross).into()),
                        inner_area: Some((*inner).into()),
                        list_price: Some(price.to_string()),
                        status: Some(status.into()),
                        property_type: Some("residential".into()),
                        orientation: Some(if stack == 0 || stack == 3 { "南北通透" } else { "朝南" }.into()),
                        decoration: Some(if b == 0 { "furnished" } else { "shell" }.into()),
                        // The lowest price a manager may agree without a special approval: 97 %.
                        floor_price: Some(price.times_percent(97).to_string()),
                    },
                )
                .await?;
                done += 1;
                progress(done, total);
            }
        }
    }
    let customers = demo_customers(services, &system, &project.id, &agents).await?;
    demo_deals(services, &system, &project.id, &agents).await?;
    demo_approvals(services, &system, &project.id, &agents, manager.as_ref()).await?;
    demo_site_plan(services, &system, &project.id).await?;
    demo_cost(services, &system, &project.id).await?;
    demo_notices(services, &system, &project.id).await?;
    demo_cases(services, &system, &project.id, &desk).await?;
    demo_surveys(services, &system, &project.id).await?;
    demo_questionnaire(services, &system, &project.id).await?;
    demo_compensation(services, &system, &project.id).await?;
    if let Some(aftersales) = desk.get(2) {
        demo_processes(services, &project.id, aftersales).await?;
    }
    demo_handover(services, &system, &project.id, &agents).await?;
    if let Some(manager) = &manager {
        demo_reception(services, &project.id, manager, &agents).await?;
    }
    Ok(Some(DemoSummary { users: created, password, units: done as usize, customers }))
}

/// Building 1 is surveyed: its sold units' measured areas differ from the
/// forecast by a little, a lot, or beyond 3 % either way; 吴军 of after-sales
/// computed the area compensation with the maintenance fund at 2 % of the
/// price, and it waits for the project manager (then finance, for refunds).
async fn demo_compensation(services: &Services, system: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    use crate::aftersales::{compensation, measured, settlement};
    let rules = settlement::SettlementForm {
        funds: Some(vec![settlement::FundForm {
            property_type: "residential".into(),
            method: "percent_of_price".into(),
            value: "0.02".into(),
        }]),
        ..Default::default()
    };
    settlement::set_settlement(services, system, project_id, rules).await?;
    let conn = services.store.conn();
    let buildings = loupan_store::inventory::list_buildings_of_project(conn, project_id).await?;
    let Some(building) = buildings.first() else { return Ok(()) };
    // Measured against forecast, in ten-thousandths: within 3 %, at 3 %, beyond it.
    const DRIFT: [i64; 6] = [80, -120, 300, 450, -410, 0];
    let sold = loupan_store::inventory::units_of_building(conn, &building.id)
        .await?
        .into_iter()
        .filter(|u| u.status == UnitStatus::Contracted);
    for (i, unit) in sold.enumerate() {
        let drift = DRIFT[i % DRIFT.len()];
        let moved = |a: loupan_domain::Area| {
            loupan_domain::Area::from_hundredths(a.hundredths() + a.hundredths() * drift / 10_000).to_string()
        };
        let areas = measured::MeasuredAreas {
            measured_gross_area: Some(moved(unit.gross_area)),
            measured_inner_area: Some(moved(unit.inner_area)),
            version: None,
        };
        measured::set_measured_areas(services, system, &unit.id, areas).await?;
    }
    let mut aftersales = system.clone();
    aftersales.display_name = "吴军".into();
    let batch = compensation::create_batch(services, &aftersales, &building.id).await?;
    compensation::submit_batch(services, &aftersales, &batch.id, None).await?;
    Ok(())
}

/// The signed contracts started their registration and loan cases. The agents
/// collected the papers of the first few mortgages, and 吴军 of after-sales
/// has the bank's signing on his workbench, one form already in; one buyer's
/// title certificate was started by hand. The cases nobody touched since the
/// signing are overdue, as a newcomer's service board shows them.
async fn demo_processes(services: &Services, project_id: &ProjectId, aftersales: &UserId) -> ServiceResult<()> {
    use crate::aftersales::processes::{self, CaseQuery, StepDone};
    use loupan_domain::processes::{ProcessKind, ProcessStatus};
    let conn = services.store.conn();
    let Some(wujun) = crate::platform::auth::load_actor(conn, aftersales, None).await? else { return Ok(()) };
    let query = CaseQuery {
        project_id: Some(project_id.clone()),
        kind: Some(ProcessKind::Mortgage),
        status: Some(ProcessStatus::Open),
        limit: 200,
        ..CaseQuery::default()
    };
    let (mortgages, _) = processes::cases(services, &wujun, &query).await?;
    for (i, summary) in mortgages.iter().take(3).enumerate() {
        let Some(agent_id) = &summary.assignee_id else { continue };
        let Some(agent) = crate::platform::auth::load_actor(conn, agent_id, None).await? else { continue };
        let case = processes::case(services, &agent, &summary.id).await?;
        let Some(first) = case.steps.first() else { continue };
        for d in &first.documents {
            processes::receive_document(services, &agent, &case.summary.id, 0, &d.name).await?;
        }
        let done = StepDone {
            position: Some(0), note: Some("资料已齐，已交银行".into()), version: Some(case.version)
        };
        let moved = processes::complete_step(services, &agent, &case.summary.id, done).await?;
        if i == 0
            && let Some(second) = moved.steps.get(1)
            && let Some(form) = second.documents.first()
        {
            processes::receive_document(services, &wujun, &moved.summary.id, 1, &form.name).await?;
        }
    }
    if let Some(first) = mortgages.last() {
        processes::start_case(services, &wujun, &first.contract_id, Some(ProcessKind::Title.name())).await?;
    }
    Ok(())
}

/// Building 2 is ready for handover (building 1 waits for its area
/// compensation): appointment periods are open, one buyer paid the balance
/// and took the keys (a defect rectified and accepted first), another is in
/// the middle of the inspection with a leak for engineering, and the others'
/// settlement checks name what they still owe.
async fn demo_handover(
    services: &Services,
    system: &Actor,
    project_id: &ProjectId,
    agents: &[UserId],
) -> ServiceResult<()> {
    use crate::aftersales::handover::{self, Completion, NewDefect, NewSlot};
    let conn = services.store.conn();
    let buildings = loupan_store::inventory::list_buildings_of_project(conn, project_id).await?;
    let Some(building) = buildings.get(1) else { return Ok(()) };
    // Three homes of building 2 were sold early in the year, paid at once.
    let methods = crate::sales::list_payment_methods(services, system, project_id).await?;
    let Some(one_off) = methods.iter().find(|m| m.name == "一次性付款") else { return Ok(()) };
    let units = loupan_store::inventory::units_of_building(conn, &building.id).await?;
    let available = units.iter().filter(|u| u.status == UnitStatus::Available && u.floor <= 3);
    for (i, unit) in available.take(3).enumerate() {
        let Some(agent_id) = agents.get(i % agents.len().max(1)) else { break };
        let Some(agent) = crate::platform::auth::load_actor(conn, agent_id, None).await? else { continue };
        let mine =
            crate::customers::search(services, &agent, crate::customers::CustomerQuery::default(), None, 50).await?;
        let Some(customer) = mine.get(3 + i) else { continue };
        crate::sales::sign_contract(
            services,
            &agent,
            crate::sales::NewContract {
                unit_id: Some(unit.id.to_string()),
                customer_id: Some(customer.id.to_string()),
                payment_method_id: Some(one_off.id.clone()),
                total_price: Some(unit.list_price.to_string()),
                signed_on: Some(format!("2026-02-{:02}", 10 + i)),
                ..Default::default()
            },
        )
        .await?;
    }
    let mut wujun = system.clone();
    wujun.display_name = "吴军".into();
    let mut sunli = system.clone();
    sunli.display_name = "孙丽".into();
    let mut cashier = system.clone();
    cashier.display_name = "陈静".into();
    let today = services.clock.today();
    crate::aftersales::processes::declare_ready(services, &wujun, &building.id, Some(&today.to_string())).await?;
    let mut first_slot = None;
    for days in [0, 1, 2] {
        for period in ["09:00-12:00", "14:00-17:00"] {
            let form = NewSlot {
                day: Some((today + chrono::Duration::days(days)).to_string()),
                period: Some(period.into()),
                capacity: Some(8),
            };
            let slot = handover::add_slot(services, &wujun, &building.id, form).await?;
            first_slot.get_or_insert(slot.id);
        }
    }
    let Some(slot) = first_slot else { return Ok(()) };
    let lines = handover::handovers_of_building(services, &wujun, &building.id, None).await?;
    let documents = handover::rules(services, &wujun, project_id).await?.documents;
    for (i, line) in lines.iter().take(2).enumerate() {
        // The buyer pays what is left before the appointment.
        let check = handover::check(services, &wujun, &line.contract_id).await?;
        let owed: loupan_domain::Money = check.blocking.iter().filter_map(|b| b.unpaid).sum();
        if owed.is_positive() {
            let receipt = crate::finance::record_receipt(
                services,
                &cashier,
                crate::finance::NewReceipt {
                    contract_id: Some(line.contract_id.to_string()),
                    amount: Some(owed.to_string()),
                    received_on: Some(today.to_string()),
                    channel: Some("transfer".into()),
                    ..Default::default()
                },
            )
            .await?;
            crate::finance::mark_arrived(services, &cashier, &receipt.id).await?;
            crate::finance::audit_receipt(services, &cashier, &receipt.id).await?;
        }
        handover::book(services, &wujun, &line.id, Some(slot.as_str())).await?;
        handover::check_in(services, &wujun, &line.id, &documents).await?;
        let remark = |room: &str, item: &str, severity: &str, text: &str| NewDefect {
            room: Some(room.into()),
            item: Some(item.into()),
            severity: Some(severity.into()),
            description: Some(text.into()),
            contractor: Some("中建三局装饰公司".into()),
        };
        if i == 0 {
            let d =
                handover::add_defect(services, &wujun, &line.id, remark("主卧", "decoration", "minor", "墙面一处开裂"))
                    .await?;
            handover::rectify(services, &sunli, &d.id, Some("已批嵌打磨重新涂刷")).await?;
            handover::reinspect(services, &wujun, &d.id, Some(true), None).await?;
            let done = Completion {
                keys: vec![("入户门钥匙".into(), Some(3)), ("信报箱钥匙".into(), Some(1))],
                meters: vec![
                    ("水表".into(), "3.2".into()),
                    ("电表".into(), "15".into()),
                    ("燃气表".into(), "0.8".into()),
                ],
                accept_open_defects: false,
            };
            handover::complete(services, &wujun, &line.id, done).await?;
        } else {
            handover::add_defect(
                services,
                &wujun,
                &line.id,
                remark("卫生间", "waterproofing", "urgent", "淋浴区墙角渗水"),
            )
            .await?;
            handover::add_defect(
                services,
                &wujun,
                &line.id,
                remark("厨房", "plumbing", "normal", "水槽下水管接口松动"),
            )
            .await?;
        }
    }
    Ok(())
}

/// Buyers asked how the signing went: two happy answers and one low score,
/// which opened a complaint for the desk; the closed case's own survey waits.
async fn demo_surveys(services: &Services, system: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    use crate::cases::surveys::{self, Answer, NewSurvey};
    let filter = loupan_store::sales::DealFilter { project_id: Some(project_id.clone()), ..Default::default() };
    let contracts = loupan_store::sales::search_contracts(
        services.store.conn(),
        &filter,
        Some(loupan_domain::sales::ContractStatus::Active),
        3,
    )
    .await?;
    let answers = [("5", "10", "签约流程顺畅，顾问很耐心"), ("4", "8", ""), ("2", "3", "签约当天排队两个小时")];
    for (contract, (csat, nps, comment)) in contracts.iter().zip(answers) {
        let form = NewSurvey { contract_id: Some(contract.id.to_string()), ..NewSurvey::default() };
        let sent = surveys::send(services, system, form).await?;
        let token = sent.link.trim_start_matches("/survey/");
        let answer = Answer {
            csat: Some(csat.into()),
            nps: Some(nps.into()),
            comment: (!comment.is_empty()).then(|| comment.to_owned()),
        };
        surveys::answer(services, token, answer).await?;
    }
    Ok(())
}

/// The first-visit questionnaire, filled in on the tablet with every demo
/// customer, so its analysis and cross analysis (grade × where they heard of
/// the project) have something to say; one more customer has a link waiting.
async fn demo_questionnaire(services: &Services, system: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    use loupan_domain::questionnaires::{Choice, Question, QuestionKind, ShowIf};

    use crate::questionnaires::{self, QuestionnaireForm, responses};
    let choice = |key: &str, label: &str| Choice { key: key.into(), label: label.into() };
    let question = |key: &str, text: &str, kind, required, options: Vec<Choice>| Question {
        key: key.into(),
        text: text.into(),
        kind,
        required,
        options,
        show_if: None,
    };
    let mut why = question(
        "why",
        "朋友或网络上打动您的是？",
        QuestionKind::Multiple,
        true,
        vec![choice("school", "学区"), choice("metro", "地铁"), choice("view", "湖景"), choice("price", "价格")],
    );
    why.show_if = Some(ShowIf { question: "heard".into(), any_of: vec!["friend".into(), "web".into()] });
    let questions = vec![
        question(
            "heard",
            "您从哪里得知翠湖名苑？",
            QuestionKind::Single,
            true,
            vec![choice("ad", "户外广告"), choice("friend", "朋友介绍"), choice("web", "网络")],
        ),
        why,
        question("score", "您对今天的接待满意吗？", QuestionKind::Scale5, true, vec![]),
        question("area", "期望面积（㎡）", QuestionKind::Number, false, vec![]),
        question("note", "还有什么建议？", QuestionKind::Text, false, vec![]),
    ];
    let form = QuestionnaireForm {
        project_id: Some(project_id.to_string()),
        stage: Some("first_visit".into()),
        title: Some("首访客户问卷".into()),
        intro: Some("感谢您来访，请花一分钟告诉我们您的想法。".into()),
        questions: Some(questions),
        open: Some(true),
        revision: None,
    };
    let questionnaire = questionnaires::create(services, system, form).await?;
    let query = crate::customers::CustomerQuery { project_id: Some(project_id.to_string()), ..Default::default() };
    let customers = crate::customers::search(services, system, query, None, 100).await?;
    let notes = ["样板间很漂亮", "希望多一些停车位", "", "湖景很好，价格偏高"];
    for (i, customer) in customers.iter().enumerate().skip(1) {
        let grade_a = customer.grade.as_deref() == Some("A");
        let heard = match (grade_a, i % 3) {
            (true, 0 | 1) | (false, 0) => "friend",
            (_, 1) => "ad",
            _ => "web",
        };
        let mut answers = std::collections::BTreeMap::new();
        answers.insert("heard".to_owned(), vec![heard.to_owned()]);
        answers.insert("why".to_owned(), [["school", "view"], ["metro", "price"]][i % 2].map(str::to_owned).to_vec());
        answers.insert("score".to_owned(), vec![(3 + i % 3).to_string()]);
        answers.insert("area".to_owned(), vec![["89", "120.5", "143"][i % 3].to_owned()]);
        answers.insert("note".to_owned(), vec![notes[i % notes.len()].to_owned()]);
        let form = responses::ResponseForm { customer_id: Some(customer.id.to_string()), answers };
        responses::answer(services, system, &questionnaire.id, form).await?;
    }
    if let Some(first) = customers.first() {
        responses::send_link(services, system, &questionnaire.id, Some(first.id.as_str())).await?;
    }
    Ok(())
}

/// Today at the sales office's door: the manager put both agents on duty;
/// one agent's customer came back and a new visitor went to the other, so
/// each agent's workbench shows a visitor and the reception page a queue.
async fn demo_reception(
    services: &Services,
    project_id: &ProjectId,
    manager: &UserId,
    agents: &[UserId],
) -> ServiceResult<()> {
    use crate::reception::{self, NewVisit};
    let conn = services.store.conn();
    let Some(manager) = crate::platform::auth::load_actor(conn, manager, None).await? else { return Ok(()) };
    let Some(first) = agents.first() else { return Ok(()) };
    reception::set_queue(services, &manager, project_id, agents.iter().map(ToString::to_string).collect()).await?;
    let returning = loupan_store::customers::customers_of_owner(conn, first).await?;
    if let Some(customer) = returning.iter().find(|c| &c.project_id == project_id && c.merged_into.is_none()) {
        let visit = NewVisit {
            project_id: Some(project_id.to_string()),
            customer_id: Some(customer.id.to_string()),
            note: Some("带家人二次看房，想看 1 号楼 12 层".into()),
            ..NewVisit::default()
        };
        reception::register_visit(services, &manager, visit).await?;
    }
    let newcomer = NewVisit {
        project_id: Some(project_id.to_string()),
        name: Some("周雨".into()),
        phone: Some("136 9876 5432".into()),
        source: Some("路过".into()),
        note: Some("首次到访，关注三居".into()),
        ..NewVisit::default()
    };
    reception::register_visit(services, &manager, newcomer).await?;
    Ok(())
}

/// The State Council's holidays of 2026 (国办发明电〔2025〕7号) with their
/// make-up working days: the calendar the service desk's deadlines count in.
const HOLIDAYS_2026: [(&str, bool, &str); 33] = [
    ("2026-01-01", false, "元旦"),
    ("2026-01-02", false, "元旦"),
    ("2026-01-03", false, "元旦"),
    ("2026-01-04", true, "元旦"),
    ("2026-02-14", true, "春节"),
    ("2026-02-15", false, "春节"),
    ("2026-02-16", false, "春节"),
    ("2026-02-17", false, "春节"),
    ("2026-02-18", false, "春节"),
    ("2026-02-19", false, "春节"),
    ("2026-02-20", false, "春节"),
    ("2026-02-21", false, "春节"),
    ("2026-02-22", false, "春节"),
    ("2026-02-23", false, "春节"),
    ("2026-02-28", true, "春节"),
    ("2026-04-04", false, "清明节"),
    ("2026-04-05", false, "清明节"),
    ("2026-04-06", false, "清明节"),
    ("2026-05-01", false, "劳动节"),
    ("2026-05-02", false, "劳动节"),
    ("2026-05-03", false, "劳动节"),
    ("2026-05-04", false, "劳动节"),
    ("2026-05-05", false, "劳动节"),
    ("2026-05-09", true, "劳动节"),
    ("2026-06-19", false, "端午节"),
    ("2026-06-20", false, "端午节"),
    ("2026-06-21", false, "端午节"),
    ("2026-09-20", true, "国庆节"),
    ("2026-09-25", false, "中秋节"),
    ("2026-09-26", false, "中秋节"),
    ("2026-09-27", false, "中秋节"),
    ("2026-10-01", false, "国庆节"),
    ("2026-10-10", true, "国庆节"),
];

/// The service desk: the 2026 calendar, a category tree, who gets which
/// cases, and a few cases from owners at different steps of their process.
async fn demo_cases(services: &Services, system: &Actor, project_id: &ProjectId, desk: &[UserId]) -> ServiceResult<()> {
    use crate::cases::settings::{self, Day, RuleForm};
    use crate::cases::{self, ActionForm, NewCase};
    let mut days: Vec<Day> = HOLIDAYS_2026
        .iter()
        .filter_map(|(date, working, name)| {
            Some(Day { date: date.parse().ok()?, working: *working, name: (*name).to_owned() })
        })
        .collect();
    // National Day runs from 1 to 7 October.
    for d in 2..=7 {
        if let Some(date) = chrono::NaiveDate::from_ymd_opt(2026, 10, d) {
            days.push(Day { date, working: false, name: "国庆节".into() });
        }
    }
    days.sort_by_key(|d| d.date);
    settings::set_calendar(services, system, 2026, days).await?;
    let repair = settings::add_category(services, system, Some("报修"), None).await?;
    let water = settings::add_category(services, system, Some("水电"), Some(repair.id.as_str())).await?;
    settings::add_category(services, system, Some("门窗"), Some(repair.id.as_str())).await?;
    let complaint = settings::add_category(services, system, Some("投诉"), None).await?;
    settings::add_category(services, system, Some("物业服务"), Some(complaint.id.as_str())).await?;
    settings::add_category(services, system, Some("办证咨询"), None).await?;
    // desk: [赵敏 (executive), 黄梅 (service), 吴军 (after-sales)].
    let (Some(executive), Some(service), Some(aftersales)) = (desk.first(), desk.get(1), desk.get(2)) else {
        return Ok(());
    };
    let rule = |kind: Option<&str>, handlers: Vec<&UserId>, supervisor: &UserId| RuleForm {
        kind: kind.map(str::to_owned),
        category_id: None,
        handler_ids: handlers.into_iter().map(|u| u.to_string()).collect(),
        supervisor_id: Some(supervisor.to_string()),
    };
    settings::add_rule(services, system, project_id, rule(Some("repair"), vec![aftersales, service], service)).await?;
    settings::add_rule(services, system, project_id, rule(None, vec![service], executive)).await?;

    let q = crate::sales::deals::DealQuery {
        project_id: Some(project_id.to_string()),
        building_id: None,
        status: Some(loupan_domain::sales::ContractStatus::Active),
        agent_id: None,
        customer_id: None,
        from: None,
        to: None,
        cursor: None,
        limit: Some(10),
    };
    let contracts = crate::sales::deals::contracts(services, system, &q).await?;
    let conn = services.store.conn();
    let mut phones = Vec::new();
    for listed in contracts.items.iter().take(2) {
        if let Some(c) = loupan_store::customers::find_customer(conn, &listed.deal.customer_id).await? {
            phones.push(c.phone);
        }
    }
    let case = |kind: &str, phone: Option<&String>, category: Option<&str>, text: &str| NewCase {
        project_id: Some(project_id.to_string()),
        kind: Some(kind.into()),
        category_id: category.map(str::to_owned),
        priority: Some(if kind == "complaint" { "high" } else { "normal" }.into()),
        channel: Some("phone".into()),
        caller_name: if phone.is_none() { Some("来访业主".into()) } else { None },
        caller_phone: phone.cloned(),
        description: Some(text.into()),
        ..NewCase::default()
    };
    let mut desk_actor = system.clone();
    desk_actor.display_name = "黄梅".into();
    let step = |action: &str, note: Option<&str>, satisfaction: Option<i64>| ActionForm {
        action: Some(action.into()),
        note: note.map(str::to_owned),
        satisfaction,
        ..ActionForm::default()
    };
    let leak = cases::register(
        services,
        &desk_actor,
        case("repair", phones.first(), Some(water.id.as_str()), "卫生间地漏反水，楼下天花板有水渍"),
    )
    .await?;
    cases::act(services, &desk_actor, &leak.case.id, step("start", Some("已约业主明早上门查看"), None)).await?;
    let noise =
        cases::register(services, &desk_actor, case("complaint", phones.get(1), None, "夜间装修噪音，物业未制止"))
            .await?;
    for (action, note, score) in [
        ("start", None, None),
        ("reply", Some("已与装修户沟通，限定施工时间 8:00-18:00"), None),
        ("confirm", None, None),
        ("close", Some("业主表示满意"), Some(4)),
    ] {
        cases::act(services, &desk_actor, &noise.case.id, step(action, note, score)).await?;
    }
    cases::register(services, &desk_actor, case("enquiry", None, None, "询问不动产权证办理进度")).await?;
    // The same owner complains about the lift, calls again about it (merged into
    // the first call), then about the gate: a repeat complainer among the exceptions.
    let lift =
        cases::register(services, &desk_actor, case("complaint", phones.get(1), None, "电梯经常停运，老人上下楼困难"))
            .await?;
    let again =
        cases::register(services, &desk_actor, case("complaint", phones.get(1), None, "电梯今天又停了")).await?;
    let merge = ActionForm {
        action: Some("merge".into()),
        into_case_id: Some(lift.case.id.to_string()),
        note: Some("同一电梯故障".into()),
        ..ActionForm::default()
    };
    cases::act(services, &desk_actor, &again.case.id, merge).await?;
    cases::register(services, &desk_actor, case("complaint", phones.get(1), None, "小区门禁卡失效，无法进门")).await?;
    Ok(())
}

/// The demo company's logo, a house drawn in two colours (160 × 160 PNG).
pub const LOGO: &[u8] = include_bytes!("../assets/demo-logo.png");

/// The company's payment reminder and handover notice, and one batch of
/// handover notices to the owners of 1号楼, which the job queue prints once
/// Loupan is running.
async fn demo_notices(services: &Services, system: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    use crate::notices::{self, Audience, NewBatch, NewTemplate};
    // The letterhead every letter signs with, and its logo.
    let logo = notices::printed::upload_picture(services, system, LOGO.to_vec()).await?.0;
    notices::letterhead::set_letterhead(
        services,
        system,
        notices::letterhead::LetterheadForm {
            name: Some("翠湖置业有限公司".into()),
            address: Some("杭州市西湖区翠湖路 1 号".into()),
            phone: Some("0571-8888 6666".into()),
            logo: Some(logo),
        },
    )
    .await?;
    let mut handover = None;
    for (kind, (name, body)) in notices::sample_templates() {
        let t = notices::create_template(
            services,
            system,
            NewTemplate {
                kind: Some(kind.name().into()),
                channel: Some("letter".into()),
                name: Some(name.into()),
                body: Some(body.into()),
                ..NewTemplate::default()
            },
        )
        .await?;
        match kind {
            loupan_domain::notices::NoticeKind::HandoverNotice => handover = Some(t.id),
            // Each satisfaction survey's link goes to its customer as a letter.
            loupan_domain::notices::NoticeKind::Survey => {
                let form = crate::cases::settings::SettingsForm {
                    survey_template_id: Some(t.id.to_string()),
                    ..Default::default()
                };
                crate::cases::settings::set_settings(services, system, form).await?;
            }
            _ => {}
        }
    }
    // Birthday and holiday letters every morning (scheduled care).
    let greeting = notices::create_template(
        services,
        system,
        NewTemplate {
            kind: Some("greeting".into()),
            name: Some("节日与生日贺信".into()),
            body: Some("# 问候\n\n尊敬的 {{ customer.name }}：\n\n值此佳节，{{ project.name }} 全体同仁恭祝您阖家幸福、万事如意！\n\n{{ project.name }} 客户服务中心\n{{ today|cn_date }}".into()),
            ..NewTemplate::default()
        },
    )
    .await?;
    let templates = loupan_domain::notices::Occasion::ALL
        .into_iter()
        .map(|o| (o.name().to_owned(), Some(greeting.id.as_str().to_owned())))
        .collect();
    notices::care::set_care(services, system, notices::care::CareForm { templates }).await?;
    // A greeting by text message, for when the company sets up its SMS gateway.
    notices::create_template(
        services,
        system,
        NewTemplate {
            kind: Some("greeting".into()),
            channel: Some("sms".into()),
            name: Some("节日问候（短信）".into()),
            body: Some("【{{ project.name }}】尊敬的{{ customer.name }}，值此佳节，恭祝您阖家幸福、万事如意！".into()),
            sms_template_code: Some("SMS_000000001".into()),
            sms_params: Some(std::collections::BTreeMap::from([("name".into(), "{{ customer.name }}".into())])),
            ..NewTemplate::default()
        },
    )
    .await?;
    let building = inventory::list_buildings(services, system, project_id).await?.into_iter().next();
    if let (Some(template_id), Some(b)) = (handover, building) {
        let form = NewBatch {
            template_id,
            project_id: project_id.clone(),
            audience: Audience::Building { building_id: b.id },
            as_of: None,
            // Handover in the month after next, at the property service centre.
            details: {
                let start = services.clock.today() + chrono::Days::new(45);
                std::collections::BTreeMap::from([
                    ("handover.starts_on".to_owned(), start.to_string()),
                    ("handover.ends_on".to_owned(), (start + chrono::Days::new(14)).to_string()),
                    ("handover.place".to_owned(), "翠湖名苑物业服务中心（3号楼底层）".to_owned()),
                ])
            },
        };
        match notices::create_batch(services, system, form).await {
            Ok(_) | Err(ServiceError::Conflict("no_recipients")) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Buyers with Chinese names and needs, shared between the agents, graded by
/// the project's grade rules (one by hand), with a few follow-ups, an
/// enterprise buyer, and one buyer registered twice so that the duplicate
/// ruling has work.
async fn demo_customers(
    services: &Services,
    system: &Actor,
    project_id: &ProjectId,
    agents: &[UserId],
) -> ServiceResult<usize> {
    use crate::customers::grades::{self, GradeConditions, GradeRuleInput};
    let rule = |grade: &str, conditions: GradeConditions| GradeRuleInput { grade: Some(grade.into()), conditions };
    grades::set_rules(
        services,
        system,
        project_id,
        vec![
            rule(
                "A",
                GradeConditions {
                    min_visits: Some(1),
                    min_budget: Some(loupan_domain::Money::yuan(3_000_000)),
                    ..Default::default()
                },
            ),
            rule(
                "B",
                GradeConditions { min_budget: Some(loupan_domain::Money::yuan(2_000_000)), ..Default::default() },
            ),
            rule("C", GradeConditions::default()),
        ],
    )
    .await?;
    // Name, phone, source, budget (yuan), wanted layout, purpose.
    const BUYERS: [(&str, &str, &str, &str, &str, &str); 16] = [
        ("张伟", "13812345601", "自然来访", "3500000", "3室2厅", "upgrade"),
        ("王秀英", "13912345602", "网络", "2200000", "2室1厅", "own_use"),
        ("李娜", "13712345603", "老带新", "4200000", "4室2厅", "upgrade"),
        ("刘洋", "13612345604", "户外广告", "1500000", "2室1厅", "own_use"),
        ("陈静", "13512345605", "自然来访", "2600000", "3室2厅", "education"),
        ("杨磊", "18812345606", "网络", "5000000", "4室2厅", "investment"),
        ("赵敏", "18912345607", "老带新", "2400000", "3室2厅", "upgrade"),
        ("黄丽", "17712345608", "自然来访", "1800000", "2室1厅", "own_use"),
        ("周杰", "15012345609", "网络", "2800000", "3室2厅", "education"),
        ("吴芳", "15112345610", "户外广告", "3200000", "3室2厅", "upgrade"),
        ("徐强", "15212345611", "自然来访", "1600000", "2室1厅", "investment"),
        ("孙丽华", "15312345612", "网络", "2100000", "3室2厅", "retirement"),
        ("马超", "15812345613", "老带新", "3900000", "4室2厅", "upgrade"),
        ("朱红", "15912345614", "自然来访", "2300000", "3室2厅", "own_use"),
        ("胡斌", "18612345615", "网络", "1200000", "2室1厅", "investment"),
        ("郭婷", "18712345616", "老带新", "3600000", "3室2厅", "education"),
    ];
    let Some(first_agent) = agents.first() else { return Ok(0) };
    let mut count = 0;
    for (i, (name, phone, source, budget, layout, purpose)) in BUYERS.iter().enumerate() {
        let owner = agents.get(i % agents.len()).unwrap_or(first_agent);
        let done = customers::register(
            services,
            system,
            NewCustomer {
                project_id: Some(project_id.to_string()),
                name: Some((*name).into()),
                phone: Some((*phone).into()),
                source: Some((*source).into()),
                owner_id: Some(owner.to_string()),
                budget: Some((*budget).into()),
                wanted_layout: Some((*layout).into()),
                purpose: Some((*purpose).into()),
                categories: Some(if i % 5 == 0 { "potential,member" } else { "potential" }.into()),
                tags: (i % 4 == 0).then(|| "全款".into()),
                // A buyer the manager knows personally keeps the grade given by hand.
                grade: (i == 15).then(|| "VIP".into()),
                other_phones: (i == 0).then(|| vec![("0571-8765 4321".into(), Some("办公".into()))]),
                email: (i == 0).then(|| "zhangwei@example.cn".into()),
                ..Default::default()
            },
        )
        .await?;
        count += 1;
        if i % 3 == 0 {
            customers::add_follow_up(
                services,
                system,
                &done.customer.id,
                NewFollowUp {
                    kind: Some("visit".into()),
                    outcome: Some("到访售楼处，看了样板间，关注3室户型".into()),
                    next_contact_on: None,
                },
            )
            .await?;
        }
    }
    // A company buying homes for its staff.
    customers::register(
        services,
        system,
        NewCustomer {
            project_id: Some(project_id.to_string()),
            name: Some("杭州翠湖科技有限公司".into()),
            phone: Some("0571-8888 6666".into()),
            kind: Some("enterprise".into()),
            contact_person: Some("行政部 钱经理".into()),
            id_type: Some("business_license".into()),
            id_number: Some("91350100M000100Y43".into()),
            source: Some("老带新".into()),
            budget: Some("12000000".into()),
            wanted_layout: Some("3室2厅".into()),
            purpose: Some("office".into()),
            categories: Some("potential".into()),
            notes: Some("为员工团购，意向 4 套".into()),
            owner_id: Some(first_agent.to_string()),
            ..Default::default()
        },
    )
    .await?;
    count += 1;
    // The same buyer, registered again by the other agent: a case for the manager.
    let other = agents.get(1).unwrap_or(first_agent);
    customers::register(
        services,
        system,
        NewCustomer {
            project_id: Some(project_id.to_string()),
            name: Some("张伟".into()),
            phone: Some("+86 138-1234-5601".into()),
            source: Some("网络".into()),
            owner_id: Some(other.to_string()),
            ..Default::default()
        },
    )
    .await?;
    Ok(count + 1)
}

/// Payment methods and a few deals at different stages, so that the 销控图 has
/// colours, contracts have plans and finance has receipts to audit.
async fn demo_deals(
    services: &Services,
    system: &Actor,
    project_id: &ProjectId,
    agents: &[UserId],
) -> ServiceResult<()> {
    use crate::sales::{self, NewContract, NewPaymentMethod, NewSubscription};
    let one_off = sales::create_payment_method(
        services,
        system,
        project_id,
        NewPaymentMethod {
            name: Some("一次性付款".into()),
            kind: Some("one_off".into()),
            discount: Some("0.03".into()),
            terms: vec![term("down_payment", "1", 7)],
            non_standard: false,
        },
    )
    .await?;
    let mortgage = sales::create_payment_method(
        services,
        system,
        project_id,
        NewPaymentMethod {
            name: Some("商业按揭".into()),
            kind: Some("commercial_mortgage".into()),
            discount: Some("0.01".into()),
            terms: vec![term("down_payment", "0.3", 0), term("mortgage", "0.7", 60)],
            non_standard: false,
        },
    )
    .await?;
    let conn = services.store.conn();
    let buildings = loupan_store::inventory::list_buildings_of_project(conn, project_id).await?;
    let Some(building) = buildings.first() else { return Ok(()) };
    let units = loupan_store::inventory::units_of_building(conn, &building.id).await?;
    let available: Vec<_> = units.into_iter().filter(|u| u.status == UnitStatus::Available && u.floor <= 6).collect();
    let mut finance_actor = system.clone();
    finance_actor.display_name = "陈静".into();
    // The cashier's receipt book (票据): every receipt below takes its number, and
    // one spoiled form shows how a gap is explained.
    let book = crate::finance::receipt_books::register(
        services,
        &finance_actor,
        crate::finance::receipt_books::NewBook {
            project_id: Some(project_id.to_string()),
            prefix: Some("SJ2026-".into()),
            first_number: Some(1),
            last_number: Some(500),
        },
    )
    .await?;
    for (i, unit) in available.iter().take(8).enumerate() {
        let agent_id = &agents[i % agents.len().max(1)];
        let Some(agent) = crate::platform::auth::load_actor(conn, agent_id, None).await? else { continue };
        let query = crate::customers::CustomerQuery::default();
        let mine = crate::customers::search(services, &agent, query, None, 50).await?;
        let Some(customer) = mine.get(i / agents.len().max(1)) else { continue };
        let price = unit.list_price.to_string();
        let method = if i % 2 == 0 { &mortgage } else { &one_off };
        let day = format!("2026-{:02}-{:02}", 3 + i % 6, 5 + i);
        if i % 3 == 0 {
            let subscription = sales::subscribe(
                services,
                &agent,
                NewSubscription {
                    buyers: Vec::new(),
                    unit_id: Some(unit.id.to_string()),
                    customer_id: Some(customer.id.to_string()),
                    total_price: Some(price),
                    deposit: Some("50000.00".into()),
                    payment_method_id: Some(method.id.clone()),
                    subscribed_on: Some(day.clone()),
                },
            )
            .await?;
            // The deposit is paid and audited: once the contract is signed the cashier
            // moves it to the contract (定金转房款).
            let deposit = crate::finance::record_receipt(
                services,
                &finance_actor,
                crate::finance::NewReceipt {
                    subscription_id: Some(subscription.id.to_string()),
                    amount: Some("50000.00".into()),
                    received_on: Some(day),
                    channel: Some("pos".into()),
                    ..Default::default()
                },
            )
            .await?;
            crate::finance::mark_arrived(services, &finance_actor, &deposit.id).await?;
            crate::finance::audit_receipt(services, &finance_actor, &deposit.id).await?;
            if i == 3 {
                crate::finance::receipt_books::void(services, &finance_actor, &book.id, None, Some("打印错位，作废"))
                    .await?;
            }
            continue;
        }
        let contract = sales::sign_contract(
            services,
            &agent,
            NewContract {
                unit_id: Some(unit.id.to_string()),
                customer_id: Some(customer.id.to_string()),
                payment_method_id: Some(method.id.clone()),
                total_price: Some(price),
                signed_on: Some(day.clone()),
                ..Default::default()
            },
        )
        .await?;
        let Some(contract) = contract.signed() else { continue };
        // The down payment comes in; most of it is already audited.
        let plan = sales::payment_plan_of(services, system, &contract.id).await?;
        let Some(first) = plan.first() else { continue };
        let receipt = crate::finance::record_receipt(
            services,
            &finance_actor,
            crate::finance::NewReceipt {
                contract_id: Some(contract.id.to_string()),
                amount: Some(first.amount.to_string()),
                received_on: Some(day),
                channel: Some("transfer".into()),
                ..Default::default()
            },
        )
        .await?;
        // Some still in transit, some arrived and waiting for the audit: the
        // reconciliation (核帐) then has differences to show.
        if i % 4 != 1 {
            crate::finance::mark_arrived(services, &finance_actor, &receipt.id).await?;
            if i % 8 != 3 {
                crate::finance::audit_receipt(services, &finance_actor, &receipt.id).await?;
            }
        }
    }
    Ok(())
}

/// The agents report to the sales manager, agents may give 1 % on their own,
/// and two special discounts wait for approval: one the sales manager decides
/// alone, one that goes on to the project manager (above 3 %). A contract on
/// the project's non-standard instalment plan waits for the sales manager.
async fn demo_approvals(
    services: &Services,
    system: &Actor,
    project_id: &ProjectId,
    agents: &[UserId],
    manager: Option<&UserId>,
) -> ServiceResult<()> {
    use crate::sales::{self, NewSubscription};
    inventory::set_agent_discount_limit(services, system, project_id, Some("0.01")).await?;
    for agent in agents {
        let user = users::get_user(services, system, agent).await?;
        let changes = users::UserChanges {
            version: user.version,
            display_name: Some(user.display_name.clone()),
            roles: user.roles.iter().map(|r| r.name().to_owned()).collect(),
            project_ids: user.project_ids.clone(),
            disabled: false,
            manager_id: manager.map(UserId::to_string),
            department: user.department.clone(),
        };
        users::update_user(services, system, agent, changes).await?;
    }
    let conn = services.store.conn();
    let methods = sales::list_payment_methods(services, system, project_id).await?;
    let Some(method) = methods.iter().find(|m| m.name == "商业按揭") else { return Ok(()) };
    let buildings = loupan_store::inventory::list_buildings_of_project(conn, project_id).await?;
    let Some(building) = buildings.get(1) else { return Ok(()) };
    let units = loupan_store::inventory::units_of_building(conn, &building.id).await?;
    let free: Vec<_> = units.into_iter().filter(|u| u.status == UnitStatus::Available && u.floor >= 8).collect();
    let requests = [("老客户介绍，一次性交足首付", 98), ("团购三套，客户要求 95 折", 95)];
    for (i, (reason, percent)) in requests.iter().enumerate() {
        let (Some(unit), Some(agent_id)) = (free.get(i), agents.get(i % agents.len().max(1))) else { continue };
        let Some(agent) = crate::platform::auth::load_actor(conn, agent_id, None).await? else { continue };
        let mine =
            crate::customers::search(services, &agent, crate::customers::CustomerQuery::default(), None, 50).await?;
        let Some(customer) = mine.last() else { continue };
        let limits = sales::limits_for(services, &agent, &unit.id, &method.id).await?;
        let total = limits.standard.times_percent(*percent);
        sales::request_special_discount(
            services,
            &agent,
            NewSubscription {
                buyers: Vec::new(),
                unit_id: Some(unit.id.to_string()),
                customer_id: Some(customer.id.to_string()),
                total_price: Some(total.to_string()),
                deposit: Some("20000.00".into()),
                payment_method_id: Some(method.id.clone()),
                subscribed_on: Some("2026-11-20".into()),
            },
            Some(reason),
        )
        .await?;
    }
    let instalments = sales::create_payment_method(
        services,
        system,
        project_id,
        sales::NewPaymentMethod {
            name: Some("分期付款（非标）".into()),
            kind: Some("instalments".into()),
            discount: None,
            terms: vec![term("down_payment", "0.2", 0), term("instalment", "0.4", 90), term("instalment", "0.4", 180)],
            non_standard: true,
        },
    )
    .await?;
    if let (Some(unit), Some(agent_id)) = (free.get(requests.len()), agents.first())
        && let Some(agent) = crate::platform::auth::load_actor(conn, agent_id, None).await?
    {
        let mine =
            crate::customers::search(services, &agent, crate::customers::CustomerQuery::default(), None, 50).await?;
        if let Some(customer) = mine.first() {
            sales::sign_contract(
                services,
                &agent,
                sales::NewContract {
                    unit_id: Some(unit.id.to_string()),
                    customer_id: Some(customer.id.to_string()),
                    payment_method_id: Some(instalments.id.clone()),
                    total_price: Some(unit.list_price.to_string()),
                    signed_on: Some("2026-11-21".into()),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// A drawn site plan (总平面图) with both buildings marked on it, so that the
/// bird's-eye view has something to show.
/// The project's cost: the group template copied with a third level, target
/// V1 adopted and V2 in draft, planned contracts, contracts signed with three
/// suppliers (one beyond its weakly controlled line, with a reason, waiting
/// for the project manager's approval), changes and visas (some
/// confirmed) and an expected cost, so the dynamic cost page has every column.
async fn demo_cost(services: &Services, system: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    use crate::cost;
    use chrono::Datelike;
    use loupan_domain::Money;
    use loupan_domain::cost::complete_credit_code;
    cost::copy_template(services, system, project_id).await?;
    let parent = |code: &str, items: &[cost::CostItem]| items.iter().find(|i| i.code == code).map(|i| i.id.to_string());
    let items = cost::items(services, system, project_id).await?;
    for (code, name) in [("03.01.01", "桩基工程"), ("03.01.02", "主体结构工程")] {
        cost::add_item(
            services,
            system,
            Some(project_id),
            cost::NewCostItem {
                parent_id: parent("03.01", &items),
                code: Some(code.into()),
                name: Some(name.into()),
                unit_of_measure: Some("m2".into()),
                ..Default::default()
            },
        )
        .await?;
    }
    let leaves: Vec<cost::CostItem> =
        cost::items(services, system, project_id).await?.into_iter().filter(|i| i.leaf).collect();
    let leaf = |code: &str| leaves.iter().find(|i| i.code == code).map(|i| i.id.to_string());
    // Target cost in yuan per leaf item: the scheme version, then construction drawings.
    let targets: [(&str, i64); 13] = [
        ("01.01", 180_000_000),
        ("01.02", 7_200_000),
        ("02.01", 6_500_000),
        ("02.02", 2_100_000),
        ("03.01.01", 21_000_000),
        ("03.01.02", 96_000_000),
        ("03.02", 31_000_000),
        ("03.03", 18_500_000),
        ("04.01", 9_800_000),
        ("04.02", 12_600_000),
        ("05", 8_000_000),
        ("06.01", 5_400_000),
        ("06.02", 11_000_000),
    ];
    let mut versions = Vec::new();
    for (stage, scale) in [("scheme", 100), ("construction_drawings", 103)] {
        let lines = targets
            .iter()
            .map(|(code, yuan)| cost::NewTargetLine {
                cost_item_id: leaf(code),
                amount: Some(Money::yuan(yuan * scale / 100).to_string()),
            })
            .collect();
        let v = cost::new_version(
            services,
            system,
            project_id,
            cost::NewTargetVersion { stage: Some(stage.into()), note: None, lines },
        )
        .await?;
        versions.push(v.version.id);
    }
    // The scheme's target was approved before the first contract.
    let adoption =
        cost::Adoption { adopted_on: Some((services.clock.today() - chrono::Duration::days(210)).to_string()) };
    cost::adopt_version(services, system, versions[0].as_str(), adoption).await?;

    let mut suppliers = Vec::new();
    for (name, code) in [
        ("中建八局第三建设有限公司", "91320100134782601"),
        ("苏州园林绿化工程有限公司", "91320500MA1MXK2B7"),
        ("江苏华东机电安装有限公司", "91320200722865431"),
    ] {
        let supplier = cost::add_supplier(
            services,
            system,
            cost::NewSupplier {
                name: Some(name.into()),
                credit_code: complete_credit_code(code),
                qualifications: Some("施工总承包一级".into()),
                contact_name: Some("项目经理".into()),
                contact_phone: Some("0512-66880000".into()),
            },
        )
        .await?;
        suppliers.push(supplier.id.to_string());
    }
    let today = services.clock.today();
    let days_ago = |days: i64| (today - chrono::Duration::days(days)).to_string();
    // (item, planned contract, planned yuan, signed: yuan, supplier, days ago)
    type Planned = (&'static str, &'static str, i64, Option<(i64, usize, i64)>);
    let plan: [Planned; 6] = [
        ("03.01.01", "桩基工程施工合同", 20_500_000, Some((19_860_000, 0, 150))),
        ("03.01.02", "主体结构施工总承包", 95_000_000, Some((93_200_000, 0, 120))),
        ("03.02", "机电安装工程", 30_000_000, Some((29_450_000, 2, 60))),
        ("04.02", "园林景观工程", 12_000_000, Some((11_380_000, 1, 30))),
        // Beyond its (weakly controlled) line: waits for the project manager 孙丽.
        ("03.03", "公共部位精装修", 18_000_000, Some((18_600_000, 0, 2))),
        ("02.01", "施工图设计", 6_200_000, Some((6_050_000, 0, 200))),
    ];
    let mut contracts = Vec::new();
    for (n, (code, name, planned, signed)) in plan.iter().enumerate() {
        let line = cost::add_plan_line(
            services,
            system,
            project_id,
            cost::NewPlanLine {
                cost_item_id: leaf(code),
                name: Some((*name).into()),
                planned_amount: Some(Money::yuan(*planned).to_string()),
                tender_mode: Some("邀请招标".into()),
                planned_month: Some(today.format("%Y-%m").to_string()),
            },
        )
        .await?;
        if let Some((amount, supplier, ago)) = signed {
            let contract = cost::sign_contract(
                services,
                system,
                project_id,
                cost::NewCostContract {
                    code: Some(format!("CH-HT-{:03}", n + 1)),
                    name: Some(format!("{name}合同")),
                    supplier_id: Some(suppliers[*supplier].clone()),
                    kind: Some("total_price".into()),
                    retention_percent: Some("3".into()),
                    payment_terms: Some("按月进度付款 75%，竣工结算后付至 97%，质保期满付清".into()),
                    signed_on: Some(days_ago(*ago)),
                    over_plan_reason: (amount > planned).then(|| "大堂及电梯厅石材升级，经设计确认".into()),
                    lines: vec![cost::NewContractLine {
                        plan_line_id: Some(line.id.to_string()),
                        amount: Some(Money::yuan(*amount).to_string()),
                    }],
                    ..Default::default()
                },
            )
            .await?;
            contracts.push((code, contract.id.to_string()));
        }
    }
    // The general contract's first page, as the cost engineer scanned it in.
    if let Some((_, id)) = contracts.iter().find(|(c, _)| **c == "03.01.02")
        && loupan_documents::pdf::available()
    {
        use loupan_documents::pdf::Block;
        let page = loupan_documents::pdf::render(&[
            Block::Title("主体结构施工总承包合同".into()),
            Block::Fields(vec![
                ("合同编号".into(), "CH-HT-002".into()),
                ("合同金额".into(), format!("人民币 {} 元", Money::yuan(93_200_000))),
                ("质保金".into(), "合同金额的 3%".into()),
            ]),
            Block::Paragraph("发包人与承包人经协商一致，就本工程主体结构施工总承包事项订立本合同。".into()),
            Block::Signatures(vec!["发包人（盖章）：".into(), "承包人（盖章）：".into()]),
        ])
        .map_err(ServiceError::internal)?;
        let owner = (FileOwner::CostContract, id.as_str(), "attachment");
        crate::inventory::files::upload(services, system, owner, "合同首页扫描件.pdf", page).await?;
    }
    // (kind, item, reason, estimated yuan, confirmed yuan, days ago)
    type Submitted = (&'static str, &'static str, &'static str, i64, Option<i64>, i64);
    let variations: [Submitted; 5] = [
        ("change", "03.01.02", "地下室顶板加厚，结构设计变更", 860_000, Some(812_500), 90),
        ("visa", "03.01.01", "桩基遇孤石，增加引孔", 230_000, Some(218_400), 100),
        ("change", "03.02", "消防喷淋系统调整", 145_000, None, 20),
        ("visa", "04.02", "苗木规格调整", -36_000, None, 10),
        ("change", "03.01.02", "外立面线条深化", 320_000, None, 5),
    ];
    for (n, (kind, code, reason, estimate, confirmed, ago)) in variations.into_iter().enumerate() {
        let v = cost::submit_variation(
            services,
            system,
            project_id,
            cost::NewVariation {
                kind: Some(kind.into()),
                code: None,
                contract_id: contracts.iter().find(|(c, _)| **c == code).map(|(_, id)| id.clone()),
                cost_item_id: leaf(code),
                reason: Some(reason.into()),
                estimated_amount: Some(Money::yuan(estimate).to_string()),
                submitted_on: Some(days_ago(ago)),
            },
        )
        .await?;
        if n == 0 {
            // The change's drawing: the slab marked on the plan.
            let drawing = site_plan_png(320, 200, &[(250, 350, 500, 300)]);
            let owner = (FileOwner::CostVariation, v.id.as_str(), "attachment");
            crate::inventory::files::upload(services, system, owner, "变更图纸-地下室顶板.png", drawing).await?;
        }
        // The last change still waits for the project manager; the others were approved.
        if let Some(request) = v.approval_id.as_deref().filter(|_| n + 1 < variations.len()) {
            approve_as_approvers(services, request).await?;
        }
        if let Some(amount) = confirmed {
            cost::confirm_variation(
                services,
                system,
                v.id.as_str(),
                cost::VariationConfirmation {
                    confirmed_amount: Some(Money::yuan(amount).to_string()),
                    confirmed_on: Some(days_ago(ago - 30)),
                },
            )
            .await?;
        }
    }
    cost::add_expected(
        services,
        system,
        project_id,
        cost::NewExpectedCost {
            cost_item_id: leaf("06.02"),
            amount: Some(Money::yuan(1_500_000).to_string()),
            reason: Some("开盘活动及样板间维护预估".into()),
            posted_on: None,
        },
    )
    .await?;
    // Last month's report, each item that moved explained.
    let month = (today.with_day(1).unwrap_or(today) - chrono::Duration::days(1)).format("%Y-%m").to_string();
    let draft = cost::report_draft(services, system, project_id, Some(&month)).await?;
    let explanations = draft
        .lines
        .iter()
        .filter(|l| l.leaf && !l.movement.is_zero())
        .map(|l| {
            let why = match l.code.as_str() {
                "03.01.02" => "外立面线条深化变更申报，地下室顶板加厚变更完工确认",
                "03.01.01" => "桩基引孔签证完工确认",
                "03.02" => "消防喷淋系统调整变更申报",
                "04.02" => "园林景观合同签订，苗木规格调整签证",
                _ => "本月合同签订及变更签证",
            };
            (l.cost_item_id.to_string(), why.to_owned())
        })
        .collect();
    cost::issue_report(
        services,
        system,
        project_id,
        cost::NewCostReport {
            month: Some(month),
            summary: Some("主体结构施工推进，景观合同签订；动态成本仍在目标成本以内。".into()),
            explanations,
        },
    )
    .await?;
    Ok(())
}

/// Approves a request step by step as its approvers would: the demo's history.
async fn approve_as_approvers(services: &Services, request: &str) -> ServiceResult<()> {
    use loupan_domain::approvals::{ApprovalStatus, TaskStatus};
    // A flow has a few steps; never loop on one that cannot move.
    for _ in 0..10 {
        let conn = services.store.conn();
        let Some(req) = loupan_store::approvals::find_request(conn, request).await? else { return Ok(()) };
        if req.status != ApprovalStatus::Pending {
            return Ok(());
        }
        let tasks = loupan_store::approvals::tasks_of(conn, request).await?;
        let Some(task) = tasks.iter().find(|t| t.step == req.current_step && t.status == TaskStatus::Pending) else {
            return Ok(());
        };
        let Some(approver) = crate::platform::auth::load_actor(conn, &task.approver_id, None).await? else {
            return Ok(());
        };
        crate::approvals::decide(services, &approver, request, crate::approvals::Decision::Approve, Some("同意"))
            .await?;
    }
    Ok(())
}

async fn demo_site_plan(services: &Services, system: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    // (x, y, w, h) in thousandths of the plan, one per building in order.
    const PLACES: [(i32, i32, i32, i32); 2] = [(180, 300, 220, 300), (600, 300, 220, 300)];
    let png = site_plan_png(400, 260, &PLACES);
    crate::inventory::files::upload(
        services,
        system,
        (FileOwner::Project, project_id.as_str(), "site_plan"),
        "总平面图.png",
        png,
    )
    .await?;
    let buildings = inventory::list_buildings(services, system, project_id).await?;
    for (b, (x, y, w, h)) in buildings.iter().zip(PLACES) {
        crate::inventory::files::set_region(services, system, &b.id, crate::inventory::files::Region { x, y, w, h })
            .await?;
    }
    Ok(())
}

/// A palette PNG: lawn, a ring road and the building footprints, written by
/// hand (stored deflate blocks) to need no image library.
fn site_plan_png(width: u32, height: u32, buildings: &[(i32, i32, i32, i32)]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let (w, h) = (width as i32, height as i32);
    let mut raw = Vec::with_capacity(((width + 1) * height) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            let (px, py) = (x * 1000 / w, y * 1000 / h);
            let building =
                buildings.iter().any(|(bx, by, bw, bh)| px >= *bx && px < bx + bw && py >= *by && py < by + bh);
            let road = (80..120).contains(&py)
                || (880..920).contains(&py)
                || (60..90).contains(&px)
                || (910..940).contains(&px);
            raw.push(if building {
                2
            } else if road {
                1
            } else {
                0
            });
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"PLTE", &[0xDC, 0xEE, 0xD5, 0xBF, 0xBF, 0xBF, 0x5B, 0x73, 0x8B]);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// One term of a demo payment method: a share of the price due some days after signing.
fn term(kind: &str, ratio: &str, days: i64) -> crate::sales::NewTerm {
    crate::sales::NewTerm { kind: Some(kind.into()), ratio: Some(ratio.into()), days_after_signing: Some(days) }
}
