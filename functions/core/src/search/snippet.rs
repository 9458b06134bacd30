//! Snippets: the text around a hit's first match, with every match marked.

use super::{Query, Term, is_unspaced_script};

/// A piece of a result's snippet: matched text is `hit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// Characters of context kept before the first match.
const LEAD_CHARS: usize = 40;

/// Up to `max_chars` characters of `text` around its first match of the query's terms, cut
/// into fragments with the matches marked. Every backend's hits get their snippet here, so
/// they read the same whatever found them.
pub fn snippet(text: &str, q: &Query, max_chars: usize) -> Vec<Fragment> {
    let chars: Vec<char> = text.chars().collect();
    // One lower-case char per char, so indexes stay aligned.
    let lower: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let mut needles: Vec<(Vec<char>, bool, bool)> = Vec::new(); // (chars, whole word, prefix)
    for term in &q.terms {
        let (list, prefix): (Vec<&String>, bool) = match term {
            Term::Word(w) => (vec![w], false),
            Term::Prefix(p) => (vec![p], true),
            Term::Phrase(ws) => (ws.iter().collect(), false),
        };
        for w in list {
            needles.push((w.chars().collect(), !is_unspaced_script(w), prefix));
        }
    }
    let boundary = |i: usize| i == 0 || i >= lower.len() || !lower[i - 1].is_alphanumeric();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for (needle, whole, prefix) in &needles {
        if needle.is_empty() || needle.len() > lower.len() {
            continue;
        }
        for start in 0..=lower.len() - needle.len() {
            let end = start + needle.len();
            if lower[start..end] != needle[..] {
                continue;
            }
            let starts_word = boundary(start);
            let ends_word = end >= lower.len() || !lower[end].is_alphanumeric();
            let ok = if *prefix {
                starts_word
            } else if *whole {
                starts_word && ends_word
            } else {
                true
            };
            if ok {
                // A prefix marks the whole word it starts.
                let mut end = end;
                while *prefix && end < lower.len() && lower[end].is_alphanumeric() {
                    end += 1;
                }
                hits.push((start, end));
            }
        }
    }
    hits.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in hits {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let from = merged.first().map_or(0, |(s, _)| s.saturating_sub(LEAD_CHARS));
    let to = (from + max_chars).min(chars.len());
    let mut out: Vec<Fragment> = Vec::new();
    let mut push = |text: String, hit: bool| {
        if !text.is_empty() {
            out.push(Fragment { text, hit });
        }
    };
    let mut at = from;
    if from > 0 {
        push("…".to_owned(), false);
    }
    for (s, e) in merged.into_iter().filter(|(s, _)| *s < to) {
        let (s, e) = (s.max(at), e.min(to));
        push(chars[at..s].iter().collect(), false);
        push(chars[s..e].iter().collect(), true);
        at = e;
    }
    push(chars[at..to].iter().collect(), false);
    if to < chars.len() {
        push("…".to_owned(), false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Query {
        Query::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    fn marked(frags: &[Fragment]) -> String {
        frags.iter().map(|f| if f.hit { format!("[{}]", f.text) } else { f.text.clone() }).collect()
    }

    #[test]
    fn snippets_mark_whole_words_prefixes_and_unspaced_substrings() {
        let q = parse(r#"deploy "release notes" roll*"#);
        let text = "Redeploy? No: Deploy the Release notes, then rollback. deployment";
        assert_eq!(
            marked(&snippet(text, &q, 200)),
            "Redeploy? No: [Deploy] the [Release] [notes], then [rollback]. deployment"
        );
        let q = parse("東京");
        assert_eq!(marked(&snippet("明日は東京タワーへ", &q, 200)), "明日は[東京]タワーへ");
        assert!(is_unspaced_script("東京") && is_unspaced_script("ภาษาไทย") && !is_unspaced_script("tokyo"));
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let q = parse("needle");
        let text = format!("{} needle {}", "a ".repeat(100), "b ".repeat(100));
        let frags = snippet(&text, &q, 60);
        let s = marked(&frags);
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("[needle]"), "{s}");
        assert!(frags.iter().map(|f| f.text.chars().count()).sum::<usize>() <= 62, "{s}");
        assert_eq!(marked(&snippet("no match here", &q, 5)), "no ma…");
    }
}
