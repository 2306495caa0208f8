//! S8: a questionnaire's analysis and cross analysis over 100,000 answered
//! responses (about 300,000 answers: a single choice, a scale, and a
//! multiple choice shown to two thirds of them) in the first project, each
//! from another customer. The target: the cross analysis under 300 ms. The raw
//! side replays the `GROUP BY` the store sends for grade × an answer.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use loupan_domain::ids::{CustomerId, ResponseId, UserId};
use loupan_domain::questionnaires::{Choice, Question, QuestionKind, ResponseChannel, ShowIf};
use loupan_service::Services;
use loupan_service::questionnaires::{self, QuestionnaireForm};
use loupan_store::questionnaires::{AnswerRow, ResponseRow};

use crate::data::{Rng, Seeded};
use crate::workloads::{WorkloadResult, get, measure, ratios, svc, timed};

const RESPONSES: usize = 100_000;

fn question(key: &str, kind: QuestionKind, options: &[&str]) -> Question {
    Question {
        key: key.into(),
        text: format!("{key}?"),
        kind,
        required: true,
        options: options.iter().map(|o| Choice { key: (*o).into(), label: o.to_uppercase() }).collect(),
        show_if: None,
    }
}

pub async fn run(services: &Services, seeded: &Seeded, router: &axum::Router, noop_p50: f64) -> Result<WorkloadResult> {
    let admin = &seeded.admin;
    let project = &seeded.projects[0];
    let mut why = question("why", QuestionKind::Multiple, &["school", "metro", "view", "price"]);
    why.show_if = Some(ShowIf { question: "heard".into(), any_of: vec!["friend".into(), "web".into()] });
    let form = QuestionnaireForm {
        project_id: Some(project.to_string()),
        stage: Some("first_visit".into()),
        title: Some("首访客户问卷（基准）".into()),
        questions: Some(vec![
            question("heard", QuestionKind::Single, &["ad", "friend", "web"]),
            why,
            question("score", QuestionKind::Scale5, &[]),
        ]),
        ..QuestionnaireForm::default()
    };
    let questionnaire = questionnaires::create(services, admin, form).await.map_err(svc)?;
    let id = questionnaire.id.clone();
    // Each response from a customer of its own, as when a questionnaire is
    // handed to every visitor: the cross analysis reads as many customers as
    // it counts responses.
    let customers: Vec<CustomerId> = loupan_store::raw::query_column(
        services.store.conn(),
        "SELECT id FROM customers ORDER BY id LIMIT $1",
        vec![(RESPONSES as i64).into()],
        "id",
    )
    .await?
    .into_iter()
    .map(CustomerId::from)
    .collect();
    anyhow::ensure!(!customers.is_empty(), "no customers seeded");

    let seeding = Instant::now();
    let mut rng = Rng::new(8);
    let now = loupan_store::now();
    let (mut responses, mut answers) = (Vec::with_capacity(RESPONSES), Vec::with_capacity(3 * RESPONSES));
    for i in 0..RESPONSES {
        let response = ResponseRow {
            id: ResponseId::from(loupan_store::new_id()),
            questionnaire_id: id.clone(),
            version: 1,
            project_id: project.clone(),
            customer_id: customers[i % customers.len()].clone(),
            channel: ResponseChannel::Tablet,
            answered_by: admin.user_id.clone().or_else(|| Some(UserId::from("bench"))),
            token_hash: None,
            token_cipher: None,
            notice_recipient_id: None,
            created_by: "bench".into(),
            created_at: now,
            expires_at: None,
            answered_at: Some(now),
        };
        let heard = *rng.pick(&["ad", "friend", "web"]);
        let mut given: Vec<(&str, String)> = vec![("heard", heard.into()), ("score", (1 + rng.below(5)).to_string())];
        if heard != "ad" {
            for option in ["school", "metro", "view", "price"] {
                if rng.below(2) == 0 {
                    given.push(("why", option.into()));
                }
            }
        }
        let mut positions: BTreeMap<&str, i32> = BTreeMap::new();
        for (key, value) in given {
            let position = positions.entry(key).or_default();
            answers.push(AnswerRow {
                response_id: response.id.clone(),
                question_key: key.into(),
                position: *position,
                questionnaire_id: id.clone(),
                value,
            });
            *position += 1;
        }
        responses.push(response);
    }
    let tx = services.store.begin_write().await?;
    loupan_store::bulk::insert_questionnaire_responses(&tx, &responses).await?;
    loupan_store::bulk::insert_questionnaire_answers(&tx, &answers).await?;
    tx.commit().await?;
    let seeded_in = seeding.elapsed();
    crate::workloads::settle(services).await?;
    let mut findings = vec![format!(
        "seeded {} responses with {} answers over {} customers in {:.1} s",
        responses.len(),
        answers.len(),
        customers.len(),
        seeded_in.as_secs_f64()
    )];

    let n = 30;
    let token = &seeded.admin_token;
    let cross = format!("/api/v1/questionnaires/{id}/cross-analysis?rows=grade&columns=q.heard");
    let (s_router, w_router) = timed(n, |_| get(router, token, &cross)).await?;
    let (s_svc, w_svc) = timed(n, |_| async {
        let period = questionnaires::analysis::Period::default();
        questionnaires::analysis::cross(services, admin, &id, Some("grade"), Some("q.heard"), &period)
            .await
            .map(|_| ())
            .map_err(svc)
    })
    .await?;
    let conn = services.store.conn();
    let raw = "SELECT COALESCE(c.grade, '') AS x, ax.value AS y, CAST(COUNT(*) AS BIGINT) AS n \
               FROM questionnaire_responses r JOIN customers c ON c.id = r.customer_id \
               JOIN questionnaire_answers ax ON ax.response_id = r.id AND ax.question_key = $1 \
               WHERE r.questionnaire_id = $2 AND r.answered_at IS NOT NULL GROUP BY 1, 2";
    let (s_raw, w_raw) = timed(n, |_| async {
        let values = vec!["heard".into(), id.as_str().to_owned().into()];
        loupan_store::raw::query_count(conn, raw, values).await.map_err(anyhow::Error::from)
    })
    .await?;
    let mut measures = vec![
        measure("raw_sql", &s_raw, w_raw),
        measure("service", &s_svc, w_svc),
        measure("router", &s_router, w_router),
    ];
    let ratios = ratios(&measures, noop_p50);
    for (label, path) in [
        (
            "router: q.heard × q.score (two answers)",
            format!("/api/v1/questionnaires/{id}/cross-analysis?rows=q.heard&columns=q.score"),
        ),
        (
            "router: q.why × age (multiple choice × birthday bands)",
            format!("/api/v1/questionnaires/{id}/cross-analysis?rows=q.why&columns=age"),
        ),
        ("router: analysis, every question", format!("/api/v1/questionnaires/{id}/analysis")),
    ] {
        let (s, w) = timed(n, |_| get(router, token, &path)).await?;
        measures.push(measure(label, &s, w));
    }
    let p99 = measures.iter().find(|m| m.path == "router").map_or(0.0, |m| m.p99_ms);
    findings.push(format!("cross analysis grade × q.heard through the router: p99 {p99:.1} ms (target < 300 ms)"));
    Ok(WorkloadResult {
        name: "S8 questionnaire cross analysis".into(),
        what: format!(
            "GET /api/v1/questionnaires/{{id}}/cross-analysis over {RESPONSES} answered responses (counted in SQL), and the analysis per question"
        ),
        measures,
        ratios,
        findings,
    })
}
