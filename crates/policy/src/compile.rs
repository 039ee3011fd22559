//! An API's authorization compiled: schema, policy set sliced per operation,
//! resource attribute sources and response-ownership rules.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use cedar_policy::{Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use portcullis_openapi::Spec;
use serde_json::Value;

use crate::decide::Engine;
use crate::load::{self, Loaded, Origin, yaml_error};
use crate::schema::{
    AttrType, Model, PRINCIPAL_BASE, PRINCIPAL_TYPES, ResourceAttr, Source, body_type,
    pointer_tokens,
};
use crate::shortcut;
use crate::{Decision, Error, Facts, Mode, RawAuthorization, RawOperation, Resolve, ResponseOwner};

/// The default of `max_response_bytes`: 1 MiB.
const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// One API's compiled authorization (immutable; shared by the requests of one
/// runtime snapshot).
#[derive(Debug)]
pub struct Policies {
    // Implementation-defined fields.
    pub(crate) mode: Option<Mode>,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) response_owners: HashMap<String, Arc<ResponseOwner>>,
    pub(crate) max_response_bytes: u64,
    /// The generated schema in Cedar syntax.
    schema_text: String,
    /// Every policy's id and source text, files first, then shortcuts.
    texts: Vec<(Arc<str>, String)>,
    /// What decisions run on: the policy set sliced per operation.
    engine: Engine,
}

impl Policies {
    /// Compiles an API's `authorization:` section against its spec: reads and
    /// parses the Cedar files (through `resolve`), generates the schema,
    /// compiles the shortcuts to Cedar and validates every policy strictly.
    ///
    /// Every problem is returned, each with its file, line and field; a
    /// problem in the YAML has `file: None` (the caller's config file).
    pub fn compile(
        raw: &RawAuthorization,
        spec: &Spec,
        resolve: Resolve<'_>,
    ) -> Result<Policies, Vec<Error>> {
        let mut errors = Vec::new();
        let mode = mode(raw, &mut errors);
        let max_response_bytes = max_response_bytes(raw, &mut errors);
        let response_owners = response_owners(raw, &mut errors);

        // The model first: shortcuts and Cedar files are checked against it.
        let mut model = Model::from_spec(spec, &mut errors);
        declare_claims(raw, &mut model, &mut errors);
        declare_headers(raw, &mut model, &mut errors);
        for (name, operation) in &raw.operations {
            declare_operation(name, operation, spec, &mut model, &mut errors);
        }
        let shortcuts = shortcut::compile(raw, spec, &mut model, &mut errors);
        let schema = schema(&model, &mut errors);

        let (files, mut loaded) = load::files(&raw.policies, resolve, &mut errors);
        for s in shortcuts {
            match Policy::parse(Some(PolicyId::new(&s.id)), &s.text) {
                Ok(policy) => loaded.push(Loaded {
                    id: s.id,
                    policy,
                    text: s.text,
                    origin: Origin::Config {
                        line: s.line,
                        column: s.column,
                        field: s.field,
                    },
                }),
                // Only reachable through a bug in the shortcut compiler.
                Err(e) => errors.push(Error {
                    file: None,
                    line: s.line,
                    column: s.column,
                    field: s.field,
                    message: format!("internal error: the shortcut compiled to invalid Cedar: {e}"),
                }),
            }
        }
        let set = policy_set(&loaded, &mut errors);
        if let (Some((schema, _)), Some(set)) = (&schema, &set) {
            validate(schema, set, &loaded, &mut errors);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let (Some((_, schema_text)), Some(_)) = (schema, set) else {
            return Err(errors);
        };
        let engine = Engine::new(&model, &loaded).map_err(|message| {
            vec![Error {
                file: None,
                line: None,
                column: None,
                field: "authorization".to_owned(),
                message,
            }]
        })?;
        let texts = loaded
            .into_iter()
            .map(|l| (Arc::from(l.id.as_str()), l.text))
            .collect();
        Ok(Policies {
            mode,
            files,
            response_owners,
            max_response_bytes,
            schema_text,
            texts,
            engine,
        })
    }

    /// The configured mode; `None`: the API's.
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// The Cedar files read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether any policy (shortcuts included) is a `permit`. Without one every
    /// request is denied, which is allowed but almost certainly a mistake.
    pub fn has_permit(&self) -> bool {
        self.engine.has_permit()
    }

    /// Whether the operation's decision needs the JSON request body (it selects body fields).
    pub fn needs_body(&self, operation: &str) -> bool {
        self.engine.needs_body(operation)
    }

    /// The operation's response-ownership rule, if any.
    pub fn response_owner(&self, operation: &str) -> Option<&Arc<ResponseOwner>> {
        self.response_owners.get(operation)
    }

    /// Largest response buffered for a response-ownership check.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// Decides one request. Never fails: anything that cannot be evaluated denies.
    pub fn decide(&self, facts: &Facts<'_>) -> Decision {
        self.engine.decide(facts)
    }

    /// Like [`decide`](Self::decide), but always evaluated: decisions are
    /// otherwise remembered by the facts they depended on. For benchmarks.
    pub fn decide_uncached(&self, facts: &Facts<'_>) -> Decision {
        self.engine.decide_uncached(facts)
    }

    /// The generated Cedar schema, in Cedar's schema syntax (for policy authors).
    pub fn schema_text(&self) -> String {
        self.schema_text.clone()
    }

    /// Every policy id with its source text (shortcuts included), in order.
    pub fn policy_texts(&self) -> Vec<(Arc<str>, String)> {
        self.texts.clone()
    }
}

/// `mode`: `enforce` or `monitor`.
fn mode(raw: &RawAuthorization, errors: &mut Vec<Error>) -> Option<Mode> {
    let mode = raw.mode.as_ref()?;
    match mode.value.as_str() {
        "enforce" => Some(Mode::Enforce),
        "monitor" => Some(Mode::Monitor),
        other => {
            errors.push(yaml_error(
                mode,
                "authorization.mode".to_owned(),
                format!("unknown mode `{other}`: expected `enforce` or `monitor`"),
            ));
            None
        }
    }
}

/// `max_response_bytes`: positive, 1 MiB by default.
fn max_response_bytes(raw: &RawAuthorization, errors: &mut Vec<Error>) -> u64 {
    match &raw.max_response_bytes {
        None => DEFAULT_MAX_RESPONSE_BYTES,
        Some(limit) if limit.value == 0 => {
            errors.push(yaml_error(
                limit,
                "authorization.max_response_bytes".to_owned(),
                "must be at least 1".to_owned(),
            ));
            DEFAULT_MAX_RESPONSE_BYTES
        }
        Some(limit) => limit.value,
    }
}

/// The `response_owner` rules, by operation.
fn response_owners(
    raw: &RawAuthorization,
    errors: &mut Vec<Error>,
) -> HashMap<String, Arc<ResponseOwner>> {
    let mut out = HashMap::new();
    for (name, operation) in &raw.operations {
        let Some(rule) = &operation.response_owner else {
            continue;
        };
        let field = format!("authorization.operations.{name}.response_owner");
        let mut ok = true;
        for (key, pointer) in [
            ("items", rule.items.as_ref()),
            ("pointer", Some(&rule.pointer)),
        ] {
            if let Some(pointer) = pointer
                && pointer_tokens(&pointer.value).is_none()
            {
                ok = false;
                errors.push(yaml_error(
                    pointer,
                    format!("{field}.{key}"),
                    format!("`{}` is not a JSON pointer (`/a/b`)", pointer.value),
                ));
            }
        }
        if rule.claim.value.is_empty() {
            ok = false;
            errors.push(yaml_error(
                &rule.claim,
                format!("{field}.claim"),
                "must name a claim".to_owned(),
            ));
        }
        let filter = match &rule.mismatch {
            None => true,
            Some(m) if m.value == "filter" => true,
            Some(m) if m.value == "refuse" => false,
            Some(m) => {
                ok = false;
                errors.push(yaml_error(
                    m,
                    format!("{field}.mismatch"),
                    format!(
                        "unknown mismatch `{}`: expected `filter` or `refuse`",
                        m.value
                    ),
                ));
                true
            }
        };
        if ok {
            let owner = ResponseOwner {
                items: rule.items.as_ref().map(|i| i.value.clone()),
                pointer: rule.pointer.value.clone(),
                claim: rule.claim.value.clone(),
                filter,
            };
            out.insert(name.clone(), Arc::new(owner));
        }
    }
    out
}

/// `principal_attributes`: optional principal attributes of the declared types.
fn declare_claims(raw: &RawAuthorization, model: &mut Model, errors: &mut Vec<Error>) {
    for (name, ty) in &raw.principal_attributes {
        let field = format!("authorization.principal_attributes.{name}");
        if PRINCIPAL_BASE.iter().any(|(base, _, _)| base == name) {
            errors.push(yaml_error(
                ty,
                field,
                format!("`{name}` is a built-in principal attribute"),
            ));
            continue;
        }
        match AttrType::parse(&ty.value) {
            Some(parsed) => {
                model.claims.insert(name.clone(), parsed);
            }
            None => errors.push(yaml_error(
                ty,
                field,
                format!(
                    "unknown type `{}`: expected String, Long, Bool, Set<String> or Set<Long>",
                    ty.value
                ),
            )),
        }
    }
}

/// `context_headers`: lower-cased, each a valid header name.
fn declare_headers(raw: &RawAuthorization, model: &mut Model, errors: &mut Vec<Error>) {
    for (j, header) in raw.context_headers.iter().enumerate() {
        let name = header.value.to_ascii_lowercase();
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            errors.push(yaml_error(
                header,
                format!("authorization.context_headers[{j}]"),
                format!("`{}` is not a valid header name", header.value),
            ));
        } else if !model.headers.contains(&name) {
            model.headers.push(name);
        }
    }
}

/// `operations.<name>`: its query, body and static resource attributes.
fn declare_operation(
    name: &str,
    operation: &RawOperation,
    spec: &Spec,
    model: &mut Model,
    errors: &mut Vec<Error>,
) {
    let field = format!("authorization.operations.{name}");
    let Some(i) = model.position(name) else {
        let anchor = operation
            .query
            .iter()
            .map(load::yaml_position)
            .chain(operation.body.values().map(load::yaml_position))
            .chain(operation.attributes.values().map(load::yaml_position))
            .chain(
                operation
                    .response_owner
                    .iter()
                    .map(|r| load::yaml_position(&r.pointer)),
            )
            .find(|(line, _)| line.is_some());
        let (line, column) = anchor.unwrap_or((None, None));
        errors.push(Error {
            file: None,
            line,
            column,
            field,
            message: format!("`{name}` is not an operationId of the spec"),
        });
        return;
    };
    for (j, query) in operation.query.iter().enumerate() {
        if let Err(message) = model.ensure_query(spec, i, &query.value) {
            errors.push(yaml_error(query, format!("{field}.query[{j}]"), message));
        }
    }
    for (attr, pointer) in &operation.body {
        let at = format!("{field}.body.{attr}");
        if pointer_tokens(&pointer.value).is_none() {
            errors.push(yaml_error(
                pointer,
                at,
                format!("`{}` is not a JSON pointer (`/a/b`)", pointer.value),
            ));
            continue;
        }
        let added = model.operations[i].add_attr(ResourceAttr {
            name: attr.clone(),
            ty: body_type(spec, &spec.operations[i], &pointer.value),
            required: false,
            source: Source::Body(pointer.value.clone()),
        });
        if let Err(message) = added {
            errors.push(yaml_error(pointer, at, message));
        }
    }
    for (attr, value) in &operation.attributes {
        let at = format!("{field}.attributes.{attr}");
        let Some(ty) = static_type(&value.value) else {
            errors.push(yaml_error(
                value,
                at,
                "a static attribute must be a string, an integer, a boolean, or a non-empty \
                 list of one of those"
                    .to_owned(),
            ));
            continue;
        };
        let added = model.operations[i].add_attr(ResourceAttr {
            name: attr.clone(),
            ty,
            required: true,
            source: Source::Static(value.value.clone()),
        });
        if let Err(message) = added {
            errors.push(yaml_error(value, at, message));
        }
    }
}

/// The Cedar type of a static attribute's value.
fn static_type(value: &Value) -> Option<AttrType> {
    match value {
        Value::String(_) => Some(AttrType::String),
        Value::Bool(_) => Some(AttrType::Bool),
        Value::Number(n) => n.as_i64().map(|_| AttrType::Long),
        Value::Array(items) if !items.is_empty() => {
            if items.iter().all(Value::is_string) {
                Some(AttrType::SetString)
            } else if items.iter().all(|i| i.as_i64().is_some()) {
                Some(AttrType::SetLong)
            } else if items.iter().all(Value::is_boolean) {
                Some(AttrType::SetBool)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The validator's schema and its Cedar-syntax text.
fn schema(model: &Model, errors: &mut Vec<Error>) -> Option<(Schema, String)> {
    let text = model.schema_text();
    match Schema::from_cedarschema_str(&text) {
        Ok((schema, _warnings)) => Some((schema, text)),
        // Only reachable through a bug in the schema generator.
        Err(e) => {
            errors.push(Error {
                file: None,
                line: None,
                column: None,
                field: "authorization".to_owned(),
                message: format!("internal error: the generated Cedar schema is invalid: {e}"),
            });
            None
        }
    }
}

/// All policies in one set; a duplicate id is an error at its second use.
fn policy_set(loaded: &[Loaded], errors: &mut Vec<Error>) -> Option<PolicySet> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut set = PolicySet::new();
    let mut ok = true;
    for (n, policy) in loaded.iter().enumerate() {
        if let Some(first) = seen.insert(&policy.id, n) {
            ok = false;
            errors.push(policy.error_at(
                None,
                format!(
                    "the id is already used by another policy ({}); give each policy its own \
                     `@id` or its own line",
                    loaded[first].origin.describe()
                ),
            ));
            continue;
        }
        if let Err(e) = set.add(policy.policy.clone()) {
            ok = false;
            errors.push(policy.error_at(None, e.to_string()));
        }
    }
    ok.then_some(set)
}

/// Strict validation of the whole set against the schema.
///
/// Cedar checks a policy once per principal type, so one mistake can come
/// back five times; those are merged into one error naming the types.
fn validate(schema: &Schema, set: &PolicySet, loaded: &[Loaded], errors: &mut Vec<Error>) {
    let by_id: HashMap<&str, &Loaded> = loaded.iter().map(|l| (l.id.as_str(), l)).collect();
    let result = Validator::new(schema.clone()).validate(set, ValidationMode::Strict);
    // (policy, error with the principal type blanked) → its principal types.
    let mut merged: Vec<(Error, String, Vec<&str>)> = Vec::new();
    for e in result.validation_errors() {
        let Some(policy) = by_id.get(AsRef::<str>::as_ref(e.policy_id())) else {
            continue;
        };
        let error = policy.error(e);
        let ty = PRINCIPAL_TYPES
            .into_iter()
            .find(|t| error.message.contains(&format!("`{t}`")));
        let key = ty.map_or_else(
            || error.message.clone(),
            |t| error.message.replace(&format!("`{t}`"), "`{principal}`"),
        );
        let same = merged.iter_mut().find(|(kept, k, _)| {
            *k == key
                && (&kept.file, kept.line, kept.column) == (&error.file, error.line, error.column)
        });
        match (same, ty) {
            (Some((_, _, types)), Some(t)) => types.push(t),
            (Some(_), None) => {}
            (None, _) => merged.push((error, key, ty.into_iter().collect())),
        }
    }
    for (mut error, key, types) in merged {
        if types.len() > 1 {
            let list: Vec<String> = PRINCIPAL_TYPES
                .iter()
                .filter(|t| types.contains(t))
                .map(|t| format!("`{t}`"))
                .collect();
            error.message = key
                .replace("entity type `{principal}`", "entity types `{principal}`")
                .replace("`{principal}`", &list.join(", "));
        }
        errors.push(error);
    }
}
