//! The learned `auto` classifier: training, storage, and how the classifier uses it.

use docket_classify::{
    train_auto, Algorithm, AutoModel, CategoryRule, Classifier, ClassifyError, LabelledText,
    ModelKind, TrainConfig,
};

const INVOICES: [&str; 6] = [
    "Invoice number 1001. Amount due 120 EUR, payment within 14 days to our bank account.",
    "Please pay the invoice total of 99 EUR. VAT included. Bank transfer reference 2231.",
    "Invoice: consulting services, net amount, VAT 19 percent, total due, payment terms.",
    "Your invoice for March: amount due, IBAN, payment reference, due date next month.",
    "Final invoice. Total amount payable by bank transfer. VAT number on the last page.",
    "Reminder: the invoice amount is overdue. Please transfer the payment to our account.",
];
const RECIPES: [&str; 6] = [
    "Preheat the oven. Mix flour, sugar and eggs, then bake the cake for forty minutes.",
    "Chop the onions, fry them in butter, add tomatoes and simmer the sauce for an hour.",
    "Whisk eggs with milk, pour into a hot pan and cook the omelette until golden.",
    "Boil the pasta in salted water, drain, and toss with garlic, olive oil and basil.",
    "Knead the dough, let it rise, shape the bread and bake it in a very hot oven.",
    "Season the chicken, roast it with potatoes and serve with a fresh green salad.",
];
const LETTERS: [&str; 6] = [
    "Dear Anna, it was lovely to see you last summer. Write soon. With love, Ben.",
    "Dear friend, thank you for your kind letter. I hope your family is well. Yours, Carl.",
    "My dear Maria, I miss our long walks. Give my regards to your parents. Love, Dora.",
    "Dear Tom, congratulations on the new job! Let us meet soon. Best wishes, Eva.",
    "Dear grandma, thank you for the birthday present. I hope to visit you soon. Felix.",
    "Dearest Gina, the holidays were wonderful. I think of you often. Kind regards, Hans.",
];

fn corpus() -> Vec<LabelledText<'static>> {
    let mut docs = Vec::new();
    for (category, texts) in [
        ("invoices", INVOICES),
        ("recipes", RECIPES),
        ("letters", LETTERS),
    ] {
        docs.extend(texts.iter().map(|&text| LabelledText { text, category }));
    }
    docs
}

fn auto_rules(names: &[&str]) -> Vec<CategoryRule> {
    names
        .iter()
        .map(|&n| CategoryRule::new(n, Algorithm::Auto, "", false))
        .collect()
}

fn config() -> TrainConfig {
    // The toy corpus is tiny: keep every word.
    TrainConfig {
        min_df: 1,
        ..TrainConfig::default()
    }
}

#[test]
fn learns_and_answers_with_a_probability() {
    let rules = auto_rules(&["invoices", "recipes", "letters"]);
    let model = train_auto(&rules, corpus(), &config()).expect("three categories");
    assert_eq!(model.categories(), ["invoices", "letters", "recipes"]);
    let classifier = Classifier::new(&rules, Some(model)).expect("valid");
    assert!(classifier.has_auto());
    for (text, expected) in [
        (
            "The invoice amount is due; please pay by bank transfer.",
            "invoices",
        ),
        ("Bake the bread in the oven with flour and eggs.", "recipes"),
        ("Dear Paul, I hope you are well. Love, Rita.", "letters"),
    ] {
        let c = classifier.classify(text).expect("auto answers");
        assert_eq!(
            (c.category.as_str(), c.matched_by.as_str()),
            (expected, "auto"),
            "{text}"
        );
        assert!(c.confidence > 1.0 / 3.0 && c.confidence <= 1.0, "{c:?}");
    }
}

#[test]
fn both_trainers_give_probabilities_that_sum_to_one() {
    for kind in [ModelKind::Logistic, ModelKind::NaiveBayes] {
        let model = AutoModel::train(&corpus(), &TrainConfig { kind, ..config() }).expect("model");
        for text in ["invoice amount due", "", "zzz unknown words only"] {
            let p = model.probabilities(text);
            assert_eq!(p.len(), 3);
            assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{p:?}");
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{p:?}");
        }
        let (category, _) = model
            .predict("pay the invoice amount by bank transfer")
            .expect("some");
        assert_eq!(category, "invoices", "{kind:?}");
    }
}

#[test]
fn rules_come_before_auto() {
    let mut rules = auto_rules(&["invoices", "recipes", "letters"]);
    rules.insert(
        0,
        CategoryRule::new("urgent", Algorithm::Any, "overdue", true),
    );
    let model = train_auto(&rules, corpus(), &config()).expect("model");
    let classifier = Classifier::new(&rules, Some(model)).expect("valid");
    let c = classifier.classify("OVERDUE invoice amount").expect("rule");
    assert_eq!(
        (c.category.as_str(), c.confidence, c.matched_by.as_str()),
        ("urgent", 1.0, "any")
    );
}

#[test]
fn only_auto_categories_are_learned_and_answered() {
    // "letters" is matched by a rule, so its documents do not train the model.
    let mut rules = auto_rules(&["invoices", "recipes"]);
    rules.push(CategoryRule::new(
        "letters",
        Algorithm::Literal,
        "Dear Sir",
        false,
    ));
    let model = train_auto(&rules, corpus(), &config()).expect("two auto categories");
    assert_eq!(model.categories(), ["invoices", "recipes"]);

    // A model that knows three categories, used when only two of them are still `auto`.
    let full = AutoModel::train(&corpus(), &config()).expect("model");
    let classifier = Classifier::new(&rules, Some(full.clone())).expect("valid");
    let c = classifier
        .classify("Dear Paul, I hope you are well. Love, Rita.")
        .expect("auto");
    assert_ne!(c.category, "letters");

    // With one `auto` category left, the model is not used.
    let one = auto_rules(&["invoices"]);
    let classifier = Classifier::new(&one, Some(full)).expect("valid");
    assert!(!classifier.has_auto());
    assert_eq!(classifier.classify("invoice amount due"), None);
}

#[test]
fn fewer_than_two_labelled_categories_means_no_model() {
    let rules = auto_rules(&["invoices", "recipes"]);
    let only_invoices = corpus().into_iter().filter(|d| d.category == "invoices");
    assert!(train_auto(&rules, only_invoices, &config()).is_none());
    assert!(train_auto(&rules, Vec::new(), &config()).is_none());
    assert!(train_auto(&auto_rules(&[]), corpus(), &config()).is_none());
}

#[test]
fn minimum_confidence_can_silence_auto() {
    let rules = auto_rules(&["invoices", "recipes", "letters"]);
    let model = train_auto(&rules, corpus(), &config()).expect("model");
    let classifier = Classifier::new(&rules, Some(model))
        .expect("valid")
        .with_min_auto_confidence(1.0);
    assert_eq!(classifier.classify("zzz nothing known"), None);
}

#[test]
fn model_round_trips_through_json_and_damage_is_an_error() {
    let model = AutoModel::train(&corpus(), &config()).expect("model");
    let json = serde_json::to_string(&model).expect("serialises");
    let back: AutoModel = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, model);
    let text = "bake the bread";
    assert_eq!(back.probabilities(text), model.probabilities(text));

    let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
    value["bias"] = serde_json::json!([0.0]);
    let err = serde_json::from_value::<AutoModel>(value.clone()).unwrap_err();
    assert!(err.to_string().contains("lengths do not agree"), "{err}");

    value["version"] = serde_json::json!(999);
    let err = serde_json::from_value::<AutoModel>(value).unwrap_err();
    assert!(err.to_string().contains("retrain"), "{err}");

    let err: ClassifyError = ClassifyError::InvalidModel("x".into());
    assert_eq!(
        err.to_string(),
        "the stored classification model is invalid: x"
    );
}

#[test]
fn training_is_deterministic() {
    let a = AutoModel::train(&corpus(), &config()).expect("model");
    let b = AutoModel::train(&corpus(), &config()).expect("model");
    assert_eq!(a, b);
}

#[test]
fn huge_text_reads_a_bounded_prefix() {
    let rules = auto_rules(&["invoices", "recipes", "letters"]);
    let model = train_auto(&rules, corpus(), &config()).expect("model");
    let classifier = Classifier::new(&rules, Some(model)).expect("valid");
    // Only the first MAX_TOKENS words count: the recipe words come too late to matter.
    let mut text = "invoice amount due payment bank transfer ".repeat(docket_classify::MAX_TOKENS);
    text.push_str(&"bake the bread in the oven ".repeat(200_000));
    let c = classifier.classify(&text).expect("auto answers");
    assert_eq!(c.category, "invoices");
}
