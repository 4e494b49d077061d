//! The matching algorithms, through the public API.

use docket_classify::{
    validate_rule, Algorithm, CategoryRule, Classifier, ClassifyError, MAX_FUZZY_CHARS,
    MAX_PATTERN_CHARS, MAX_TERMS,
};

fn rule(algorithm: Algorithm, pattern: &str, ci: bool) -> CategoryRule {
    CategoryRule::new("cat", algorithm, pattern, ci)
}

/// The confidence with which a one-rule classifier matches `text`.
fn hit(algorithm: Algorithm, pattern: &str, ci: bool, text: &str) -> Option<f32> {
    let classifier = Classifier::new(&[rule(algorithm, pattern, ci)], None).expect("valid rule");
    classifier.classify(text).map(|c| {
        assert_eq!(c.category, "cat");
        assert_eq!(c.matched_by, algorithm.as_str());
        c.confidence
    })
}

#[test]
fn any_matches_one_whole_word() {
    assert_eq!(
        hit(
            Algorithm::Any,
            "invoice receipt",
            false,
            "your receipt, thanks"
        ),
        Some(1.0)
    );
    assert_eq!(
        hit(
            Algorithm::Any,
            "invoice receipt",
            false,
            "receipts and invoices"
        ),
        None
    );
    assert_eq!(
        hit(Algorithm::Any, "invoice", false, "an invoice."),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::Any, "invoice", false, "preinvoice"), None);
}

#[test]
fn any_and_case() {
    assert_eq!(hit(Algorithm::Any, "Invoice", false, "INVOICE 42"), None);
    assert_eq!(
        hit(Algorithm::Any, "Invoice", true, "INVOICE 42"),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::Any, "Straße", true, "STRASSE"), None);
    assert_eq!(hit(Algorithm::Any, "ärzte", true, "ÄRZTE"), Some(1.0));
}

#[test]
fn quoted_phrase_is_one_term_and_spans_whitespace() {
    let p = r#""amount due" overdue"#;
    assert_eq!(
        hit(Algorithm::Any, p, false, "the amount\n  due is 4"),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::Any, p, false, "amount is due"), None);
    assert_eq!(hit(Algorithm::Any, p, false, "amount and due"), None);
    assert_eq!(
        hit(Algorithm::All, p, false, "overdue: amount due"),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::All, p, false, "overdue amount"), None);
}

#[test]
fn all_needs_every_word_in_any_order() {
    let p = "tax 2024 return";
    assert_eq!(
        hit(Algorithm::All, p, false, "return of 2024 tax"),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::All, p, false, "tax return"), None);
    assert_eq!(hit(Algorithm::All, p, false, "taxes 2024 return"), None);
    assert_eq!(
        hit(Algorithm::All, "TAX return", true, "Tax Return 2024"),
        Some(1.0)
    );
}

#[test]
fn words_with_punctuation_at_the_edges_still_match_as_words() {
    assert_eq!(
        hit(Algorithm::Any, "C++ rust", false, "we use C++ here"),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::Any, "C++", false, "xC++"), None);
    assert_eq!(hit(Algorithm::Any, "#42", false, "ticket #42."), Some(1.0));
    assert_eq!(
        hit(Algorithm::Any, "a.b", false, "axb"),
        None,
        "metacharacters are literal"
    );
}

#[test]
fn literal_is_the_exact_string_as_whole_words() {
    let p = "Acme Corp.";
    assert_eq!(
        hit(Algorithm::Literal, p, false, "from Acme Corp. today"),
        Some(1.0)
    );
    assert_eq!(
        hit(Algorithm::Literal, p, false, "from Acme  Corp. today"),
        None
    );
    assert_eq!(
        hit(Algorithm::Literal, p, false, "from acme corp. today"),
        None
    );
    assert_eq!(
        hit(Algorithm::Literal, p, true, "from acme corp. today"),
        Some(1.0)
    );
    assert_eq!(hit(Algorithm::Literal, "Acme", false, "Acmeville"), None);
    assert_eq!(
        hit(Algorithm::Literal, "(x)", false, "f (x) = 1"),
        Some(1.0)
    );
}

#[test]
fn regex_matches_anywhere() {
    let p = r"INV-\d{4}";
    assert_eq!(hit(Algorithm::Regex, p, false, "ref INV-2024/7"), Some(1.0));
    assert_eq!(hit(Algorithm::Regex, p, false, "ref inv-2024"), None);
    assert_eq!(hit(Algorithm::Regex, p, true, "ref inv-2024"), Some(1.0));
    assert_eq!(hit(Algorithm::Regex, "^Dear", false, "Hi\nDear"), None);
    assert_eq!(
        hit(Algorithm::Regex, "(?m)^Dear", false, "Hi\nDear"),
        Some(1.0)
    );
}

#[test]
fn invalid_regex_is_refused_when_the_rule_is_made() {
    let err = validate_rule(&rule(Algorithm::Regex, "(unclosed", false)).unwrap_err();
    assert!(matches!(err, ClassifyError::InvalidRegex(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the regular expression is invalid"),
        "{err}"
    );
    assert!(Classifier::new(&[rule(Algorithm::Regex, "[z-a]", false)], None).is_err());
    // Look-around is not supported by the linear-time engine: a clear error, too.
    assert!(validate_rule(&rule(Algorithm::Regex, "a(?=b)", false)).is_err());
}

#[test]
fn regex_over_the_size_limit_is_refused() {
    let err = validate_rule(&rule(Algorithm::Regex, r"\w{500}\w{500}", false)).unwrap_err();
    assert!(matches!(err, ClassifyError::InvalidRegex(_)), "{err:?}");
}

#[test]
fn fuzzy_tolerates_a_typo_and_reports_the_similarity() {
    let p = "Stadtwerke Musterstadt";
    assert_eq!(
        hit(
            Algorithm::Fuzzy,
            p,
            false,
            "Rechnung Stadtwerke Musterstadt GmbH"
        ),
        Some(1.0)
    );
    let s = hit(
        Algorithm::Fuzzy,
        p,
        false,
        "Rechnung Stadtwerke Musterstatd GmbH",
    );
    assert!(s.is_some_and(|s| (0.9..1.0).contains(&s)), "{s:?}");
    // Three edits in 22 characters: similarity 0.86, a near miss.
    assert_eq!(
        hit(
            Algorithm::Fuzzy,
            p,
            false,
            "Rechnung Stattwerke Mustastatd GmbH"
        ),
        None
    );
    assert_eq!(hit(Algorithm::Fuzzy, p, false, "nothing to see"), None);
}

#[test]
fn fuzzy_ignores_punctuation_and_honours_case() {
    assert_eq!(
        hit(Algorithm::Fuzzy, "A.C.M.E. Ltd", false, "by ACME Ltd"),
        Some(1.0)
    );
    assert_eq!(
        hit(Algorithm::Fuzzy, "acme limited", false, "ACME LIMITED"),
        None
    );
    assert_eq!(
        hit(Algorithm::Fuzzy, "acme limited", true, "ACME LIMITED"),
        Some(1.0)
    );
}

#[test]
fn short_fuzzy_patterns_need_an_exact_occurrence() {
    // 1 edit in 5 characters is similarity 0.8.
    assert_eq!(hit(Algorithm::Fuzzy, "acme", false, "acne"), None);
    assert_eq!(hit(Algorithm::Fuzzy, "acme", false, "xxacmexx"), Some(1.0));
}

#[test]
fn huge_text_is_handled_in_bounded_work() {
    // 8 MiB without a match: every algorithm has to read all of it, each in one linear pass.
    let text = "lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(150_000);
    let rules = [
        CategoryRule::new("a", Algorithm::Any, r#"invoice "amount due" receipt"#, true),
        CategoryRule::new("b", Algorithm::All, "lorem ipsum invoice", true),
        CategoryRule::new("c", Algorithm::Literal, "dolor sit amen", false),
        CategoryRule::new("d", Algorithm::Regex, r"(?i)inv-\d+", false),
        CategoryRule::new(
            "e",
            Algorithm::Fuzzy,
            "Stadtwerke Musterstadt GmbH ".repeat(4),
            true,
        ),
    ];
    let classifier = Classifier::new(&rules, None).expect("valid rules");
    assert_eq!(classifier.classify(&text), None);
    let mut with_hit = text.clone();
    with_hit.push_str("stadtwerke musterstadt gmbh ".repeat(4).as_str());
    let c = classifier
        .classify(&with_hit)
        .expect("fuzzy matches at the very end");
    assert_eq!((c.category.as_str(), c.matched_by.as_str()), ("e", "fuzzy"));
}

#[test]
fn first_matching_rule_wins_in_the_given_order() {
    let rules = [
        CategoryRule::new("letters", Algorithm::Any, "dear", true),
        CategoryRule::new("invoices", Algorithm::Any, "invoice", true),
        CategoryRule::new("learned", Algorithm::Auto, "", false),
    ];
    let classifier = Classifier::new(&rules, None).expect("valid");
    let c = classifier
        .classify("Dear customer, your invoice")
        .expect("match");
    assert_eq!(c.category, "letters");
    let c = classifier.classify("your invoice").expect("match");
    assert_eq!(c.category, "invoices");
    assert_eq!(
        classifier.classify("nothing"),
        None,
        "auto without a model yields nothing"
    );
    assert!(!classifier.has_auto());
}

#[test]
fn validation_messages() {
    let err = |r: CategoryRule| validate_rule(&r).unwrap_err();
    assert_eq!(
        err(CategoryRule::new(" ", Algorithm::Any, "x", false)),
        ClassifyError::EmptyName
    );
    assert!(matches!(
        err(CategoryRule::new(
            "n".repeat(200),
            Algorithm::Any,
            "x",
            false
        )),
        ClassifyError::NameTooLong { len: 200, .. }
    ));
    assert_eq!(
        err(CategoryRule::new("a\nb", Algorithm::Any, "x", false)),
        ClassifyError::NameHasControlChars
    );
    for algorithm in [
        Algorithm::Any,
        Algorithm::All,
        Algorithm::Literal,
        Algorithm::Regex,
        Algorithm::Fuzzy,
    ] {
        let e = err(rule(algorithm, "  ", false));
        assert_eq!(e, ClassifyError::MissingPattern(algorithm));
        assert_eq!(
            e.to_string(),
            format!("the `{algorithm}` algorithm needs a pattern")
        );
    }
    assert!(validate_rule(&rule(Algorithm::Auto, "", false)).is_ok());
    assert!(matches!(
        err(rule(
            Algorithm::Literal,
            &"x".repeat(MAX_PATTERN_CHARS + 1),
            false
        )),
        ClassifyError::PatternTooLong { .. }
    ));
    let many = (0..=MAX_TERMS)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(matches!(
        err(rule(Algorithm::Any, &many, false)),
        ClassifyError::TooManyTerms { .. }
    ));
    assert!(matches!(
        err(rule(
            Algorithm::Fuzzy,
            &"ab ".repeat(MAX_FUZZY_CHARS),
            false
        )),
        ClassifyError::FuzzyPatternTooLong { .. }
    ));
    assert_eq!(
        err(rule(Algorithm::Fuzzy, "!!!", false)),
        ClassifyError::FuzzyPatternEmpty
    );
    let dup = [
        rule(Algorithm::Any, "a", false),
        rule(Algorithm::Any, "b", false),
    ];
    assert_eq!(
        Classifier::new(&dup, None).unwrap_err(),
        ClassifyError::DuplicateName("cat".into())
    );
}

#[test]
fn rules_are_serde_with_lowercase_algorithms() {
    let r: CategoryRule = serde_json::from_str(
        r#"{"name": "x", "algorithm": "fuzzy", "pattern": "acme", "case_insensitive": true}"#,
    )
    .expect("parses");
    assert_eq!(r, CategoryRule::new("x", Algorithm::Fuzzy, "acme", true));
    let auto: CategoryRule =
        serde_json::from_str(r#"{"name": "y", "algorithm": "auto"}"#).expect("parses");
    assert_eq!(auto.algorithm, Algorithm::Auto);
    assert!(serde_json::from_str::<CategoryRule>(r#"{"name": "y", "algorithm": "AUTO"}"#).is_err());
}

#[test]
fn classifier_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Classifier>();
    shared::<docket_classify::AutoModel>();
}
