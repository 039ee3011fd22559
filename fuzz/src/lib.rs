//! Helpers shared by the fuzz targets (one binary each under `fuzz_targets/`).
//!
//! The detector targets all check the same properties, so they live here once:
//! a target per detector only picks which detector it drives, and the fuzz
//! script can then report executions and findings per detector.

use std::borrow::Cow;

use portcullis_inspect::{Detector, DetectorSet, Inspector, Place, Sensitivity, Settings};

/// Every place a value can be found, each decoded differently.
pub const PLACES: [Place; 9] = [
    Place::Path,
    Place::Query,
    Place::Form,
    Place::Header,
    Place::Cookie,
    Place::Json,
    Place::JsonKey,
    Place::Xml,
    Place::Multipart,
];

/// Every sensitivity, from the least to the most eager.
pub const LEVELS: [Sensitivity; 3] = [Sensitivity::Low, Sensitivity::Medium, Sensitivity::High];

/// The fuzz input as text: request values reach the inspector as `&str`, so
/// invalid UTF-8 is replaced rather than discarded (the mutator's byte-level
/// changes still reach the detectors).
pub fn text(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// An inspector running only `d` at `level`.
pub fn only(d: Detector, level: Sensitivity) -> Inspector {
    Inspector::new(Settings {
        sensitivity: level,
        detectors: DetectorSet::NONE.with(d),
    })
}

/// Drives one detector on `raw` in every place and at every sensitivity:
/// never panics, answers only with itself, answers the same twice, and a
/// finding at a lower sensitivity is still a finding at a higher one (`Low`
/// keeps only high-confidence patterns, `High` adds weaker signals).
pub fn check_detector(d: Detector, data: &[u8]) {
    let raw = text(data);
    let inspectors = LEVELS.map(|level| only(d, level));
    for place in PLACES {
        let mut fired_below: Option<Sensitivity> = None;
        for (inspector, level) in inspectors.iter().zip(LEVELS) {
            let got = inspector.value(&raw, place);
            assert!(
                got.is_none() || got == Some(d),
                "{d} alone answered {got:?}"
            );
            assert_eq!(
                got,
                inspector.value(&raw, place),
                "{d} not deterministic at {place:?}"
            );
            if let Some(lower) = fired_below {
                assert!(
                    got.is_some(),
                    "{d} fired at {lower:?} but not at {level:?} ({place:?}) on {raw:?}"
                );
            }
            if got.is_some() && fired_below.is_none() {
                fired_below = Some(level);
            }
        }
    }
    for inspector in &inspectors {
        let got = inspector.key(&raw);
        assert!(
            got.is_none() || got == Some(d),
            "{d} alone answered {got:?} for a key"
        );
        assert_eq!(got, inspector.key(&raw), "{d} not deterministic on a key");
    }
}

/// The spec the `params` and `json_body` targets validate against: parameters
/// of every `style` × `explode` the locations allow, typed as strings,
/// integers, arrays and objects, and request bodies of every parsed media type.
pub const SPEC: &str = r##"
openapi: 3.1.0
info: { title: fuzz, version: "1" }
components:
  schemas:
    obj:
      type: object
      properties:
        r: { type: integer, minimum: 0, maximum: 255 }
        g: { type: string, maxLength: 8 }
        b: { type: boolean }
    arr: { type: array, items: { type: integer }, maxItems: 5 }
    sarr: { type: array, items: { type: string, pattern: "^[a-z]+$" } }
    item:
      type: object
      required: [name]
      additionalProperties: false
      properties:
        name: { type: string, minLength: 1, maxLength: 32 }
        qty: { type: integer, minimum: 1 }
        price: { type: number, exclusiveMinimum: 0 }
        tags: { type: array, items: { type: string }, uniqueItems: true }
        kind: { enum: [a, b, c] }
        id: { type: string, format: uuid }
        at: { type: string, format: date-time }
        mail: { type: string, format: email }
        meta: { type: object, additionalProperties: { type: string } }
        next: { $ref: "#/components/schemas/item" }
        either: { oneOf: [ { type: integer }, { type: string, maxLength: 3 } ] }
        maybe: { type: [string, "null"] }
paths:
  /p/{s}/{i}/{a}/{ae}/{o}/{oe}/{la}/{lo}/{ma}/{mo}/{mae}/{moe}:
    parameters:
      - { name: s, in: path, required: true, schema: { type: string, maxLength: 16 } }
      - { name: i, in: path, required: true, schema: { type: integer, minimum: 1 } }
      - { name: a, in: path, required: true, style: simple, explode: false, schema: { $ref: "#/components/schemas/arr" } }
      - { name: ae, in: path, required: true, style: simple, explode: true, schema: { $ref: "#/components/schemas/sarr" } }
      - { name: o, in: path, required: true, style: simple, explode: false, schema: { $ref: "#/components/schemas/obj" } }
      - { name: oe, in: path, required: true, style: simple, explode: true, schema: { $ref: "#/components/schemas/obj" } }
      - { name: la, in: path, required: true, style: label, explode: true, schema: { $ref: "#/components/schemas/arr" } }
      - { name: lo, in: path, required: true, style: label, explode: false, schema: { $ref: "#/components/schemas/obj" } }
      - { name: ma, in: path, required: true, style: matrix, explode: false, schema: { $ref: "#/components/schemas/arr" } }
      - { name: mo, in: path, required: true, style: matrix, explode: false, schema: { $ref: "#/components/schemas/obj" } }
      - { name: mae, in: path, required: true, style: matrix, explode: true, schema: { $ref: "#/components/schemas/sarr" } }
      - { name: moe, in: path, required: true, style: matrix, explode: true, schema: { $ref: "#/components/schemas/obj" } }
    get:
      operationId: params
      parameters:
        - { name: q, in: query, schema: { type: string, pattern: "^[a-z0-9 ]*$" } }
        - { name: n, in: query, schema: { type: integer, minimum: -5, maximum: 5 } }
        - { name: f, in: query, schema: { type: number } }
        - { name: t, in: query, schema: { type: boolean } }
        - { name: fa, in: query, style: form, explode: true, schema: { $ref: "#/components/schemas/arr" } }
        - { name: fan, in: query, style: form, explode: false, schema: { $ref: "#/components/schemas/sarr" } }
        - { name: fon, in: query, style: form, explode: false, schema: { $ref: "#/components/schemas/obj" } }
        - { name: sd, in: query, style: spaceDelimited, explode: false, schema: { $ref: "#/components/schemas/arr" } }
        - { name: pd, in: query, style: pipeDelimited, explode: false, schema: { $ref: "#/components/schemas/sarr" } }
        - { name: deep, in: query, style: deepObject, explode: true, schema: { $ref: "#/components/schemas/obj" } }
        - { name: js, in: query, content: { application/json: { schema: { $ref: "#/components/schemas/item" } } } }
        - { name: X-Int, in: header, schema: { type: integer } }
        - { name: X-Arr, in: header, style: simple, explode: false, schema: { $ref: "#/components/schemas/arr" } }
        - { name: X-Obj, in: header, style: simple, explode: true, schema: { $ref: "#/components/schemas/obj" } }
        - { name: X-Str, in: header, schema: { type: string, enum: [one, two] } }
        - { name: c, in: cookie, schema: { type: string, maxLength: 12 } }
        - { name: ci, in: cookie, schema: { type: integer } }
        - { name: ca, in: cookie, style: form, explode: false, schema: { $ref: "#/components/schemas/arr" } }
        - { name: co, in: cookie, style: form, explode: false, schema: { $ref: "#/components/schemas/obj" } }
      responses: { "200": { description: ok } }
  /b:
    post:
      operationId: body
      requestBody:
        required: true
        content:
          application/json: { schema: { $ref: "#/components/schemas/item" } }
          application/vnd.fuzz+json: { schema: { type: array, items: { $ref: "#/components/schemas/item" } } }
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                name: { type: string }
                qty: { type: integer }
                ok: { type: boolean }
                tags: { type: array, items: { type: string } }
                obj: { $ref: "#/components/schemas/obj" }
          multipart/form-data:
            schema:
              type: object
              properties:
                name: { type: string, maxLength: 20 }
                qty: { type: integer }
                file: { type: string, format: binary }
                meta: { $ref: "#/components/schemas/obj" }
                list: { type: array, items: { type: integer } }
          text/*: { schema: { type: string } }
      responses: { "200": { description: ok } }
"##;

/// The operation `operation_id` of [`SPEC`], compiled with `options`.
pub fn contract(
    operation_id: &str,
    options: &portcullis_openapi::validate::Options,
) -> portcullis_openapi::validate::Contract {
    let spec = portcullis_openapi::parse(SPEC, std::path::Path::new("fuzz.yaml"))
        .expect("the fuzz spec loads");
    let op = spec
        .operations
        .iter()
        .find(|op| op.operation_id.as_deref() == Some(operation_id))
        .expect("the operation is in the fuzz spec");
    portcullis_openapi::validate::Contract::compile(&spec, op, options)
        .expect("the fuzz spec compiles")
}
