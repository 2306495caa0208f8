//! Background jobs, stored in the database (see `loupan_store::jobs` for how
//! claims stay exclusive across instances). Modules enqueue inside their own
//! transaction, so a job exists exactly when the change that needs it does.
//! Scheduled work (reservation expiry, approval deadlines, the morning's
//! follow-up reminders) is a schedule row that whichever instance advances
//! first turns into a job.

use chrono::{DateTime, Duration, Utc};
use loupan_domain::Permission;
use loupan_domain::ids::UserId;
use loupan_domain::platform::JobStatus;
use loupan_store::Connection;
use loupan_store::jobs::{self as store, JobRow, ScheduleRow};
use serde::Serialize;
use serde_json::Value;

use crate::platform::notifications::{self, Notice};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// What a job does. What each kind runs is `crate::handlers::run_job`, which
/// matches on it exhaustively: a new kind does not compile until it has a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    ExpireReservations,
    ApprovalDeadlines,
    FollowUpReminders,
    WebhookDelivery,
    CustomerImport,
    /// Sends one batch of notices (`notices::run_batch`).
    NoticeBatch,
    /// The morning's birthday and holiday greetings (`notices::care`).
    Greetings,
    /// Reminders and escalations of customer-service cases (`cases::check_deadlines`).
    CaseDeadlines,
    /// Sends one satisfaction survey's link by the desk's template (`notices::run_survey_job`).
    SurveyNotice,
    /// Reminders and escalations of service processes' steps (`aftersales::processes::check_deadlines`).
    ProcessDeadlines,
    /// Tells when a handover defect passes its deadline (`aftersales::handover::check_defect_deadlines`).
    DefectDeadlines,
    /// Forgets what stops mattering with time: old jobs, idempotency keys, sessions (`platform::housekeeping`).
    Housekeeping,
}

impl JobKind {
    pub const ALL: [JobKind; 12] = [
        JobKind::ExpireReservations,
        JobKind::ApprovalDeadlines,
        JobKind::FollowUpReminders,
        JobKind::WebhookDelivery,
        JobKind::CustomerImport,
        JobKind::NoticeBatch,
        JobKind::Greetings,
        JobKind::CaseDeadlines,
        JobKind::SurveyNotice,
        JobKind::ProcessDeadlines,
        JobKind::DefectDeadlines,
        JobKind::Housekeeping,
    ];

    /// The stable name stored in job rows and shown (translated) on the admin page.
    pub const fn name(self) -> &'static str {
        match self {
            JobKind::ExpireReservations => "expire_reservations",
            JobKind::ApprovalDeadlines => "approval_deadlines",
            JobKind::FollowUpReminders => "follow_up_reminders",
            JobKind::WebhookDelivery => "webhook_delivery",
            JobKind::CustomerImport => "customer_import",
            JobKind::NoticeBatch => "notice_batch",
            JobKind::Greetings => "greetings",
            JobKind::CaseDeadlines => "case_deadlines",
            JobKind::SurveyNotice => "survey_notice",
            JobKind::ProcessDeadlines => "process_deadlines",
            JobKind::DefectDeadlines => "defect_deadlines",
            JobKind::Housekeeping => "housekeeping",
        }
    }

    /// Whether housekeeping deletes a job of this kind some days after it
    /// ended. An import's or a batch's job holds its report, which its page
    /// shows for good; the others' records live elsewhere (a webhook's in its
    /// deliveries) or nowhere but the log.
    pub const fn forgotten_when_ended(self) -> bool {
        match self {
            JobKind::CustomerImport | JobKind::NoticeBatch => false,
            JobKind::ExpireReservations
            | JobKind::ApprovalDeadlines
            | JobKind::FollowUpReminders
            | JobKind::WebhookDelivery
            | JobKind::Greetings
            | JobKind::CaseDeadlines
            | JobKind::SurveyNotice
            | JobKind::ProcessDeadlines
            | JobKind::DefectDeadlines
            | JobKind::Housekeeping => true,
        }
    }

    pub fn parse(name: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Serialize for JobKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Every kind of job by name, for translations and the admin page.
pub const KINDS: [&str; 12] = [
    JobKind::ExpireReservations.name(),
    JobKind::ApprovalDeadlines.name(),
    JobKind::FollowUpReminders.name(),
    JobKind::WebhookDelivery.name(),
    JobKind::CustomerImport.name(),
    JobKind::NoticeBatch.name(),
    JobKind::Greetings.name(),
    JobKind::CaseDeadlines.name(),
    JobKind::SurveyNotice.name(),
    JobKind::ProcessDeadlines.name(),
    JobKind::DefectDeadlines.name(),
    JobKind::Housekeeping.name(),
];

/// What running a job does, by kind (`crate::handlers::run_job`): `Ok(result)`
/// finishes it, `Err(reason)` retries it later.
pub(crate) type RunFn = for<'a> fn(
    &'a Services,
    &'a JobRow,
    JobKind,
    DateTime<Utc>,
) -> crate::BoxFuture<'a, Result<Option<String>, String>>;

/// What a job that failed for the last time leaves to do (`crate::handlers::job_gave_up`).
pub(crate) type GaveUpFn = for<'a> fn(&'a Services, &'a JobRow, JobKind) -> crate::BoxFuture<'a, ServiceResult<()>>;

/// How long a claimed job is a worker's before another may take it over,
/// unless the worker renews it: a worker that was killed gives its jobs up
/// within this time, and a long job (a batch of 10,000 letters) stays its own.
const LEASE: Duration = Duration::seconds(30);

/// How often a worker renews the leases of the jobs it holds.
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

pub struct NewJob {
    pub kind: JobKind,
    pub payload: Value,
    /// None: as soon as possible.
    pub run_at: Option<DateTime<Utc>>,
    /// At most one job with this key is ever enqueued.
    pub unique_key: Option<String>,
    pub max_attempts: i32,
    pub created_by: Option<String>,
}

/// Enqueues a job inside the caller's transaction. None when `unique_key` was taken.
pub async fn enqueue<C: Connection>(conn: &C, job: NewJob) -> ServiceResult<Option<String>> {
    let now = loupan_store::now();
    let row = JobRow {
        id: loupan_store::new_id(),
        kind: job.kind.name().to_owned(),
        payload: job.payload.to_string(),
        status: JobStatus::Queued,
        attempts: 0,
        max_attempts: job.max_attempts.max(1),
        run_at: job.run_at.unwrap_or(now),
        locked_by: None,
        locked_until: None,
        last_error: None,
        progress_done: 0,
        progress_total: 0,
        result: None,
        unique_key: job.unique_key,
        created_by: job.created_by,
        created_at: now,
        finished_at: None,
        request_id: crate::platform::request::current(),
    };
    Ok(store::insert_job(conn, &row).await?.then_some(row.id))
}

/// Done/total of the long jobs running in this process. A long job may hold
/// SQLite's single write lock for its whole transaction (an import is all or
/// nothing), so its progress cannot always be written to its row while it
/// runs: readers in this process see it here; on PostgreSQL it is also written
/// to the row for other instances.
#[derive(Debug, Default)]
pub struct LiveProgress(std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>);

impl LiveProgress {
    fn set(&self, job_id: &str, done: i64, total: i64) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(job_id.to_owned(), (done, total));
        }
    }
    fn clear(&self, job_id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(job_id);
        }
    }
    fn get(&self, job_id: &str) -> Option<(i64, i64)> {
        self.0.lock().ok().and_then(|m| m.get(job_id).copied())
    }
}

/// A running job's progress reporter, handed to the module doing the work.
pub struct Progress<'a> {
    pub(crate) services: &'a Services,
    pub(crate) job_id: String,
}

impl Progress<'_> {
    pub async fn set(&self, done: usize, total: usize) {
        let (done, total) = (i64::try_from(done).unwrap_or(i64::MAX), i64::try_from(total).unwrap_or(i64::MAX));
        self.services.progress.set(&self.job_id, done, total);
        if self.services.store.backend() == loupan_store::DbBackend::Postgres
            && let Err(e) = store::set_progress(self.services.store.conn(), &self.job_id, done, total).await
        {
            tracing::warn!(job = %self.job_id, error = %crate::error::chain(&e), "could not record progress");
        }
    }
}

/// Wait before the next attempt: 5 s, 10 s, 20 s, … at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::seconds((5_i64 << exp).min(3600))
}

/// The schedules every installation has: name, job kind, interval.
const SCHEDULES: [(&str, JobKind, i64); 8] = [
    ("reservation_expiry", JobKind::ExpireReservations, 60),
    ("approval_deadlines", JobKind::ApprovalDeadlines, 60),
    ("follow_up_reminders", JobKind::FollowUpReminders, 24 * 3600),
    ("greetings", JobKind::Greetings, 24 * 3600),
    ("case_deadlines", JobKind::CaseDeadlines, 60),
    // Step deadlines are days: an hourly look reminds on the morning of the day.
    ("process_deadlines", JobKind::ProcessDeadlines, 3600),
    // A defect's deadline is hours: looked at every ten minutes.
    ("defect_deadlines", JobKind::DefectDeadlines, 600),
    ("housekeeping", JobKind::Housekeeping, 24 * 3600),
];

/// When agents start their day, in the company's time.
const MORNING_HOUR: i64 = 8;

/// The next 08:00 of the company's day after `now`: when agents start their day.
fn next_morning(clock: &crate::Clock, now: DateTime<Utc>) -> DateTime<Utc> {
    let morning = |day| clock.start_of_day(day) + Duration::hours(MORNING_HOUR);
    let today = clock.date_of(now);
    if morning(today) > now { morning(today) } else { morning(today + Duration::days(1)) }
}

/// Adds missing schedules; existing ones keep their timing.
pub async fn ensure_schedules(services: &Services) -> ServiceResult<()> {
    let now = services.clock.now();
    let tx = services.store.begin_write().await?;
    for (name, kind, interval) in SCHEDULES {
        let first = if interval >= 24 * 3600 { next_morning(&services.clock, now) } else { now };
        store::ensure_schedule(
            &tx,
            &ScheduleRow {
                name: name.into(),
                kind: kind.name().into(),
                interval_seconds: interval,
                next_run_at: first,
                last_run_at: None,
            },
        )
        .await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(())
}

/// Turns every due schedule into a job; with several instances exactly one wins each run.
pub async fn tick_schedules(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut enqueued = 0;
    for s in store::schedules(services.store.conn()).await? {
        if s.next_run_at > now {
            continue;
        }
        // Skip runs missed while nobody was up: one catch-up run, then the rhythm.
        let mut next = s.next_run_at + Duration::seconds(s.interval_seconds);
        while next <= now {
            next += Duration::seconds(s.interval_seconds);
        }
        let tx = services.store.begin_write().await?;
        if store::advance_schedule(&tx, &s.name, s.next_run_at, next, now).await? {
            let kind = JobKind::parse(&s.kind).ok_or_else(|| {
                ServiceError::internal(format!("schedule {} names unknown job kind {}", s.name, s.kind))
            })?;
            let key = format!("schedule:{}:{}", s.name, s.next_run_at.timestamp());
            let job = NewJob {
                kind,
                payload: serde_json::json!({"scheduled_for": s.next_run_at}),
                run_at: Some(now),
                unique_key: Some(key),
                max_attempts: 3,
                created_by: None,
            };
            if enqueue(&tx, job).await?.is_some() {
                enqueued += 1;
            }
        }
        tx.commit().await.map_err(ServiceError::internal)?;
    }
    Ok(enqueued)
}

/// Claims and runs the jobs due at `now`, one batch; returns how many ran.
pub async fn run_due(services: &Services, worker: &str, now: DateTime<Utc>) -> ServiceResult<usize> {
    let tx = services.store.begin_write().await?;
    let claimed = store::claim_jobs(&tx, worker, now, now + LEASE, 8).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    let count = claimed.len();
    let work = run_claimed(services, worker, now, claimed);
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done.map(|()| count),
            () = tokio::time::sleep(RENEW_EVERY) => {
                let until = services.clock.now().max(now) + LEASE;
                if let Err(e) = store::renew_leases(services.store.conn(), worker, until).await {
                    // The next renewal may succeed; a lease lost shows when the job finishes.
                    tracing::warn!(error = %e, "could not renew job leases");
                }
            }
        }
    }
}

/// Runs the jobs a worker claimed, one after another.
async fn run_claimed(services: &Services, worker: &str, now: DateTime<Utc>, claimed: Vec<JobRow>) -> ServiceResult<()> {
    for job in claimed {
        if services.lifecycle.is_stopping() {
            // Another instance runs it now rather than after the lease.
            store::release_job(services.store.conn(), &job.id, worker).await?;
            continue;
        }
        let kind = JobKind::parse(&job.kind);
        // The job works for the request that queued it (its own id for a scheduled run):
        // its log lines, the jobs it queues and the webhooks it sends carry that id.
        let request = job.request_id.clone().unwrap_or_else(|| job.id.clone());
        let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, request_id = %request);
        let outcome = match kind {
            Some(kind) => {
                let run = (services.handlers.run_job)(services, &job, kind, now);
                crate::platform::request::within(request, tracing::Instrument::instrument(run, span)).await
            }
            None => Err(format!("unknown job kind `{}`", job.kind)),
        };
        // The last progress reported stays on the row (SQLite could not take it while the job wrote).
        if let Some((done, total)) = services.progress.get(&job.id) {
            store::set_progress(services.store.conn(), &job.id, done, total).await?;
        }
        services.progress.clear(&job.id);
        let conn = services.store.conn();
        let finished_at = services.clock.now();
        match outcome {
            Ok(result) => {
                if !store::finish_job(conn, &job.id, worker, result.as_deref(), finished_at).await? {
                    tracing::warn!(job = %job.id, "job finished after its lease passed to another worker");
                }
            }
            Err(error) => {
                let retry_at = (job.attempts < job.max_attempts).then(|| now.max(finished_at) + backoff(job.attempts));
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, %error, "job failed");
                store::fail_job(conn, &job.id, worker, &error, retry_at, finished_at).await?;
                if retry_at.is_none()
                    && let Some(kind) = kind
                {
                    (services.handlers.job_gave_up)(services, &job, kind).await?;
                }
            }
        }
    }
    Ok(())
}

/// Tells each agent which of their customers are due a contact today (Beijing).
pub(crate) async fn remind_follow_ups(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let today = services.clock.date_of(now);
    let due = loupan_store::customers::contacts_due_on(services.store.conn(), today).await?;
    let tx = services.store.begin_write().await?;
    for (customer_id, owner_id, name) in &due {
        let link = format!("/customers/{customer_id}");
        notifications::notify(
            &tx,
            std::slice::from_ref(owner_id),
            &Notice {
                kind: loupan_domain::platform::NotificationKind::FollowUpDue,
                title: name,
                title_said: None,
                body: &today.to_string(),
                link: &link,
            },
        )
        .await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(due.len())
}

/// Runs schedules and jobs until the instance stops (`lifecycle`): one loop
/// per instance. On stopping it finishes the job it is running, takes no
/// other and returns; `serve` waits for the returned task, within its limit.
pub fn start(services: &Services) -> tokio::task::JoinHandle<()> {
    let services = services.clone();
    let worker = format!("{}-{}", std::process::id(), &loupan_store::new_id()[..8]);
    tokio::spawn(async move {
        if let Err(e) = ensure_schedules(&services).await {
            tracing::error!(error = %e.chain(), "could not set up job schedules");
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let stopped = services.lifecycle.clone();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stopped.stopped() => break,
            }
            let now = services.clock.now();
            if let Err(e) = tick_schedules(&services, now).await {
                tracing::error!(error = %e.chain(), "job schedules failed");
            }
            // Drain what is due before sleeping again, unless the instance is stopping.
            while !services.lifecycle.is_stopping() {
                match run_due(&services, &worker, services.clock.now()).await {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!(error = %e.chain(), "job worker failed");
                        break;
                    }
                }
            }
        }
        tracing::info!("job worker stopped");
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub progress_done: i64,
    pub progress_total: i64,
    pub result: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// The row, with the live progress of this process where it is newer.
    fn current(services: &Services, r: JobRow) -> Job {
        let live = if r.status == JobStatus::Running { services.progress.get(&r.id) } else { None };
        let mut job = Job::from(r);
        if let Some((done, total)) = live {
            job.progress_done = done;
            job.progress_total = total;
        }
        job
    }
}

impl From<JobRow> for Job {
    fn from(r: JobRow) -> Self {
        Job {
            id: r.id,
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: r.run_at,
            last_error: r.last_error,
            progress_done: r.progress_done,
            progress_total: r.progress_total,
            result: r.result,
            created_at: r.created_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub name: String,
    pub kind: String,
    pub interval_seconds: i64,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
}

/// Jobs, newest first, and how many there are in each state.
/// The queue as `/metrics` shows it.
#[derive(Debug, Clone)]
pub struct QueueGauges {
    pub counts: Vec<(JobStatus, i64)>,
    /// Seconds since the longest-waiting due job was due (0 when none waits).
    pub lag_seconds: i64,
}

/// For the instance's own metrics (no actor: `/metrics` is for operators' scrapers).
pub async fn queue_gauges(services: &Services) -> ServiceResult<QueueGauges> {
    let conn = services.store.conn();
    let now = services.clock.now();
    let lag_seconds = store::oldest_due(conn, now).await?.map_or(0, |due| (now - due).num_seconds().max(0));
    Ok(QueueGauges { counts: store::count_by_status(conn).await?, lag_seconds })
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub counts: Vec<(JobStatus, i64)>,
    pub schedules: Vec<Schedule>,
    pub jobs: Vec<Job>,
}

pub async fn overview(
    services: &Services,
    actor: &Actor,
    status: Option<&str>,
    kind: Option<&str>,
) -> ServiceResult<Overview> {
    actor.require(Permission::ManageIntegrations)?;
    let conn = services.store.conn();
    let status = crate::error::status_filter("status", status)?;
    let kind = kind.filter(|s| !s.is_empty());
    Ok(Overview {
        counts: store::count_by_status(conn).await?,
        schedules: store::schedules(conn)
            .await?
            .into_iter()
            .map(|s| Schedule {
                name: s.name,
                kind: s.kind,
                interval_seconds: s.interval_seconds,
                next_run_at: s.next_run_at,
                last_run_at: s.last_run_at,
            })
            .collect(),
        jobs: store::list_jobs(conn, status, kind, 200).await?.into_iter().map(|r| Job::current(services, r)).collect(),
    })
}

/// One job: admins see every job, others the jobs they started (their imports).
pub async fn get(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Job> {
    match store::find_job(services.store.conn(), id).await? {
        Some(r)
            if actor.can(Permission::ManageIntegrations)
                || (r.created_by.is_some()
                    && r.created_by.as_deref() == actor.user_id.as_ref().map(UserId::as_str)) =>
        {
            Ok(Job::current(services, r))
        }
        _ => Err(ServiceError::NotFound("job")),
    }
}

/// Queues a job that gave up once more, with fresh attempts.
pub async fn retry(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Job> {
    actor.require(Permission::ManageIntegrations)?;
    let tx = services.store.begin_write().await?;
    let Some(job) = store::find_job(&tx, id).await? else { return Err(ServiceError::NotFound("job")) };
    if !store::requeue_dead_job(&tx, id, services.clock.now()).await? {
        return Err(ServiceError::Conflict("job_not_dead"));
    }
    crate::platform::audit::record(
        &tx,
        actor,
        crate::platform::audit::Change {
            action: "job.retry",
            record_type: "job",
            record_id: id,
            before: Some(serde_json::json!({"status": job.status, "attempts": job.attempts})),
            after: Some(serde_json::json!({"status": "queued"})),
        },
    )
    .await?;
    let job = store::find_job(&tx, id).await?.ok_or(ServiceError::NotFound("job"))?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(job.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(3), Duration::seconds(20));
        assert_eq!(backoff(15), Duration::seconds(3600));
        assert_eq!(backoff(0), Duration::seconds(5));
    }

    #[test]
    fn the_morning_run_is_eight_o_clock_in_beijing() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let clock = crate::Clock::default();
        assert_eq!(next_morning(&clock, at("2026-11-27T03:00:00Z")).to_rfc3339(), "2026-11-28T00:00:00+00:00");
        // 07:00 in Beijing: this morning's run is still ahead.
        assert_eq!(next_morning(&clock, at("2026-11-26T23:00:00Z")).to_rfc3339(), "2026-11-27T00:00:00+00:00");
        let utc = crate::Clock::system(crate::Clock::parse_zone("UTC").unwrap());
        assert_eq!(next_morning(&utc, at("2026-11-27T03:00:00Z")).to_rfc3339(), "2026-11-27T08:00:00+00:00");
    }
}
