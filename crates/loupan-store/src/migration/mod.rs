//! The one migration list for SQLite and PostgreSQL, written with sea-query's
//! schema builder. A migration that has shipped is never edited: add a new one.

use sea_orm_migration::prelude::*;

mod m20261127_000001_foundation;
mod m20261127_000002_customers;
mod m20261127_000003_sales_finance;
mod m20261127_000004_audit_append_only;
mod m20261127_000005_duplicate_lookup;
mod m20261127_000006_unit_details;
mod m20261127_000007_price_adjustments;
mod m20261127_000008_deal_changes;
mod m20261127_000009_reservations;
mod m20261127_000010_prefix_search;
mod m20261127_000011_approvals_jobs;
mod m20261127_000012_deal_change_details;
mod m20261127_000013_media_phases;
mod m20261127_000014_customer_merges;
mod m20261127_000015_finance_documents;
mod m20261127_000016_saved_filters;
mod m20261127_000017_customer_profiles;
mod m20261127_000018_covering_search;
mod m20261127_000019_project_search;
mod m20261127_000020_search_statistics;
mod m20261204_000021_surname_pinyin;
mod m20261204_000022_project_cost;
mod m20261204_000023_settings;
mod m20261204_000024_payment_method_versions;
mod m20261204_000025_non_standard_methods;
mod m20261204_000026_initial_search;
mod m20261205_000027_event_params;
mod m20261206_000028_said_sentences;
mod m20261206_000029_notices;
mod m20261206_000030_marketing_consent;
mod m20261208_000031_notice_email;
mod m20261208_000032_notice_sms;
mod m20261208_000033_greetings;
mod m20261208_000034_lunar_birthdays;
mod m20261209_000035_batch_details;
mod m20261210_000036_cost_balances_reports;
mod m20261211_000037_gross_floor_area;
mod m20261212_000038_open_balances;
mod m20261213_000039_service_cases;
mod m20261214_000040_rate_hits;
mod m20261215_000041_reception;
mod m20261216_000042_surveys;
mod m20261217_000043_questionnaires;
mod m20261218_000044_case_step_minutes;
mod m20261218_000045_survey_notices;
mod m20261218_000046_answer_counts;
mod m20261219_000047_area_compensation;
mod m20261220_000048_one_open_batch;
mod m20261221_000049_service_processes;
mod m20261222_000050_handover;
mod m20261223_000051_job_request_ids;
mod m20261224_000052_silent_customers;
mod m20261225_000053_open_cases;
mod m20261226_000054_deals_by_customer;
mod m20261227_000055_owner_search;
mod m20261228_000056_saleable_area;
mod m20261229_000057_name_start_search;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_foundation::Migration),
            Box::new(m20261127_000002_customers::Migration),
            Box::new(m20261127_000003_sales_finance::Migration),
            Box::new(m20261127_000004_audit_append_only::Migration),
            Box::new(m20261127_000005_duplicate_lookup::Migration),
            Box::new(m20261127_000006_unit_details::Migration),
            Box::new(m20261127_000007_price_adjustments::Migration),
            Box::new(m20261127_000008_deal_changes::Migration),
            Box::new(m20261127_000009_reservations::Migration),
            Box::new(m20261127_000010_prefix_search::Migration),
            Box::new(m20261127_000011_approvals_jobs::Migration),
            Box::new(m20261127_000012_deal_change_details::Migration),
            Box::new(m20261127_000013_media_phases::Migration),
            Box::new(m20261127_000014_customer_merges::Migration),
            Box::new(m20261127_000015_finance_documents::Migration),
            Box::new(m20261127_000016_saved_filters::Migration),
            Box::new(m20261127_000017_customer_profiles::Migration),
            Box::new(m20261127_000018_covering_search::Migration),
            Box::new(m20261127_000019_project_search::Migration),
            Box::new(m20261127_000020_search_statistics::Migration),
            Box::new(m20261204_000021_surname_pinyin::Migration),
            Box::new(m20261204_000022_project_cost::Migration),
            Box::new(m20261204_000023_settings::Migration),
            Box::new(m20261204_000024_payment_method_versions::Migration),
            Box::new(m20261204_000025_non_standard_methods::Migration),
            Box::new(m20261204_000026_initial_search::Migration),
            Box::new(m20261205_000027_event_params::Migration),
            Box::new(m20261206_000028_said_sentences::Migration),
            Box::new(m20261206_000029_notices::Migration),
            Box::new(m20261206_000030_marketing_consent::Migration),
            Box::new(m20261208_000031_notice_email::Migration),
            Box::new(m20261208_000032_notice_sms::Migration),
            Box::new(m20261208_000033_greetings::Migration),
            Box::new(m20261208_000034_lunar_birthdays::Migration),
            Box::new(m20261209_000035_batch_details::Migration),
            Box::new(m20261210_000036_cost_balances_reports::Migration),
            Box::new(m20261211_000037_gross_floor_area::Migration),
            Box::new(m20261212_000038_open_balances::Migration),
            Box::new(m20261213_000039_service_cases::Migration),
            Box::new(m20261214_000040_rate_hits::Migration),
            Box::new(m20261215_000041_reception::Migration),
            Box::new(m20261216_000042_surveys::Migration),
            Box::new(m20261217_000043_questionnaires::Migration),
            Box::new(m20261218_000044_case_step_minutes::Migration),
            Box::new(m20261218_000045_survey_notices::Migration),
            Box::new(m20261218_000046_answer_counts::Migration),
            Box::new(m20261219_000047_area_compensation::Migration),
            Box::new(m20261220_000048_one_open_batch::Migration),
            Box::new(m20261221_000049_service_processes::Migration),
            Box::new(m20261222_000050_handover::Migration),
            Box::new(m20261223_000051_job_request_ids::Migration),
            Box::new(m20261224_000052_silent_customers::Migration),
            Box::new(m20261225_000053_open_cases::Migration),
            Box::new(m20261226_000054_deals_by_customer::Migration),
            Box::new(m20261227_000055_owner_search::Migration),
            Box::new(m20261228_000056_saleable_area::Migration),
            Box::new(m20261229_000057_name_start_search::Migration),
        ]
    }
}
