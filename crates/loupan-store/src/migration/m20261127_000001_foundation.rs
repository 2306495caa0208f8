//! Users, roles, project membership, sessions, the audit trail, idempotency keys,
//! and the first inventory tables (projects, buildings, units).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_foundation"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    Locale,
    Disabled,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    City,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserProjects {
    Table,
    UserId,
    ProjectId,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    Kind,
    CsrfToken,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Username,
    FailedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    OccurredAt,
    ActorId,
    ActorName,
    Action,
    RecordType,
    RecordId,
    BeforeJson,
    AfterJson,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    Key,
    RequestHash,
    StatusCode,
    ResponseBody,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Buildings {
    Table,
    Id,
    ProjectId,
    Name,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Units {
    Table,
    Id,
    BuildingId,
    ProjectId,
    Floor,
    Number,
    Layout,
    GrossArea,
    InnerArea,
    ListPrice,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(text(Users::Id).primary_key())
                .col(text_uniq(Users::Username))
                .col(text(Users::DisplayName))
                .col(text(Users::PasswordHash))
                .col(text_null(Users::Locale))
                .col(boolean(Users::Disabled))
                .col(big_integer(Users::Version))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UserRoles::Table)
                .col(text(UserRoles::UserId))
                .col(text(UserRoles::Role))
                .primary_key(Index::create().col(UserRoles::UserId).col(UserRoles::Role))
                .foreign_key(&mut fk(
                    "fk_user_roles_user",
                    (UserRoles::Table, UserRoles::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Projects::Table)
                .col(text(Projects::Id).primary_key())
                .col(text_uniq(Projects::Name))
                .col(text(Projects::City))
                .col(big_integer(Projects::Version))
                .col(timestamp_with_time_zone(Projects::CreatedAt))
                .col(timestamp_with_time_zone(Projects::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(UserProjects::Table)
                .col(text(UserProjects::UserId))
                .col(text(UserProjects::ProjectId))
                .primary_key(Index::create().col(UserProjects::UserId).col(UserProjects::ProjectId))
                .foreign_key(&mut fk(
                    "fk_user_projects_user",
                    (UserProjects::Table, UserProjects::UserId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_user_projects_project",
                    (UserProjects::Table, UserProjects::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(text(Sessions::Id).primary_key())
                .col(text(Sessions::UserId))
                .col(text(Sessions::Kind))
                .col(text(Sessions::CsrfToken))
                .col(timestamp_with_time_zone(Sessions::CreatedAt))
                .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .foreign_key(&mut fk(
                    "fk_sessions_user",
                    (Sessions::Table, Sessions::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_sessions_user").table(Sessions::Table).col(Sessions::UserId).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginFailures::Table)
                .col(text(LoginFailures::Id).primary_key())
                .col(text(LoginFailures::Username))
                .col(timestamp_with_time_zone(LoginFailures::FailedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_login_failures_username")
                .table(LoginFailures::Table)
                .col(LoginFailures::Username)
                .col(LoginFailures::FailedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(big_integer(AuditLog::Seq).primary_key())
                .col(timestamp_with_time_zone(AuditLog::OccurredAt))
                .col(text_null(AuditLog::ActorId))
                .col(text(AuditLog::ActorName))
                .col(text(AuditLog::Action))
                .col(text(AuditLog::RecordType))
                .col(text(AuditLog::RecordId))
                .col(text_null(AuditLog::BeforeJson))
                .col(text_null(AuditLog::AfterJson))
                .col(text(AuditLog::PrevHash))
                .col(text(AuditLog::Hash))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_log_record")
                .table(AuditLog::Table)
                .col(AuditLog::RecordType)
                .col(AuditLog::RecordId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_audit_log_actor").table(AuditLog::Table).col(AuditLog::ActorId).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(text(IdempotencyKeys::UserId))
                .col(text(IdempotencyKeys::Key))
                .col(text(IdempotencyKeys::RequestHash))
                .col(integer_null(IdempotencyKeys::StatusCode))
                .col(text_null(IdempotencyKeys::ResponseBody))
                .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                .primary_key(Index::create().col(IdempotencyKeys::UserId).col(IdempotencyKeys::Key))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Buildings::Table)
                .col(text(Buildings::Id).primary_key())
                .col(text(Buildings::ProjectId))
                .col(text(Buildings::Name))
                .col(big_integer(Buildings::Version))
                .col(timestamp_with_time_zone(Buildings::CreatedAt))
                .col(timestamp_with_time_zone(Buildings::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_buildings_project",
                    (Buildings::Table, Buildings::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_buildings_project_name")
                .table(Buildings::Table)
                .col(Buildings::ProjectId)
                .col(Buildings::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Units::Table)
                .col(text(Units::Id).primary_key())
                .col(text(Units::BuildingId))
                .col(text(Units::ProjectId))
                .col(integer(Units::Floor))
                .col(text(Units::Number))
                .col(text(Units::Layout))
                .col(big_integer(Units::GrossArea))
                .col(big_integer(Units::InnerArea))
                .col(big_integer(Units::ListPrice))
                .col(text(Units::Status))
                .col(big_integer(Units::Version))
                .col(timestamp_with_time_zone(Units::CreatedAt))
                .col(timestamp_with_time_zone(Units::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_units_building",
                    (Units::Table, Units::BuildingId),
                    (Buildings::Table, Buildings::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_units_project",
                    (Units::Table, Units::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_units_building_number")
                .table(Units::Table)
                .col(Units::BuildingId)
                .col(Units::Number)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_units_project_status")
                .table(Units::Table)
                .col(Units::ProjectId)
                .col(Units::Status)
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
