//! Reading a JSON:API request document, with Drupal's answers for the ways one can be wrong.

use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::errors::{ApiError, JSONAPI};

/// The parts of `{"data": {"type", "id"?, "attributes"?}}` the emulator uses.
#[derive(Debug)]
pub(crate) struct RequestDocument {
    pub id: Option<String>,
    pub attributes: Map<String, Value>,
}

/// Content type, syntax, `data.type` (409 when it is not the route's) and `data.id`.
pub(crate) fn parse(
    headers: &HeaderMap,
    body: &[u8],
    expected_type: &str,
) -> Result<RequestDocument, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if content_type != Some(JSONAPI) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "No route found that matches \"Content-Type: {}\"",
                content_type.unwrap_or("")
            ),
        ));
    }
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("Syntax error: {error}")))?;
    let Some(data) = document.get("data").and_then(Value::as_object) else {
        return Err(ApiError::bad_request("Missing `data`.").pointer("/data"));
    };
    let Some(resource_type) = data.get("type").and_then(Value::as_str) else {
        return Err(
            ApiError::bad_request("Resource object must include a \"type\".").pointer("/data/type"),
        );
    };
    if resource_type != expected_type {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "The provided type ({resource_type}) does not match the destination resource types ({expected_type})."
            ),
        )
        .pointer("/data/type"));
    }
    let id =
        match data.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if is_rfc4122(id) => Some(id.clone()),
            Some(_) => return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "IDs should be properly generated and formatted UUIDs as described in RFC 4122.",
            )
            .pointer("/data/id")),
        };
    let attributes = match data.get("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(attributes)) => attributes.clone(),
        Some(_) => {
            return Err(ApiError::bad_request("`attributes` must be an object.")
                .pointer("/data/attributes"))
        }
    };
    Ok(RequestDocument { id, attributes })
}

/// Drupal's `Uuid::isValid`: 8-4-4-4-12 hexadecimal digits, nothing else.
pub(crate) fn is_rfc4122(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A plain string attribute; absent or `null` is `None`.
pub(crate) fn string(
    attributes: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match attributes.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid_attribute(
            field,
            "This value should be of the correct primitive type.",
        )),
    }
}

/// A text field sent either as a string or as `{"value": "…"}`.
pub(crate) fn text_value(
    attributes: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match attributes.get(field) {
        Some(Value::Object(object)) => match object.get("value") {
            Some(Value::String(text)) => Ok(Some(text.clone())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(ApiError::invalid_attribute(
                field,
                "This value should be of the correct primitive type.",
            )),
        },
        _ => string(attributes, field),
    }
}

pub(crate) fn required(field: &str, value: Option<String>) -> Result<String, ApiError> {
    match value {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(ApiError::invalid_attribute(
            field,
            "This value should not be null.",
        )),
    }
}

pub(crate) fn at_most(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::invalid_attribute(
            field,
            format!("This value is too long. It should have {max} characters or less."),
        ));
    }
    Ok(())
}

/// A JSON string stored in a field (strawberryfield, AMI's `set`): it must parse.
pub(crate) fn parse_json_text(field: &str, text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|error| {
        ApiError::invalid_attribute(field, format!("The value is not valid JSON: {error}"))
    })
}

/// A value from a fixed list.
pub(crate) fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if !allowed.contains(&value) {
        return Err(ApiError::invalid_attribute(
            field,
            format!(
                "The value you selected is not a valid choice ({}).",
                allowed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// PATCH: a payload id, when given, must be the URL's.
pub(crate) fn same_id(document: &RequestDocument, uuid: &str) -> Result<(), ApiError> {
    match &document.id {
        Some(id) if id != uuid => Err(ApiError::bad_request(format!(
            "The selected entity ({uuid}) does not match the ID in the payload ({id})."
        ))
        .pointer("/data/id")),
        _ => Ok(()),
    }
}
