//! Keeping a Meilisearch index of messages in step with PostgreSQL, when one is configured.
//!
//! PostgreSQL queues every change to a message's search document in `search_outbox`, in the
//! transaction that makes it (migration 0005). [`Indexer::drain_once`] sends the current state
//! of each queued message (a document, or a deletion) and deletes the queue rows only once
//! Meilisearch has applied them: delivery is at least once, documents are idempotent, and
//! nothing is lost while Meilisearch is down ([`Indexer::run`] retries with backoff).
//! [`Indexer::reindex`] rebuilds the whole index beside the live one and swaps them, so it is
//! safe while the host serves.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use deadpool_postgres::Pool;
use meilisearch_sdk::client::{Client, SwapIndexes};
use meilisearch_sdk::settings::{Settings, TypoToleranceSettings};
use meilisearch_sdk::task_info::TaskInfo;
use serde::Serialize;
use tokio_postgres::types::Type;
use uuid::Uuid;

/// The index messages live in.
pub const INDEX: &str = "messages";
/// Queue rows taken per round.
const BATCH: i64 = 1000;
/// Documents per batch of a rebuild, and batches sent before the first is waited for.
const REINDEX_BATCH: i64 = 10_000;
const IN_FLIGHT: usize = 4;
/// Longest wait between retries while Meilisearch is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a Meilisearch task may take before the round is retried.
const TASK_TIMEOUT: Duration = Duration::from_secs(300);

/// Where Meilisearch is.
#[derive(Debug, Clone)]
pub struct MeiliConfig {
    pub url: String,
    pub key: Option<String>,
}

/// One message as Meilisearch stores it: what queries match and filter on. Names and
/// memberships are not in it: the query resolves them in PostgreSQL, so a rename or a
/// membership change needs no reindexing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub channel_id: Uuid,
    pub author_id: Uuid,
    pub text: String,
    pub created_at_ms: i64,
    pub seq: i64,
    pub thread_root_id: Option<Uuid>,
    pub is_thread: bool,
    pub has_link: bool,
    pub pinned: bool,
}

/// The index settings both the indexer and the search side rely on: the text searched, no
/// typo tolerance (so `deploy` is not `deplay`, as on PostgreSQL), every filter the query
/// language needs.
pub fn settings() -> Settings {
    Settings::new()
        .with_searchable_attributes(["text"])
        .with_filterable_attributes([
            "workspace_id",
            "channel_id",
            "author_id",
            "created_at_ms",
            "is_thread",
            "has_link",
            "pinned",
        ])
        .with_sortable_attributes(["created_at_ms"])
        .with_typo_tolerance(TypoToleranceSettings { enabled: Some(false), ..TypoToleranceSettings::default() })
        .with_ranking_rules(RANKING_RULES)
}

/// `sort` first, so that a newest-first search is ordered by time alone (without a sort the
/// rule does nothing); then how many words match and how close together, then the newest.
/// Not `exactness` nor `wordPosition`: PostgreSQL's `ts_rank` does not favour a message that
/// starts with the word, and equal matches come newest first on both backends.
pub const RANKING_RULES: [&str; 6] = ["sort", "words", "typo", "proximity", "attributeRank", "created_at_ms:desc"];

const DOCUMENT_SQL: &str = "SELECT m.id, c.workspace_id, m.channel_id, m.author_id, m.text,
        (extract(epoch from m.created_at) * 1000)::int8 AS created_at_ms, m.seq, m.thread_root_id,
        (m.thread_root_id IS NOT NULL OR m.reply_count > 0) AS is_thread,
        m.text ~* 'https?://' AS has_link,
        EXISTS (SELECT 1 FROM pins p WHERE p.message_id = m.id) AS pinned
    FROM messages m JOIN channels c ON c.id = m.channel_id";

fn document(row: &tokio_postgres::Row) -> Result<Document> {
    Ok(Document {
        id: row.try_get("id")?,
        workspace_id: row.try_get("workspace_id")?,
        channel_id: row.try_get("channel_id")?,
        author_id: row.try_get("author_id")?,
        text: row.try_get("text")?,
        created_at_ms: row.try_get("created_at_ms")?,
        seq: row.try_get("seq")?,
        thread_root_id: row.try_get("thread_root_id")?,
        is_thread: row.try_get("is_thread")?,
        has_link: row.try_get("has_link")?,
        pinned: row.try_get("pinned")?,
    })
}

/// Feeds one Meilisearch index from PostgreSQL.
pub struct Indexer {
    pool: Pool,
    client: Client,
}

impl Indexer {
    pub fn new(pool: Pool, cfg: &MeiliConfig) -> Result<Self> {
        let client = Client::new(cfg.url.clone(), cfg.key.clone()).context("configure the Meilisearch client")?;
        Ok(Self { pool, client })
    }

    async fn wait(&self, task: TaskInfo, what: &str) -> Result<()> {
        let done = task
            .wait_for_completion(&self.client, Some(Duration::from_millis(50)), Some(TASK_TIMEOUT))
            .await
            .with_context(|| format!("wait for Meilisearch to {what}"))?;
        if done.is_failure() {
            bail!("Meilisearch could not {what}: {}", done.unwrap_failure());
        }
        Ok(())
    }

    /// Creates the index with its settings if it is missing and turns the queue on. The index
    /// is filled from PostgreSQL when it is new or when the queue was off (changes were not
    /// queued meanwhile); then it is marked ready for searches. Returns whether it was filled.
    pub async fn prepare(&self) -> Result<bool> {
        let created = match self.client.get_index(INDEX).await {
            Ok(_) => false,
            Err(meilisearch_sdk::errors::Error::Meilisearch(e))
                if e.error_code == meilisearch_sdk::errors::ErrorCode::IndexNotFound =>
            {
                true
            }
            Err(e) => return Err(e).context("reach Meilisearch"),
        };
        // The queue first, so that nothing changed during the fill is missed.
        let was_queueing = self.set_outbox(true).await?;
        let filled = created || !was_queueing;
        if filled {
            self.reindex(|_, _| {}).await?;
        } else {
            let task = self.client.index(INDEX).set_settings(&settings()).await.context("update the index settings")?;
            self.wait(task, "update the index settings").await?;
        }
        self.set_ready(true).await?;
        Ok(filled)
    }

    /// Turns the queue on or off; returns whether it was on.
    async fn set_outbox(&self, on: bool) -> Result<bool> {
        let client = self.pool.get().await.context("connect to PostgreSQL")?;
        let row = client
            .query_typed(
                "UPDATE search_index_state s SET outbox_enabled = $1 FROM search_index_state old
                 RETURNING old.outbox_enabled",
                &[(&on, Type::BOOL)],
            )
            .await?;
        Ok(row.first().context("search_index_state has no row")?.try_get(0)?)
    }

    async fn set_ready(&self, ready: bool) -> Result<()> {
        let client = self.pool.get().await.context("connect to PostgreSQL")?;
        client.query_typed("UPDATE search_index_state SET index_ready = $1", &[(&ready, Type::BOOL)]).await?;
        Ok(())
    }

    /// Sends the documents of up to one batch of queued messages; returns how many queue
    /// rows were done (0: the queue was empty).
    pub async fn drain_once(&self) -> Result<usize> {
        let db = self.pool.get().await.context("connect to PostgreSQL")?;
        let queued = db
            .query_typed("SELECT id, message_id FROM search_outbox ORDER BY id LIMIT $1", &[(&BATCH, Type::INT8)])
            .await
            .context("read the search queue")?;
        let Some(last) = queued.last() else { return Ok(0) };
        let last: i64 = last.try_get("id")?;
        let mut ids: Vec<Uuid> = queued.iter().map(|r| r.try_get("message_id")).collect::<Result<_, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        let rows = db
            .query_typed(
                &format!("{DOCUMENT_SQL} WHERE m.id = ANY($1) AND m.deleted_at IS NULL"),
                &[(&ids, Type::UUID_ARRAY)],
            )
            .await
            .context("read the queued messages")?;
        let docs = rows.iter().map(document).collect::<Result<Vec<_>>>()?;
        // Gone or deleted since: removed from the index.
        let gone: Vec<String> =
            ids.iter().filter(|id| !docs.iter().any(|d| d.id == **id)).map(Uuid::to_string).collect();
        let index = self.client.index(INDEX);
        if !docs.is_empty() {
            let task = index.add_or_replace(&docs, Some("id")).await.context("send documents to Meilisearch")?;
            self.wait(task, "index documents").await?;
        }
        if !gone.is_empty() {
            let task = index.delete_documents(&gone).await.context("delete documents from Meilisearch")?;
            self.wait(task, "delete documents").await?;
        }
        db.query_typed("DELETE FROM search_outbox WHERE id <= $1", &[(&last, Type::INT8)])
            .await
            .context("clear the search queue")?;
        Ok(queued.len())
    }

    /// Drains the queue until `stop` turns true, waiting briefly when it is empty and backing
    /// off (up to 30 s) while Meilisearch or PostgreSQL fail.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(250);
        let mut prepared = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let round = async {
                if !prepared {
                    self.prepare().await?;
                }
                self.drain_once().await
            };
            let pause = match round.await {
                Ok(n) => {
                    prepared = true;
                    backoff = Duration::from_millis(250);
                    if n > 0 { Duration::ZERO } else { Duration::from_millis(100) }
                }
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), retry_in = ?backoff, "search indexing failed; retrying");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Rebuilds the index from PostgreSQL into a new index and swaps it in; `progress` gets
    /// (documents sent, total). The queue stays on: changes made meanwhile are applied after.
    pub async fn reindex(&self, progress: impl Fn(u64, u64)) -> Result<u64> {
        self.set_outbox(true).await?;
        let staging = format!("{INDEX}_rebuild");
        // A leftover from an interrupted run would mix old documents in.
        let _ = self.client.index(&staging).delete().await;
        let task = self.client.create_index(&staging, Some("id")).await.context("create the rebuild index")?;
        self.wait(task, "create the rebuild index").await?;
        let task = self.client.index(&staging).set_settings(&settings()).await.context("set the index settings")?;
        self.wait(task, "set the index settings").await?;

        let db = self.pool.get().await.context("connect to PostgreSQL")?;
        let total: i64 = db
            .query_typed("SELECT count(*) FROM messages WHERE deleted_at IS NULL", &[])
            .await?
            .first()
            .context("count returned no row")?
            .try_get(0)?;
        let total = u64::try_from(total).unwrap_or(0);
        let mut sent = 0u64;
        let mut after = Uuid::nil();
        let mut in_flight = std::collections::VecDeque::new();
        loop {
            let rows = db
                .query_typed(
                    &format!("{DOCUMENT_SQL} WHERE m.id > $1 AND m.deleted_at IS NULL ORDER BY m.id LIMIT $2"),
                    &[(&after, Type::UUID), (&REINDEX_BATCH, Type::INT8)],
                )
                .await
                .context("read messages")?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            let docs = rows.iter().map(document).collect::<Result<Vec<_>>>()?;
            // A few batches in flight: Meilisearch merges queued additions into one indexing
            // run, and PostgreSQL reads the next batch meanwhile.
            in_flight.push_back((self.client.index(&staging).add_or_replace(&docs, Some("id")).await?, docs.len()));
            if in_flight.len() >= IN_FLIGHT
                && let Some((task, n)) = in_flight.pop_front()
            {
                self.wait(task, "index documents").await?;
                sent += n as u64;
                progress(sent, total.max(sent));
            }
        }
        while let Some((task, n)) = in_flight.pop_front() {
            self.wait(task, "index documents").await?;
            sent += n as u64;
            progress(sent, total.max(sent));
        }
        if self.client.get_index(INDEX).await.is_err() {
            let task = self.client.create_index(INDEX, Some("id")).await.context("create the index")?;
            self.wait(task, "create the index").await?;
        }
        let swap = SwapIndexes { indexes: (INDEX.to_owned(), staging.clone()), rename: None };
        let task = self.client.swap_indexes([&swap]).await.context("swap in the rebuilt index")?;
        self.wait(task, "swap in the rebuilt index").await?;
        let task = self.client.index(&staging).delete().await.context("delete the old index")?;
        self.wait(task, "delete the old index").await?;
        self.set_ready(true).await?;
        Ok(sent)
    }
}

/// A host without Meilisearch turns the queue off (nothing would drain it) and marks the index
/// stale, so that searches use PostgreSQL and a later indexer refills the index.
pub async fn disable(pool: &Pool) -> Result<()> {
    let client = pool.get().await.context("connect to PostgreSQL")?;
    client
        .batch_execute(
            "UPDATE search_index_state SET outbox_enabled = false, index_ready = false;
             DELETE FROM search_outbox;",
        )
        .await
        .context("turn the search queue off")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_say_whole_words_and_every_filter() {
        let s = serde_json::to_value(settings()).expect("settings serialize");
        assert_eq!(s["typoTolerance"]["enabled"], false);
        assert_eq!(s["searchableAttributes"], serde_json::json!(["text"]));
        for f in ["channel_id", "author_id", "created_at_ms", "is_thread", "has_link", "pinned"] {
            assert!(s["filterableAttributes"].as_array().is_some_and(|a| a.iter().any(|v| v == f)), "{f}");
        }
        assert_eq!(s["rankingRules"][0], "sort", "newest-first searches sort by time before anything else");
        assert_eq!(s["sortableAttributes"], serde_json::json!(["created_at_ms"]));
    }
}
