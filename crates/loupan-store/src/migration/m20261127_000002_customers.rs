//! Customers (C1-C3, S2-S7): profiles with encrypted ID numbers and a blind
//! index, duplicate records, follow-ups and the customer timeline.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000002_customers"
    }
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    ProjectId,
    OwnerId,
    Kind,
    Name,
    NamePinyin,
    NameInitials,
    Phone,
    IdType,
    IdNumberCipher,
    IdNumberIndex,
    IdNumberMasked,
    Source,
    Grade,
    Notes,
    LastContactAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CustomerDuplicates {
    Table,
    Id,
    ProjectId,
    CustomerId,
    MatchedCustomerId,
    MatchKind,
    Status,
    RulingNote,
    RuledBy,
    RuledAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FollowUps {
    Table,
    Id,
    CustomerId,
    AuthorId,
    Kind,
    Outcome,
    NextContactOn,
    OccurredAt,
}

#[derive(DeriveIden)]
enum CustomerEvents {
    Table,
    Id,
    CustomerId,
    Kind,
    Summary,
    ActorName,
    OccurredAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Customers::Table)
                .col(text(Customers::Id).primary_key())
                .col(text(Customers::ProjectId))
                .col(text(Customers::OwnerId))
                .col(text(Customers::Kind))
                .col(text(Customers::Name))
                .col(text(Customers::NamePinyin))
                .col(text(Customers::NameInitials))
                .col(text(Customers::Phone))
                .col(text_null(Customers::IdType))
                .col(text_null(Customers::IdNumberCipher))
                .col(text_null(Customers::IdNumberIndex))
                .col(text_null(Customers::IdNumberMasked))
                .col(text_null(Customers::Source))
                .col(text_null(Customers::Grade))
                .col(text_null(Customers::Notes))
                .col(timestamp_with_time_zone_null(Customers::LastContactAt))
                .col(big_integer(Customers::Version))
                .col(timestamp_with_time_zone(Customers::CreatedAt))
                .col(timestamp_with_time_zone(Customers::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_customers_project")
                        .from(Customers::Table, Customers::ProjectId)
                        .to(Projects::Table, Projects::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_customers_owner")
                        .from(Customers::Table, Customers::OwnerId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_customers_phone", &["phone"][..]),
            ("ix_customers_name", &["name"][..]),
            ("ix_customers_pinyin", &["name_pinyin"][..]),
            ("ix_customers_initials", &["name_initials"][..]),
            ("ix_customers_id_index", &["id_number_index"][..]),
            ("ix_customers_project_owner", &["project_id", "owner_id"][..]),
        ] {
            m.create_index(index(name, Customers::Table, cols)).await?;
        }
        m.create_table(
            Table::create()
                .table(CustomerDuplicates::Table)
                .col(text(CustomerDuplicates::Id).primary_key())
                .col(text(CustomerDuplicates::ProjectId))
                .col(text(CustomerDuplicates::CustomerId))
                .col(text(CustomerDuplicates::MatchedCustomerId))
                .col(text(CustomerDuplicates::MatchKind))
                .col(text(CustomerDuplicates::Status))
                .col(text_null(CustomerDuplicates::RulingNote))
                .col(text_null(CustomerDuplicates::RuledBy))
                .col(timestamp_with_time_zone_null(CustomerDuplicates::RuledAt))
                .col(timestamp_with_time_zone(CustomerDuplicates::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_customer_duplicates_project", CustomerDuplicates::Table, &["project_id", "status"]))
            .await?;
        m.create_table(
            Table::create()
                .table(FollowUps::Table)
                .col(text(FollowUps::Id).primary_key())
                .col(text(FollowUps::CustomerId))
                .col(text(FollowUps::AuthorId))
                .col(text(FollowUps::Kind))
                .col(text(FollowUps::Outcome))
                .col(date_null(FollowUps::NextContactOn))
                .col(timestamp_with_time_zone(FollowUps::OccurredAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_follow_ups_customer", FollowUps::Table, &["customer_id"])).await?;
        m.create_table(
            Table::create()
                .table(CustomerEvents::Table)
                .col(text(CustomerEvents::Id).primary_key())
                .col(text(CustomerEvents::CustomerId))
                .col(text(CustomerEvents::Kind))
                .col(text(CustomerEvents::Summary))
                .col(text(CustomerEvents::ActorName))
                .col(timestamp_with_time_zone(CustomerEvents::OccurredAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_customer_events_customer", CustomerEvents::Table, &["customer_id", "occurred_at"]))
            .await?;
        Ok(())
    }
}
