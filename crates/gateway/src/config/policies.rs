//! One API's authorization policies loaded on their own (for `portcullis policy
//! test`): the config is parsed, but secrets, certificates and upstreams are not
//! resolved, so the tests run without the deployment's environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portcullis_openapi::Spec;
use portcullis_policy::Policies;

use super::raw::RawApi;
use super::{ConfigError, ConfigErrors};

/// An API's compiled policies and what a test needs to build its requests.
#[derive(Debug, Clone)]
pub struct ApiPolicies {
    /// The API's OpenAPI document (its operations are the policies' actions).
    pub spec: Arc<Spec>,
    /// Prefix under which the spec's paths are served (`` or `/bank`).
    pub base_path: String,
    /// The compiled policies, exactly as the gateway would run them.
    pub policies: Arc<Policies>,
}

/// Reads the gateway config at `config`, finds the API named `api`, loads its
/// spec and compiles its `authorization:` section. Every problem names the
/// file, line and field, as `config::load` does.
pub fn load_policies(config: &Path, api: &str) -> Result<ApiPolicies, ConfigErrors> {
    let text = std::fs::read_to_string(config).map_err(|e| {
        ConfigError::at(
            config,
            None,
            "",
            format!("cannot read the config file: {e}"),
        )
    })?;
    let raw = super::parse_raw(&text, config)?;
    let Some((i, found)) = raw
        .apis
        .iter()
        .enumerate()
        .find(|(_, a)| a.name.value == api)
    else {
        let names: Vec<&str> = raw.apis.iter().map(|a| a.name.value.as_str()).collect();
        return Err(ConfigError::at(
            config,
            None,
            "apis",
            format!(
                "no API named `{api}` (the config has: {})",
                names.join(", ")
            ),
        )
        .into());
    };
    compile(config, i, found)
}

/// A policy problem as a config error: in the policy file it names, or else in
/// the config file, under the API's `field`.
pub(super) fn config_error(config: &Path, field: &str, e: portcullis_policy::Error) -> ConfigError {
    ConfigError {
        file: e.file.unwrap_or_else(|| config.to_path_buf()),
        line: e.line,
        column: e.column,
        field: format!("{field}.{}", e.field),
        message: e.message,
    }
}

/// The spec and the compiled policies of `apis[i]`.
fn compile(config: &Path, i: usize, api: &RawApi) -> Result<ApiPolicies, ConfigErrors> {
    let field = format!("apis[{i}]");
    let name = &api.name;
    let Some(raw) = &api.authorization else {
        return Err(ConfigError::at(
            config,
            Some(name.referenced),
            format!("{field}.authorization"),
            format!("API `{}` has no authorization policies", name.value),
        )
        .into());
    };
    let Some(spec_path) = api.spec.as_ref().filter(|_| api.without_spec != Some(true)) else {
        return Err(ConfigError::at(
            config,
            Some(name.referenced),
            format!("{field}.spec"),
            "authorization needs the API's spec (its operations are the policies' actions)",
        )
        .into());
    };
    let base = config.parent().map(Path::to_path_buf).unwrap_or_default();
    let spec = portcullis_openapi::load(&base.join(&spec_path.value)).map_err(|e| {
        ConfigError::at(
            config,
            Some(spec_path.referenced),
            format!("{field}.spec"),
            e.to_string(),
        )
    })?;
    let mut resolve = |rel: &str| -> PathBuf { base.join(rel) };
    let policies = Policies::compile(raw, &spec, &mut resolve).map_err(|errors| {
        ConfigErrors(
            errors
                .into_iter()
                .map(|e| config_error(config, &field, e))
                .collect(),
        )
    })?;
    let base_path = match &api.base_path {
        None => String::new(),
        Some(b) => super::build::canonical_base_path(&b.value).map_err(|e| {
            ConfigError::at(config, Some(b.referenced), format!("{field}.base_path"), e)
        })?,
    };
    Ok(ApiPolicies {
        spec: Arc::new(spec),
        base_path,
        policies: Arc::new(policies),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /items/{id}:\n    get:\n      operationId: getItem\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n      responses: {'200': {description: ok}}\n";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A config whose admin token, TLS files and upstream would all fail `load`.
    fn config(authorization: &str) -> String {
        format!(
            "listeners: [{{ address: 127.0.0.1:0, tls: {{ certificate: missing.pem, private_key: missing.key }} }}]\nadmin: {{ address: 0.0.0.0:9901, token: env:PORTCULLIS_TEST_UNSET_TOKEN }}\nupstreams: {{ u: {{ targets: [not-a-url] }} }}\napis:\n  - name: other\n    spec: spec.yaml\n    upstream: u\n  - name: items\n    base_path: /shop/\n    spec: spec.yaml\n    upstream: u\n{authorization}"
        )
    }

    #[test]
    fn loads_without_secrets_certificates_or_upstreams() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "spec.yaml", SPEC);
        write(
            dir.path(),
            "p.cedar",
            "@id(\"all\")\npermit(principal, action, resource);\n",
        );
        let path = write(
            dir.path(),
            "portcullis.yaml",
            &config("    authorization: { policies: [p.cedar] }\n"),
        );
        let loaded = load_policies(&path, "items").unwrap();
        assert_eq!(loaded.base_path, "/shop");
        assert_eq!(loaded.spec.operations.len(), 1);
        assert_eq!(loaded.policies.files(), [dir.path().join("p.cedar")]);
    }

    #[test]
    fn errors_name_the_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "spec.yaml", SPEC);
        let path = write(dir.path(), "portcullis.yaml", &config(""));
        let errors = load_policies(&path, "items").unwrap_err().0;
        assert_eq!(errors[0].field, "apis[1].authorization");
        assert_eq!(errors[0].line, Some(8));
        assert!(errors[0].message.contains("has no authorization policies"));

        let errors = load_policies(&path, "nope").unwrap_err().0;
        assert!(
            errors[0].message.contains("no API named `nope`"),
            "{errors:?}"
        );

        let path = write(
            dir.path(),
            "portcullis.yaml",
            &config("    authorization: { allow: [getItemz] }\n"),
        );
        let errors = load_policies(&path, "items").unwrap_err().0;
        assert_eq!(errors[0].file, path);
        assert_eq!(errors[0].field, "apis[1].authorization.allow[0]");
        assert_eq!(errors[0].line, Some(12));

        let path = write(
            dir.path(),
            "portcullis.yaml",
            "apis: [ {name: x, bogus: 1} ]\n",
        );
        let errors = load_policies(&path, "x").unwrap_err().0;
        assert_eq!(errors[0].line, Some(1), "{errors:?}");
    }
}
