//! Arbitrary JSON for the property tests of everything that reads what a server sends.

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON up to 8 levels deep, with object keys drawn from `keys` (the names the code under test looks for)
/// or made up, and strings drawn from `words` or made up, control characters included.
pub fn json_value(keys: &'static [&'static str], words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        "[\n\t\r a-z]{0,12}".prop_map(Value::from),
        prop::sample::select(words).prop_map(Value::from),
    ];
    let key = prop_oneof![prop::sample::select(keys).prop_map(str::to_string), "\\PC{0,6}",];
    leaf.prop_recursive(8, 256, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}
