use proptest::prelude::*;

use super::*;

const UUID: &str = "6f1c1b1e-2d3c-4b5a-8a7b-0c1d2e3f4a5b";

fn md(s: &str) -> String {
    to_markdown(s)
}

fn sl(s: &str) -> String {
    to_mrkdwn(s)
}

// ---------------------------------------------------------------------------------------
// to_markdown
// ---------------------------------------------------------------------------------------

#[test]
fn bold_becomes_double_star() {
    assert_eq!(md("*bold*"), "**bold**");
    assert_eq!(md("a *b c* d"), "a **b c** d");
    assert_eq!(md("*a* *b*"), "**a** **b**");
    assert_eq!(md("(*a*)"), "(**a**)");
    assert_eq!(md("*a*, then"), "**a**, then");
    assert_eq!(md("*a _b_ c*"), "**a _b_ c**");
    assert_eq!(md("*<@U1>*"), "**<@U1>**");
}

#[test]
fn italic_and_strike_stay() {
    assert_eq!(md("_it_ ~st~"), "_it_ ~st~");
    assert_eq!(md("_a *b* c_"), "_a **b** c_");
}

#[test]
fn stars_slack_does_not_pair_are_escaped_when_ours_could() {
    // Opener after a word character, closer before one, or whitespace inside the marks.
    assert_eq!(md("a*b*c"), "a\\*b\\*c");
    assert_eq!(md("5*3*2"), "5\\*3\\*2");
    assert_eq!(md("*a*b"), "\\*a\\*b");
    assert_eq!(md("* a*"), "* a*");
    assert_eq!(md("*a *"), "\\*a *");
    assert_eq!(md("a * b"), "a * b");
    assert_eq!(md("a*"), "a*");
    assert_eq!(md("**"), "\\*\\*");
    assert_eq!(md("~a~b"), "\\~a\\~b");
    // Across lines Slack pairs nothing.
    assert_eq!(md("*a\nb*"), "\\*a\nb*");
}

#[test]
fn underscores_inside_words_stay_unescaped() {
    assert_eq!(md("snake_case_name"), "snake_case_name");
    assert_eq!(md("_a"), "\\_a");
    assert_eq!(md("a _ b"), "a _ b");
}

#[test]
fn code_spans_are_untouched_except_entities() {
    assert_eq!(md("`*a* <@U1> &lt;b&gt; &amp;lt;`"), "`*a* <@U1> <b> &lt;`");
    assert_eq!(md("x `a` *y*"), "x `a` **y**");
    // An unclosed or empty span is literal text, escaped so ours does not open one.
    assert_eq!(md("a ` b"), "a \\` b");
    assert_eq!(md("``"), "\\`\\`");
}

#[test]
fn fenced_blocks_move_to_their_own_lines() {
    assert_eq!(md("```*a* <https://x.y|z>```"), "```\n*a* <https://x.y|z>\n```");
    assert_eq!(md("see ```a\nb``` then"), "see \n```\na\nb\n```\n then");
    assert_eq!(md("```\ncode &amp; &lt;x&gt;\n```"), "```\ncode & <x>\n```");
    assert_eq!(md("a\n```\nx\n```\nb"), "a\n```\nx\n```\nb");
    assert_eq!(md("```a``````b```"), "```\na\n```\n```\nb\n```");
    assert_eq!(md("``````"), "```\n\n```");
    // Unclosed: literal backticks, which must not open a fence of ours.
    assert_eq!(md("```a"), "\\`\\`\\`a");
}

#[test]
fn links_become_markdown_links() {
    assert_eq!(md("<https://x.y/a|the label>"), "[the label](https://x.y/a)");
    assert_eq!(md("<https://x.y/a>"), "https://x.y/a");
    assert_eq!(md("go <https://x.y/a>."), "go https://x.y/a.");
    assert_eq!(md("<https://x.y/?a=1&amp;b=2|q>"), "[q](https://x.y/?a=1&b=2)");
    assert_eq!(md("<mailto:a@b.c|Mail me>"), "[Mail me](mailto:a@b.c)");
    assert_eq!(md("<mailto:a@b.c>"), "[a@b.c](mailto:a@b.c)");
    assert_eq!(md("<mailto:a@b.c?subject=hi>"), "[a@b.c](mailto:a@b.c?subject=hi)");
    assert_eq!(md("<https://x.y|>"), "https://x.y");
    assert_eq!(md("<https://x.y|a|b>"), "[a|b](https://x.y)");
}

#[test]
fn link_labels_and_urls_are_escaped_to_stay_one_link() {
    assert_eq!(md("<https://x.y/(a)|b]c>"), "[b\\]c](https://x.y/%28a%29)");
    assert_eq!(md("<https://x.y|[x] *y* _z_ `c` \\>"), "[\\[x\\] \\*y\\* \\_z_ \\`c\\` \\\\](https://x.y)");
    assert_eq!(md("<https://x.y|&lt;b&gt;>"), "[<b>](https://x.y)");
    assert_eq!(md("<mailto:a@b.c?subject=a b|m>"), "[m](mailto:a@b.c?subject=a%20b)");
}

#[test]
fn bare_form_only_where_our_autolinker_reads_the_same_url() {
    // After a word character our renderer would not link it.
    assert_eq!(md("see<https://x.y>"), "see[https://x.y](https://x.y)");
    // Followed by text the autolinker would swallow.
    assert_eq!(md("<https://x.y>abc"), "[https://x.y](https://x.y)abc");
    // Inside a span it starts and ends with the span, so it shows bare.
    assert_eq!(md("*<https://x.y>*"), "**https://x.y**");
    assert_eq!(md("_<https://x.y>_"), "_https://x.y_");
    assert_eq!(md("_see https://x.y/a_b_"), "_see https://x.y/a_b_");
    assert_eq!(md("a_<https://x.y>"), "a_[https://x.y](https://x.y)");
    assert_eq!(md("<https://x.y>_a"), "[https://x.y](https://x.y)\\_a");
    // Ending in punctuation the autolinker drops.
    assert_eq!(md("<https://x.y/a.>"), "[https://x.y/a.](https://x.y/a.)");
    assert_eq!(md("(<https://x.y>)"), "(https://x.y)");
    assert_eq!(md("<https://x.y> &lt;"), "https://x.y <");
}

#[test]
fn unsafe_schemes_show_their_label_as_text() {
    assert_eq!(md("<javascript:alert(1)|click>"), "click");
    assert_eq!(md("<javascript:alert(1)>"), "javascript:alert(1)");
    assert_eq!(md("<ftp://x.y|*f*>"), "\\*f\\*");
    assert_eq!(md("<https://a b|x>"), "x");
    assert_eq!(md("<https:///x|y>"), "y");
}

#[test]
fn bare_urls_are_opaque() {
    assert_eq!(md("see https://x.y/a_b*c*d ok"), "see https://x.y/a_b*c*d ok");
    assert_eq!(md("https://x.y/?a=1&amp;b=2"), "https://x.y/?a=1&b=2");
    assert_eq!(md("x https://x.y/a&lt;b"), "x https://x.y/a<b");
    // Not after a word character, as our autolinker.
    assert_eq!(md("ahttps://x.y/_a_"), "ahttps://x.y/_a_");
}

#[test]
fn user_mentions_keep_the_id() {
    assert_eq!(md("<@U024BE7LH>"), "<@U024BE7LH>");
    assert_eq!(md("<@U024BE7LH|bob>"), "<@U024BE7LH>");
    assert_eq!(md(&format!("hi <@{UUID}|ann>!")), format!("hi <@{UUID}>!"));
    // Not an id: text.
    assert_eq!(md("<@ bob>"), "<@ bob>");
    assert_eq!(md("<@>"), "<@>");
}

#[test]
fn channels_and_specials() {
    assert_eq!(md("<#C024BE7LR|general>"), "#general");
    assert_eq!(md("<#C024BE7LR>"), "#C024BE7LR");
    assert_eq!(md("<#C1|dev_ops>"), "#dev_ops");
    assert_eq!(md("<!here>"), "@here");
    assert_eq!(md("<!here|here>"), "@here");
    assert_eq!(md("<!channel>"), "@channel");
    assert_eq!(md("<!everyone>"), "@everyone");
    assert_eq!(md("<!group>"), "@channel");
    assert_eq!(md("<!subteam^SAZ94GDB8|@devs>"), "@devs");
    assert_eq!(md("<!date^1392734382^{date} at {time}|Feb 18, 2014 at 6:39 AM>"), "Feb 18, 2014 at 6:39 AM");
    assert_eq!(md("<!date^1392734382^{date}>"), "");
    assert_eq!(md("a <!foo|bar> b"), "a bar b");
    assert_eq!(md("a <!foo> b"), "a  b");
    assert_eq!(md("<!>"), "<!>");
}

#[test]
fn plain_here_words_are_not_mentions() {
    // Slack notifies for `<!here>`, not for the word, so the word is escaped text for us.
    assert_eq!(md("@here @channel @everyone"), "\\@here \\@channel \\@everyone");
    assert_eq!(md("a@here @heres @Here (@here)"), "a@here @heres @Here (\\@here)");
    assert_eq!(md("<!here> @here"), "@here \\@here");
    assert_eq!(sl("\\@here <!here>"), "@here &lt;!here&gt;");
    assert_eq!(plain("@here"), "@here");
}

#[test]
fn entities_decode_once_left_to_right() {
    assert_eq!(md("a &amp; b &lt;c&gt;"), "a & b <c>");
    assert_eq!(md("&amp;lt;"), "&lt;");
    assert_eq!(md("&amp;amp;"), "&amp;");
    assert_eq!(md("&lt;@U1&gt;"), "<@U1>");
    assert_eq!(md("&gt; quoted"), "> quoted");
    assert_eq!(md("AT&T &nbsp; &"), "AT&T &nbsp; &");
}

#[test]
fn malformed_angles_are_text() {
    assert_eq!(md("a < b"), "a < b");
    assert_eq!(md("a <b"), "a <b");
    assert_eq!(md("<<https://x.y|z>"), "<[z](https://x.y)");
    assert_eq!(md("<https://x.y\n>"), "<https://x.y\n>");
    assert_eq!(md("<>"), "<>");
    assert_eq!(md("<foo>"), "<foo>");
    assert_eq!(md("<|x>"), "<|x>");
    assert_eq!(md("<b>*x*</b>"), "<b>**x**</b>");
}

#[test]
fn literal_markup_of_ours_is_escaped() {
    assert_eq!(md("[a](https://x.y)"), "\\[a](https://x.y)");
    assert_eq!(md("[WARN] disk"), "[WARN] disk");
    assert_eq!(md("C:\\dir\\*"), "C:\\dir\\\\*");
    assert_eq!(md("a\\b"), "a\\b");
}

#[test]
fn quotes_and_lines_survive() {
    assert_eq!(md("> *quoted*\nnext"), "> **quoted**\nnext");
    assert_eq!(md("a\r\nb\rc"), "a\nb\nc");
    assert_eq!(md(""), "");
    assert_eq!(md("\n\n"), "\n\n");
}

// ---------------------------------------------------------------------------------------
// plain
// ---------------------------------------------------------------------------------------

#[test]
fn plain_drops_marks() {
    assert_eq!(plain("*bold* _it_ ~st~ `c*d*`"), "bold it st c*d*");
    assert_eq!(plain("<https://x.y|label> <https://x.y> <mailto:a@b.c>"), "label https://x.y a@b.c");
    assert_eq!(plain("<@U1|bob> <@U2> <#C1|gen> <#C2>"), "@bob @U2 #gen #C2");
    assert_eq!(plain("<!here> <!subteam^S|@devs> <!date^1^x|Feb 1>"), "@here @devs Feb 1");
    assert_eq!(plain("a ```x &amp; y``` b"), "a \nx & y\n b");
    assert_eq!(plain("&amp;lt; 5*3*2 snake_case"), "&lt; 5*3*2 snake_case");
    assert_eq!(plain("<javascript:x|y>"), "y");
}

// ---------------------------------------------------------------------------------------
// to_mrkdwn
// ---------------------------------------------------------------------------------------

#[test]
fn marks_become_slack_marks() {
    assert_eq!(sl("**bold** *it* _it_ ~~st~~ ~st~"), "*bold* _it_ _it_ ~st~ ~st~");
    assert_eq!(sl("__bold__"), "*bold*");
    assert_eq!(sl("**a _b_ c**"), "*a _b_ c*");
    assert_eq!(sl("a * b"), "a * b");
    assert_eq!(sl("snake_case_name"), "snake_case_name");
    assert_eq!(sl("** a**"), "** a**");
}

#[test]
fn escapes_are_dropped_and_entities_escaped() {
    assert_eq!(sl("5\\*3\\*2 \\_x\\_ \\\\ \\q"), "5*3*2 _x_ \\ \\q");
    assert_eq!(sl("a & b < c > d"), "a &amp; b &lt; c &gt; d");
    assert_eq!(sl("> quote"), "&gt; quote");
    assert_eq!(sl("\\<b>"), "&lt;b&gt;");
}

#[test]
fn code_is_escaped_but_not_converted() {
    assert_eq!(sl("`**a** <b> & @here`"), "`**a** &lt;b&gt; &amp; @here`");
    assert_eq!(sl("``a`b``"), "``a`b``");
    assert_eq!(sl("a ```x```"), "a `x`");
    // At the start of a line it opens a fence, as in the client.
    assert_eq!(sl("```x```\ny"), "```\ny\n```");
    assert_eq!(sl("``"), "``");
    assert_eq!(sl("a ` b"), "a ` b");
}

#[test]
fn fences_keep_their_lines() {
    assert_eq!(sl("```rust\nlet a = **b** < c;\n```\nafter **x**"), "```\nlet a = **b** &lt; c;\n```\nafter *x*");
    assert_eq!(sl("```\nopen"), "```\nopen\n```");
    assert_eq!(sl("   ```\nx\n   ```"), "```\nx\n```");
    assert_eq!(sl("    ```x```"), "    `x`");
}

#[test]
fn links_and_mentions() {
    assert_eq!(sl("[the label](https://x.y/a?b=1&c=2)"), "<https://x.y/a?b=1&amp;c=2|the label>");
    assert_eq!(sl("[a \\] b](https://x.y/%29)"), "<https://x.y/%29|a ] b>");
    assert_eq!(sl("[m](mailto:a@b.c)"), "<mailto:a@b.c|m>");
    assert_eq!(sl("[x](https://x.y/a|b)"), "<https://x.y/a%7Cb|x>");
    assert_eq!(sl("[x](https://x.y/(a))"), "<https://x.y/(a)|x>");
    assert_eq!(sl("see https://x.y/a_b."), "see <https://x.y/a_b>.");
    assert_eq!(sl("https://x.y/a|b"), "https://x.y/a|b");
    assert_eq!(sl("ahttps://x.y"), "ahttps://x.y");
    assert_eq!(sl(&format!("hi <@{UUID}>")), format!("hi <@{UUID}>"));
    assert_eq!(sl("@here @channel @everyone"), "<!here> <!channel> <!everyone>");
    assert_eq!(sl("a@here @heres @here_ @here."), "a@here @heres @here_ <!here>.");
}

#[test]
fn links_that_are_not_links_stay_text() {
    assert_eq!(sl("[x](javascript:alert(1))"), "[x](javascript:alert(1))");
    assert_eq!(sl("[](https://x.y)"), "[](https://x.y)");
    // The client autolinks what follows an unclosed destination.
    assert_eq!(sl("[x](https://x.y"), "[x](<https://x.y>");
    assert_eq!(sl("[a [b](https://x.y)"), "[a <https://x.y|b>");
    assert_eq!(sl("[x] (y)"), "[x] (y)");
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

#[test]
fn round_trip_examples() {
    for s in [
        "*hi* <https://a.b/c|the [x] label> <@U1> <!here> _it_ ~st~ `c&amp;d` a &lt; b",
        "a\\*b*",
        "<#C1|dev_ops> <!subteam^S1|@devs> @here",
        "*a _b_ c* and _a *b* c_ and ~a *b* c~",
        "x ```a\nb``` y",
        "see<https://x.y> and <https://x.y/(a)|l> and <mailto:a@b.c>",
        "<https://x.y|a](b> <https://x.y|a\\b>",
        "[WARN] 5*3*2 a * b",
    ] {
        let m = to_markdown(s);
        assert_eq!(to_markdown(&to_mrkdwn(&m)), m, "{s:?}");
    }
}

#[test]
fn round_trip_keeps_slack_forms() {
    let s = "*hi* <https://a.b/c|the label> <@U1> <!here> _it_ ~st~ `c&amp;d` a &lt; b <https://a.b>";
    assert_eq!(to_mrkdwn(&to_markdown(s)), s);
}

// ---------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------

fn check_bounded(s: &str) {
    let (m, k, p) = (to_markdown(s), to_mrkdwn(s), plain(s));
    assert!(m.len() <= 4 * s.len() + 64, "to_markdown grew {} -> {}", s.len(), m.len());
    assert!(k.len() <= 5 * s.len() + 64, "to_mrkdwn grew {} -> {}", s.len(), k.len());
    assert!(p.len() <= s.len() + 64, "plain grew {} -> {}", s.len(), p.len());
}

#[test]
fn hostile_inputs_are_fast_and_bounded() {
    let big = 100 * 1024;
    let cases = [
        "*".repeat(big),
        "_".repeat(big),
        "~".repeat(big),
        "`".repeat(big),
        "<".repeat(big),
        ">".repeat(big),
        "&".repeat(big),
        "[".repeat(big),
        "\\".repeat(big),
        "*a ".repeat(big / 3),
        "_a ".repeat(big / 3),
        "**a ".repeat(big / 4),
        "~~a ".repeat(big / 4),
        "<a".repeat(big / 2),
        "<@".repeat(big / 2),
        "<https://x.y|".repeat(big / 13),
        "[a](((".repeat(big / 6),
        "[a\\]".repeat(big / 4),
        "https:///".repeat(big / 9),
        "https://a ".repeat(big / 10),
        "``a".repeat(big / 3),
        "```\n".repeat(big / 4),
        "&amp;lt;".repeat(big / 8),
        "@here".repeat(big / 5),
        "a\n".repeat(big / 2),
        "é*".repeat(big / 3),
        "*a _b ~c `d <e [f](g &amp; <https://x.y|z> _".repeat(big / 48),
        "**a __b ~~c [d](e) ".repeat(big / 20),
        "[a](b) [[c](".repeat(big / 12),
        "`a``b```c````".repeat(big / 13),
    ];
    for s in &cases {
        check_bounded(s);
    }
    assert_eq!(plain(&"*".repeat(6)), "**");
}

#[test]
fn deep_nesting_is_limited() {
    let s = format!("{}x{}", "**_~".repeat(50), "~_**".repeat(50));
    check_bounded(&s);
    let s = format!("{}x{}", "*_~".repeat(50), "~_*".repeat(50));
    check_bounded(&s);
}

fn config() -> ProptestConfig {
    // No regressions file: this module's tests must not write into the source tree.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Text dense in the characters both dialects treat specially.
fn markup_soup() -> impl Strategy<Value = String> {
    const ATOMS: &str = "*¦**¦_¦~¦`¦```¦<¦>¦|¦@¦#¦!¦&¦&amp;¦&lt;¦&gt;¦[¦]¦(¦)¦](¦\\¦ ¦\n¦\r¦a¦é¦\u{0}¦\u{3000}¦https://¦\
                         http://x.y¦mailto:¦<@U1¦<#C1¦<!here¦here¦channel¦subteam^S¦date^1^x";
    let atoms = prop::sample::select(ATOMS.split('¦').collect::<Vec<_>>());
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

/// Mrkdwn from well-nested constructs, the shapes integrations send.
fn slack_text() -> impl Strategy<Value = String> {
    let word = "[a-z0-9]{1,6}[.,!?:;)]?";
    let words = prop::collection::vec(word, 1..4).prop_map(|w| w.join(" "));
    let leaf = prop_oneof![
        word.prop_map(String::from),
        words.clone().prop_map(|w| format!("`{w}`")),
        words.clone().prop_map(|w| format!("<https://example.com/p?q=1&amp;r=2|{w}>")),
        Just("<https://example.com/a_b>".to_owned()),
        Just("<https://example.com/(x)|[x] y\\z>".to_owned()),
        Just("https://example.com/bare_url".to_owned()),
        Just("<!subteam^S1|@devs>".to_owned()),
        Just("<mailto:a@example.com|mail>".to_owned()),
        Just("<@U024BE7LH>".to_owned()),
        Just(format!("<@{UUID}>")),
        Just("<!here>".to_owned()),
        Just("<!channel>".to_owned()),
        Just("<#C1|general>".to_owned()),
        Just("&amp; &lt; &gt;".to_owned()),
    ];
    let span = leaf.prop_recursive(2, 8, 3, |inner| {
        let inner = prop::collection::vec(inner, 1..3).prop_map(|v| v.join(" "));
        prop_oneof![
            inner.clone().prop_map(|w| format!("*{w}*")),
            inner.clone().prop_map(|w| format!("_{w}_")),
            inner.prop_map(|w| format!("~{w}~")),
        ]
    });
    // Code blocks only between spans: Slack formats no span across one.
    let pre = prop::collection::vec("[a-z]{1,6}", 1..4).prop_map(|w| format!("```{}```", w.join(" ")));
    let span = prop_oneof![4 => span, 1 => pre];
    let sep = prop_oneof![Just(" "), Just("\n")];
    prop::collection::vec((span, sep), 0..8).prop_map(|v| v.into_iter().map(|(s, sep)| s + sep).collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_and_stays_bounded(s in any::<String>()) {
        check_bounded(&s);
    }

    #[test]
    fn markup_never_panics_and_stays_bounded(s in markup_soup()) {
        check_bounded(&s);
        let m = to_markdown(&s);
        check_bounded(&m);
        check_bounded(&to_mrkdwn(&m));
    }

    /// For well-nested mrkdwn: converting to markdown is stable under a trip through mrkdwn,
    /// and that trip shows the same text (links by label, mentions and specials alike).
    #[test]
    fn slack_round_trip_is_stable(s in slack_text()) {
        let m = to_markdown(&s);
        let back = to_mrkdwn(&m);
        prop_assert_eq!(to_markdown(&back), m.clone());
        prop_assert_eq!(plain(&back), plain(&s));
    }
}
