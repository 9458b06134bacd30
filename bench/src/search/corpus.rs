//! The search corpus and query mix, generated from a seed: the same seed gives the same
//! messages and queries, so runs and backends compare.
//!
//! Words follow Zipf's law (rank r has weight 1/r) over a vocabulary of common chat words
//! followed by generated ones; a message has 3 to 30 of them. Some messages carry a link,
//! some are Japanese or Chinese text written without spaces.

/// SplitMix64: small, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// The most frequent words of team chat, in rough order of frequency.
const COMMON: &[&str] = &[
    "the",
    "to",
    "i",
    "a",
    "and",
    "is",
    "it",
    "you",
    "for",
    "on",
    "we",
    "in",
    "that",
    "this",
    "of",
    "be",
    "can",
    "do",
    "have",
    "with",
    "just",
    "not",
    "will",
    "so",
    "are",
    "but",
    "if",
    "me",
    "at",
    "it's",
    "was",
    "ok",
    "thanks",
    "yes",
    "what",
    "up",
    "there",
    "my",
    "now",
    "know",
    "all",
    "get",
    "about",
    "think",
    "out",
    "one",
    "should",
    "any",
    "see",
    "today",
    "need",
    "also",
    "going",
    "time",
    "from",
    "by",
    "would",
    "like",
    "some",
    "check",
    "let",
    "please",
    "could",
    "new",
    "more",
    "still",
    "when",
    "work",
    "how",
    "want",
    "team",
    "after",
    "back",
    "make",
    "look",
    "sure",
    "deploy",
    "release",
    "build",
    "test",
    "tests",
    "review",
    "merge",
    "branch",
    "issue",
    "bug",
    "fix",
    "meeting",
    "tomorrow",
    "call",
    "customer",
    "data",
    "server",
    "prod",
    "staging",
    "error",
    "logs",
    "ticket",
    "update",
    "design",
    "docs",
    "api",
    "database",
    "query",
    "migration",
    "config",
    "dashboard",
    "alert",
    "incident",
    "rollback",
    "pipeline",
    "latency",
    "cache",
    "queue",
    "metrics",
    "sprint",
    "roadmap",
    "demo",
    "feedback",
    "schedule",
    "budget",
    "invoice",
    "contract",
    "launch",
    "onboarding",
    "hiring",
    "interview",
    "offsite",
];

/// Japanese and Chinese words, joined without spaces into messages.
const CJK: &[&str] = &[
    "東京",
    "会議",
    "明日",
    "資料",
    "確認",
    "予定",
    "開発",
    "リリース",
    "テスト",
    "お願いします",
    "ありがとう",
    "今日",
    "サーバー",
    "障害",
    "対応",
    "顧客",
    "報告",
    "修正",
    "レビュー",
    "デプロイ",
    "北京",
    "上海",
    "项目",
    "会议",
    "测试",
    "发布",
    "问题",
    "数据",
    "客户",
    "服务器",
    "明天",
    "今天",
    "谢谢",
    "进度",
    "设计",
    "文档",
];

const SYLLABLES: &[&str] = &[
    "ka", "ri", "to", "mo", "ne", "sa", "lu", "vi", "den", "tor", "pla", "gen", "ex", "or", "ban", "cel", "dra", "fin",
    "gra", "hol", "jun", "kel", "lim", "mar", "nor", "pol", "quin", "ros", "sel", "tan", "ul", "ver", "win", "zen",
    "at", "io", "um", "es", "al", "on",
];

/// Zipf-distributed words over [`COMMON`] then generated words.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub words: Vec<String>,
    rank: std::collections::HashMap<String, usize>,
    /// Cumulative weights, for sampling by binary search.
    cumulative: Vec<f64>,
}

impl Vocabulary {
    pub fn new(size: usize) -> Self {
        let mut words: Vec<String> = COMMON.iter().map(|w| (*w).to_owned()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        let mut rng = Rng::new(0x0C0C_0A11);
        while words.len() < size {
            let n = 2 + rng.below(3);
            let w: String = (0..n).map(|_| SYLLABLES[rng.below(SYLLABLES.len())]).collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        let rank = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        Self { words, rank, cumulative }
    }

    /// A word's rank (0: the most frequent); `None` for words not in the vocabulary.
    pub fn rank(&self, word: &str) -> Option<usize> {
        self.rank.get(&word.to_lowercase()).copied()
    }

    /// A word, frequent ones more often (Zipf).
    pub fn sample(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        let i = self.cumulative.partition_point(|&c| c < x).min(self.words.len() - 1);
        &self.words[i]
    }

    /// A word whose rank is log-uniform in `from..len`: what people search for (rarely
    /// "the", often a word of middling frequency).
    pub fn query_word(&self, rng: &mut Rng, from: usize) -> &str {
        let (lo, hi) = ((from.max(1)) as f64, self.words.len() as f64);
        let r = (lo.ln() + rng.unit() * (hi.ln() - lo.ln())).exp() as usize;
        &self.words[r.clamp(from, self.words.len() - 1)]
    }
}

/// One message's text.
pub fn message(v: &Vocabulary, rng: &mut Rng) -> String {
    if rng.chance(0.03) {
        let n = 2 + rng.below(5);
        return (0..n).map(|_| CJK[rng.below(CJK.len())]).collect();
    }
    let n = 3 + rng.below(28);
    let mut words: Vec<String> = (0..n).map(|_| v.sample(rng).to_owned()).collect();
    if let Some(first) = words.first_mut()
        && rng.chance(0.5)
    {
        *first = capitalize(first);
    }
    if rng.chance(0.03) {
        let at = rng.below(words.len() + 1);
        words.insert(at, format!("https://example.com/{}", v.sample(rng)));
    }
    words.join(" ")
}

fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A query of the fixed mix, and its kind (for per-kind figures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub kind: &'static str,
    pub q: String,
    pub newest: bool,
}

/// `n` queries: words, two words, phrases, prefixes, and words with each filter; a fifth
/// sorted newest first. `channels` and `handles` name what `in:` and `from:` may use;
/// `days` is how far back the messages go, ending at `end_day` (days since 1970).
pub fn queries(
    v: &Vocabulary,
    rng: &mut Rng,
    n: usize,
    channels: &[String],
    handles: &[String],
    end_day: i64,
    days: i64,
) -> Vec<Query> {
    const FROM_RANK: usize = 30;
    let date = |d: i64| {
        let (y, m, day) = civil_from_days(d);
        format!("{y:04}-{m:02}-{day:02}")
    };
    (0..n)
        .map(|i| {
            let (kind, q) = match i % 20 {
                0..=5 => ("word", v.query_word(rng, FROM_RANK).to_owned()),
                6..=8 => ("two words", format!("{} {}", v.query_word(rng, FROM_RANK), v.query_word(rng, FROM_RANK))),
                9..=11 => {
                    // Two adjacent words of a message as it would be written, one of them
                    // not among the most frequent (nobody searches for "to the").
                    let pairs = loop {
                        let text = message(v, rng);
                        let words: Vec<String> = text.split(' ').map(str::to_owned).collect();
                        let pairs: Vec<(String, String)> = words
                            .windows(2)
                            .filter(|w| {
                                let telling = |x: &str| v.rank(x).is_some_and(|r| r >= FROM_RANK);
                                !w.iter().any(|x| x.contains("://")) && (telling(&w[0]) || telling(&w[1]))
                            })
                            .map(|w| (w[0].clone(), w[1].clone()))
                            .collect();
                        if !pairs.is_empty() {
                            break pairs;
                        }
                    };
                    let (a, b) = &pairs[rng.below(pairs.len())];
                    ("phrase", format!("\"{a} {b}\""))
                }
                12..=14 => {
                    let w = loop {
                        let w = v.query_word(rng, FROM_RANK);
                        if w.chars().count() >= 5 {
                            break w;
                        }
                    };
                    let keep = 3 + rng.below(w.chars().count() - 3);
                    ("prefix", format!("{}*", w.chars().take(keep).collect::<String>()))
                }
                15 | 16 => {
                    let c = &channels[rng.below(channels.len())];
                    ("in:", format!("{} in:#{c}", v.query_word(rng, FROM_RANK)))
                }
                17 => ("from:", format!("{} from:@{}", v.query_word(rng, 10), handles[rng.below(handles.len())])),
                18 => ("has:link", format!("{} has:link", v.query_word(rng, 10))),
                _ => {
                    let day = end_day - rng.below(days.max(1) as usize) as i64;
                    let op = if rng.chance(0.5) { "after" } else { "before" };
                    ("date", format!("{} {op}:{}", v.query_word(rng, FROM_RANK), date(day)))
                }
            };
            Query { kind, q, newest: i % 5 == 4 }
        })
        .collect()
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_corpus() {
        let v = Vocabulary::new(5_000);
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(message(&v, &mut a), message(&v, &mut b));
        }
    }

    #[test]
    fn frequent_words_are_frequent() {
        let v = Vocabulary::new(20_000);
        let mut rng = Rng::new(1);
        let n = 100_000;
        let the = (0..n).filter(|_| v.sample(&mut rng) == "the").count();
        // 1 / H(20000) is about 9.3 %.
        assert!((7_000..12_000).contains(&the), "{the}");
    }

    #[test]
    fn every_query_parses_as_the_api_would() {
        let v = Vocabulary::new(20_000);
        let mut rng = Rng::new(3);
        let qs = queries(&v, &mut rng, 1_000, &["bench-1".into()], &["bencha0".into()], 20_600, 365);
        assert_eq!(qs.len(), 1_000);
        for q in &qs {
            ocomms_core::search::Query::parse(&q.q).unwrap_or_else(|e| panic!("{:?}: {}", q.q, e.message));
        }
        for kind in ["word", "two words", "phrase", "prefix", "in:", "from:", "has:link", "date"] {
            assert!(qs.iter().any(|q| q.kind == kind), "{kind}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
