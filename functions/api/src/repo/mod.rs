//! SQL for each aggregate. Functions take the [`Sql`](crate::ports::Sql) port and return
//! domain values; they authorize nothing (handlers do, through `ocomms_core::policy`).

pub mod app_delivery;
pub mod avatars;
pub mod channels;
pub mod dms;
pub mod email;
pub mod events;
pub mod files;
pub mod integrations;
pub mod invites;
pub mod limits;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod reactions;
pub mod reads;
pub mod search;
pub mod sessions;
pub mod sso;
pub mod users;
pub mod workspaces;

/// The SQL expression for a `timestamptz` column as epoch milliseconds.
#[macro_export]
macro_rules! ms {
    ($col:literal) => {
        concat!("(extract(epoch from ", $col, ") * 1000)::int8")
    };
}

/// The SQL expression for a Slack `ts` ("SECONDS.MICROS") of a microseconds column.
#[macro_export]
macro_rules! ts {
    ($col:literal) => {
        concat!("((", $col, ") / 1000000)::text || '.' || lpad(((", $col, ") % 1000000)::text, 6, '0')")
    };
}
