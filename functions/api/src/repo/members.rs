//! Workspace members: the list, and the guarded changes (role, removal, deactivation).
//!
//! Every change re-checks in its own statement what the handler's policy decision rested
//! on (the caller's role, the target's role, another active owner remaining), so a
//! concurrent change cannot slip between the decision and the write: such a statement
//! changes nothing and the handler answers 409.

use ocomms_core::event::{ChannelEvent, kind};
use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::policy::{MemberChange, MemberFacts, Role};
use serde::Serialize;

use super::events::{self, EVENT_COLUMNS};
use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub display_name: String,
    pub avatar_url: String,
    pub status_text: String,
    pub time_zone: String,
    pub role: Role,
    pub joined_at_ms: i64,
    pub deactivated: bool,
    /// An app's bot user (it posts for an integration and never logs in).
    pub bot: bool,
}

const COLUMNS: &str = concat!(
    "u.id, u.display_name, u.avatar_url, u.status_text, u.time_zone, m.role, ",
    ms!("m.joined_at"),
    " AS joined_ms, m.deactivated_at IS NOT NULL AS deactivated, u.bot"
);

fn role_at(r: &Row, column: &str) -> Result<Role, DbError> {
    Role::parse(&r.text(column)?).ok_or_else(|| DbError::other("unknown role"))
}

impl Member {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            user_id: UserId(r.uuid("id")?),
            display_name: r.text("display_name")?,
            avatar_url: r.text("avatar_url")?,
            status_text: r.text("status_text")?,
            time_zone: r.text("time_zone")?,
            role: role_at(r, "role")?,
            joined_at_ms: r.int("joined_ms")?,
            deactivated: r.bool("deactivated")?,
            bot: r.bool("bot")?,
        })
    }
}

/// One page of members in user-id order after `after`; deactivated ones only if asked.
/// Removed members are never listed.
pub async fn list(
    db: &impl Sql,
    ws: WorkspaceId,
    with_deactivated: bool,
    after: Option<UserId>,
    limit: u32,
) -> Result<Vec<Member>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM workspace_members m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 AND m.removed_at IS NULL AND ($2 OR m.deactivated_at IS NULL)
           AND ($3::uuid IS NULL OR m.user_id > $3::uuid)
         ORDER BY m.user_id LIMIT $4"
    );
    let params = [
        Value::Uuid(ws.0),
        Value::Bool(with_deactivated),
        after.map_or(Value::Null, |u| Value::Uuid(u.0)),
        Value::Int(i64::from(limit)),
    ];
    let rows = db.query(&sql, &params).await?;
    rows.iter().map(Member::from_row).collect()
}

/// A member who has not been removed (deactivated ones included).
pub async fn one(db: &impl Sql, ws: WorkspaceId, user: UserId) -> Result<Option<Member>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM workspace_members m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 AND m.user_id = $2 AND m.removed_at IS NULL"
    );
    let rows = db.query(&sql, &[Value::Uuid(ws.0), Value::Uuid(user.0)]).await?;
    rows.first().map(Member::from_row).transpose()
}

/// The facts a member-administration policy decides on, in one round trip.
pub async fn facts(db: &impl Sql, ws: WorkspaceId, actor: UserId, target: UserId) -> Result<MemberChange, DbError> {
    let rows = db
        .query(
            "SELECT
               (SELECT role FROM workspace_members
                WHERE workspace_id = $1 AND user_id = $2 AND removed_at IS NULL AND deactivated_at IS NULL) AS actor_role,
               t.role AS target_role, t.deactivated_at IS NOT NULL AS target_deactivated,
               (SELECT count(*) FROM workspace_members
                WHERE workspace_id = $1 AND user_id <> $3 AND role = 'owner'
                  AND removed_at IS NULL AND deactivated_at IS NULL) AS other_owners
             FROM (SELECT 1) one
             LEFT JOIN workspace_members t ON t.workspace_id = $1 AND t.user_id = $3 AND t.removed_at IS NULL",
            &[Value::Uuid(ws.0), Value::Uuid(actor.0), Value::Uuid(target.0)],
        )
        .await?;
    let r = rows.first().ok_or_else(|| DbError::other("facts returned no row"))?;
    let actor_role = r.opt_text("actor_role")?.and_then(|s| Role::parse(&s));
    let target_facts = match r.opt_text("target_role")? {
        Some(role) => Some(MemberFacts {
            role: Role::parse(&role).ok_or_else(|| DbError::other("unknown role"))?,
            deactivated: r.bool("target_deactivated")?,
        }),
        None => None,
    };
    Ok(MemberChange {
        actor: actor_role,
        is_self: actor == target,
        target: target_facts,
        other_active_owners: r.int("other_owners")?,
    })
}

/// What a guarded change was decided on: the workspace, who acts with which role, and the
/// target with the role it had.
#[derive(Debug, Clone, Copy)]
pub struct Decided {
    pub ws: WorkspaceId,
    pub actor: UserId,
    pub actor_role: Role,
    pub target: UserId,
    pub target_role: Role,
}

impl Decided {
    /// `$1` workspace, `$2` target, `$3` actor, `$4` actor's role, `$5` target's role.
    fn params(&self) -> Vec<Value> {
        vec![
            Value::Uuid(self.ws.0),
            Value::Uuid(self.target.0),
            Value::Uuid(self.actor.0),
            Value::Text(self.actor_role.as_str().into()),
            Value::Text(self.target_role.as_str().into()),
        ]
    }
}

/// CTEs every guarded change starts with (parameters as in [`Decided::params`]).
///
/// `owners` locks the workspace's active owners in id order, so concurrent changes queue
/// without deadlocking; under READ COMMITTED a row another transaction changed meanwhile is
/// re-checked once that commits, so two owners stepping down at once cannot both see the
/// other as the remaining owner. `guard.others` counts the active owners besides the target.
const GUARD: &str = "owners AS (SELECT user_id FROM workspace_members
                               WHERE workspace_id = $1 AND role = 'owner' AND removed_at IS NULL AND deactivated_at IS NULL
                               ORDER BY user_id FOR NO KEY UPDATE),
      guard AS (SELECT count(*) FILTER (WHERE user_id <> $2) AS others FROM owners)";

/// The condition on the target row `m`: it is as decided, the actor still holds their role,
/// and, if `strips_owner` (SQL) holds, another active owner remains.
fn target_ok(strips_owner: &str) -> String {
    format!(
        "m.workspace_id = $1 AND m.user_id = $2 AND m.removed_at IS NULL AND m.role = $5
         AND EXISTS (SELECT 1 FROM workspace_members a WHERE a.workspace_id = $1 AND a.user_id = $3 AND a.role = $4
                       AND a.removed_at IS NULL AND a.deactivated_at IS NULL)
         AND (NOT ({strips_owner}) OR (SELECT others FROM guard) > 0)"
    )
}

/// Sets the role; `false` if the decision no longer holds (see the module docs).
pub async fn change_role(db: &impl Sql, d: &Decided, new: Role) -> Result<bool, DbError> {
    let sql = format!(
        "WITH {GUARD},
         upd AS (UPDATE workspace_members m SET role = $6 WHERE {cond} RETURNING m.user_id)
         SELECT count(*) AS changed FROM upd",
        cond = target_ok("m.role = 'owner' AND m.deactivated_at IS NULL AND $6::text <> 'owner'"),
    );
    let mut params = d.params();
    params.push(Value::Text(new.as_str().into()));
    changed(db.query(&sql, &params).await?)
}

/// Deactivates (`true`) or reactivates the member; `false` if nothing changed (already in
/// that state, or the decision no longer holds).
pub async fn set_deactivated(db: &impl Sql, d: &Decided, deactivate: bool) -> Result<bool, DbError> {
    let sql = format!(
        "WITH {GUARD},
         upd AS (UPDATE workspace_members m SET deactivated_at = CASE WHEN $6 THEN now() ELSE NULL END
                 WHERE {cond} AND (m.deactivated_at IS NULL) = $6 RETURNING m.user_id)
         SELECT count(*) AS changed FROM upd",
        cond = target_ok("$6 AND m.role = 'owner' AND m.deactivated_at IS NULL"),
    );
    let mut params = d.params();
    params.push(Value::Bool(deactivate));
    changed(db.query(&sql, &params).await?)
}

fn changed(rows: Vec<Row>) -> Result<bool, DbError> {
    Ok(rows.first().map(|r| r.int("changed")).transpose()?.unwrap_or(0) > 0)
}

/// Removes the member (or lets them leave) in one statement: marks the membership removed
/// (remembering a leave, which an invite may undo, from a removal, which none can),
/// deletes their memberships of the workspace's channels and appends a `member.left`
/// event (`{user_id, by, reason}`) to each of those channels under its next seq. `None` if
/// the decision no longer holds; otherwise the events to publish, one per channel.
pub async fn remove(db: &impl Sql, d: &Decided, reason: &str) -> Result<Option<Vec<ChannelEvent>>, DbError> {
    let sql = format!(
        "WITH {GUARD},
         gone_member AS (UPDATE workspace_members m SET removed_at = now(), left_by_choice = ($6::text = 'left')
                         WHERE {cond} RETURNING m.user_id),
         gone AS (DELETE FROM channel_members cm USING channels c
                  WHERE c.id = cm.channel_id AND c.workspace_id = $1 AND cm.user_id = $2
                    AND EXISTS (SELECT 1 FROM gone_member)
                  RETURNING cm.channel_id),
         locked AS (SELECT id FROM channels WHERE id IN (SELECT channel_id FROM gone) ORDER BY id FOR NO KEY UPDATE),
         ch AS (UPDATE channels c SET last_seq = c.last_seq + 1 FROM locked WHERE c.id = locked.id
                RETURNING c.id, c.last_seq),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT id, last_seq, '{left}',
                       jsonb_build_object('user_id', $2::uuid, 'by', $3::uuid, 'reason', $6::text) FROM ch
                RETURNING channel_id, {EVENT_COLUMNS})
         SELECT r.removed, ev.* FROM (SELECT count(*) AS removed FROM gone_member) r
         LEFT JOIN ev ON true ORDER BY ev.channel_id",
        cond = target_ok("m.role = 'owner' AND m.deactivated_at IS NULL"),
        left = kind::MEMBER_LEFT,
    );
    let mut params = d.params();
    params.push(Value::Text(reason.into()));
    let rows = db.query(&sql, &params).await?;
    let removed = rows.first().map(|r| r.int("removed")).transpose()?.unwrap_or(0) > 0;
    if !removed {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(ch) = r.opt_uuid("channel_id")? {
            out.push(events::from_row(ChannelId(ch), r)?);
        }
    }
    Ok(Some(out))
}
