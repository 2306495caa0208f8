use loupan_domain::customers::CustomerKind;
use loupan_domain::ids::{CustomerId, ProjectId, UserId};
use loupan_domain::{Area, Money};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CustomerId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub kind: CustomerKind,
    pub name: String,
    pub name_pinyin: String,
    pub name_initials: String,
    /// E.164.
    pub phone: String,
    pub id_type: Option<String>,
    /// AES-256-GCM, never the number in clear.
    pub id_number_cipher: Option<String>,
    /// HMAC-SHA256 of the number: exact lookup without decrypting.
    pub id_number_index: Option<String>,
    pub id_number_masked: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    pub last_contact_at: Option<DateTimeUtc>,
    /// Set when the customer was merged into another (the record stays, hidden from lists, so the merge can be undone).
    pub merged_into: Option<CustomerId>,
    /// Overlapping categories, comma-separated (`potential,buyer`).
    pub categories: String,
    /// Free tags, comma-separated.
    pub tags: String,
    pub birthday: Option<Date>,
    /// The birthday is kept by the lunar calendar (农历生日).
    pub birthday_lunar: bool,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub address: Option<String>,
    /// Enterprise customers: the person who speaks for the company.
    pub contact_person: Option<String>,
    /// Needs: budget in fen, layout (`3室2厅`), area range in hundredths of m².
    pub budget: Option<Money>,
    pub wanted_layout: Option<String>,
    pub wanted_area_min: Option<Area>,
    pub wanted_area_max: Option<Area>,
    pub purpose: Option<String>,
    pub homes_owned: Option<i32>,
    /// The grade was set by hand: grade rules leave it alone.
    pub grade_manual: bool,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the customer asked for no marketing (PIPL); none while they accept it.
    pub marketing_opt_out_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
