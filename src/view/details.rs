//! What the details of a row show of its object: the object as YAML, as a person reads it in `kubectl get -o
//! yaml`, without `metadata.managedFields` (pages of bookkeeping) and without a Secret's values. Pure.

use serde_json::Value;

/// What stands for a Secret's value.
pub const HIDDEN_VALUE: &str = "<hidden>";

/// The object's JSON as YAML; `None` when it cannot be read.
pub fn object_yaml(raw: &str, secret: bool) -> Option<String> {
    let mut object: Value = serde_json::from_str(raw).ok()?;
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    hide_last_applied(&mut object);
    if secret {
        hide_secret_values(&mut object);
    }
    serde_saphyr::to_string(&object).ok()
}

/// The last applied configuration repeats the object, a Secret's values included.
pub fn hide_last_applied(object: &mut Value) {
    if let Some(annotations) = object
        .get_mut("metadata")
        .and_then(|metadata| metadata.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// A Secret's values, each replaced by `HIDDEN_VALUE`.
pub fn hide_secret_values(object: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(values) = object.get_mut(field).and_then(Value::as_object_mut) {
            for value in values.values_mut() {
                *value = Value::String(HIDDEN_VALUE.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_fields_go_and_the_rest_reads_as_yaml() {
        let raw = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","managedFields":[{"manager":"kubectl"}],
            "annotations":{"team":"shop"}},"spec":{"nodeName":"node-1"}}"#;
        let yaml = object_yaml(raw, false).expect("yaml");
        assert!(yaml.contains("name: web-1"), "{yaml}");
        assert!(yaml.contains("nodeName: node-1"), "{yaml}");
        assert!(yaml.contains("team: shop"), "{yaml}");
        assert!(!yaml.contains("managedFields"), "{yaml}");
        assert!(!yaml.contains("kubectl"), "{yaml}");
        assert!(object_yaml("not json", false).is_none());
    }

    #[test]
    fn a_secrets_values_are_never_shown() {
        let raw = r#"{"kind":"Secret","metadata":{"name":"db","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"czNjcjN0\"}}"}},
            "data":{"password":"czNjcjN0"},"stringData":{"token":"plain-s3cr3t"},"type":"Opaque"}"#;
        let yaml = object_yaml(raw, true).expect("yaml");
        assert!(yaml.contains("password: <hidden>"), "{yaml}");
        assert!(yaml.contains("token: <hidden>"), "{yaml}");
        assert!(!yaml.contains("czNjcjN0") && !yaml.contains("s3cr3t"), "{yaml}");
        assert!(yaml.contains("type: Opaque"), "{yaml}");
    }
}
