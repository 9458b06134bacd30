use std::path::Path;

use super::*;

const BASE: &str = r#"spin_manifest_version = 2

[application]
name = "ocomms"

[variables]
jwt_secret = { required = true, secret = true }
rooms_url = { default = "http://rooms.internal" }
db_user = { default = "ocomms" }

[[trigger.http]]
route = "/api/..."
component = "api"

[component.api]
source = "api.wasm"
allowed_outbound_hosts = ["http://rooms.internal", "postgres://localhost"]

[component.api.variables]
jwt_secret = "{{ jwt_secret }}"
rooms = "{{rooms_url}}"
dsn = "postgres://{{ db_user }}:{{jwt_secret}}@localhost/ocomms"
literal = "no templates here"
"#;

fn base() -> Manifest {
    parse(BASE, Path::new("/app")).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> ManifestError {
    match parse(text, Path::new("/app")) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn template_parsing() {
    let t = Template::parse("a{{ x }}b{{y2}}{{  z  }}").expect("valid");
    assert_eq!(
        t.parts(),
        &[
            TemplatePart::Literal("a".into()),
            TemplatePart::Variable("x".into()),
            TemplatePart::Literal("b".into()),
            TemplatePart::Variable("y2".into()),
            TemplatePart::Variable("z".into()),
        ]
    );
    assert_eq!(t.variables().collect::<Vec<_>>(), ["x", "y2", "z"]);
    assert_eq!(t.as_str(), "a{{ x }}b{{y2}}{{  z  }}");

    let plain = Template::parse("just text }} here").expect("valid");
    assert_eq!(plain.parts(), &[TemplatePart::Literal("just text }} here".into())]);
    assert_eq!(Template::parse("").expect("valid").parts(), &[]);

    assert!(Template::parse("{{ x").is_err());
    assert!(Template::parse("{{ }}").is_err());
    assert!(Template::parse("{{ Bad }}").is_err());
    assert!(Template::parse("{{ a b }}").is_err());
}

#[test]
fn template_rendering() {
    let t = Template::parse("postgres://{{ user }}:{{pass}}@db/{{ user }}").expect("valid");
    let rendered: Result<String, ()> = t.render(|name| {
        Ok(match name {
            "user" => "ocomms".to_string(),
            _ => "s3cret".to_string(),
        })
    });
    assert_eq!(rendered, Ok("postgres://ocomms:s3cret@db/ocomms".to_string()));

    let failed: Result<String, String> = t.render(|name| Err(name.to_string()));
    assert_eq!(failed, Err("user".to_string()));
}

#[test]
fn resolve_variables_uses_provided_then_defaults() {
    let m = base();
    let provided = |name: &str| match name {
        "jwt_secret" => Some("s3cret".to_string()),
        _ => None,
    };
    let vars = m.resolve_variables("api", &provided).expect("resolves");
    assert_eq!(vars["jwt_secret"], "s3cret");
    assert_eq!(vars["rooms"], "http://rooms.internal");
    assert_eq!(vars["dsn"], "postgres://ocomms:s3cret@localhost/ocomms");
    assert_eq!(vars["literal"], "no templates here");
    assert_eq!(vars.len(), 4);

    let overridden = |name: &str| Some(format!("<{name}>"));
    let vars = m.resolve_variables("api", &overridden).expect("resolves");
    assert_eq!(vars["rooms"], "<rooms_url>");
}

#[test]
fn resolve_variables_missing_required() {
    let m = base();
    let e = m.resolve_variables("api", &|_| None).expect_err("jwt_secret is required");
    assert_eq!(e.kind, ErrorKind::MissingVariable);
    assert_eq!(
        e.to_string(),
        "variables.jwt_secret: required variable `jwt_secret` has no value; set \
         SPIN_VARIABLE_JWT_SECRET or provide it in the host configuration"
    );

    let e = m.resolve_variables("nope", &|_| None).expect_err("unknown component");
    assert_eq!(e.kind, ErrorKind::UnknownComponent);
}

#[test]
fn env_variable_names() {
    assert_eq!(env_variable_name("jwt_secret"), "SPIN_VARIABLE_JWT_SECRET");
}

#[test]
fn component_source_resolution() {
    let m = base();
    assert_eq!(m.component_source("api"), Some(Path::new("/app/api.wasm").to_path_buf()));
    assert_eq!(m.component_source("nope"), None);

    let abs = BASE.replace("source = \"api.wasm\"", "source = \"/opt/api.wasm\"");
    let m = parse(&abs, Path::new("/app")).expect("parses");
    assert_eq!(m.component_source("api"), Some(Path::new("/opt/api.wasm").to_path_buf()));
}

#[test]
fn parsed_shape() {
    let m = base();
    assert_eq!(m.dir, Path::new("/app"));
    assert_eq!(m.triggers, vec![HttpTrigger { route: Route::Prefix("/api".into()), component: "api".into() }]);
    assert!(m.variables["jwt_secret"].required);
    assert!(m.variables["jwt_secret"].secret);
    assert_eq!(m.variables["rooms_url"].default.as_deref(), Some("http://rooms.internal"));
    let api = &m.components["api"];
    assert_eq!(api.allowed_outbound_hosts.len(), 2);
    let hosts = m.resolve_allowed_hosts("api", &|_| None).expect("literal entries need no variables");
    assert!(hosts.entries()[1].allows("postgres", "localhost", Some(5432)));
    assert!(hosts.allows("http", "rooms.internal", None));
    assert_eq!(route(&m.triggers, "/api/x").map(|t| t.component.as_str()), Some("api"));
    assert!(route(&m.triggers, "/").is_none());
}

#[test]
fn locations_are_one_based_lines_and_columns() {
    let text = "a = 1\nbb = \"é\" x\n";
    assert_eq!(Location::from_offset(text, 0), Location { line: 1, column: 1 });
    assert_eq!(Location::from_offset(text, 6), Location { line: 2, column: 1 });
    // Columns count characters: `x` follows the two-byte `é`.
    let x = text.find(" x").expect("x") + 1;
    assert_eq!(Location::from_offset(text, x), Location { line: 2, column: 10 });
    assert_eq!(Location::from_offset(text, 1000), Location { line: 3, column: 1 });
}

#[test]
fn field_paths_display() {
    let p = FieldPath::root().key("component").key("api").key("allowed_outbound_hosts").index(1);
    assert_eq!(p.to_string(), "component.api.allowed_outbound_hosts[1]");
    assert_eq!(FieldPath::root().key("environment").key("MY.KEY").to_string(), "environment.\"MY.KEY\"");
}

#[test]
fn serde_errors_carry_path_and_location() {
    // An unknown field inside an inline table in an array of tables.
    let text =
        BASE.replace("component = \"api\"\n", "component = \"api\"\nexecutor = { type = \"spin\", argv = \"x\" }\n");
    let e = parse_err(&text);
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.field.to_string(), "trigger.http[0].executor.argv");
    assert_eq!(e.location.map(|l| l.line), Some(14));

    // A wrong type for an array element.
    let text = BASE.replace("\"postgres://localhost\"]", "42]");
    let e = parse_err(&text);
    assert_eq!(e.kind, ErrorKind::Schema);
    assert_eq!(e.field.to_string(), "component.api.allowed_outbound_hosts[1]");
    assert_eq!(e.location.map(|l| l.line), Some(17));

    // A missing field in an array-of-tables element points at its header.
    let text = BASE.replace("component = \"api\"\n", "");
    let e = parse_err(&text);
    assert_eq!(e.field.to_string(), "trigger.http[0]");
    assert_eq!(e.reason, "missing field `component`");
    assert_eq!(e.location.map(|l| l.line), Some(11));

    // A missing top-level table.
    let e = parse_err("spin_manifest_version = 2\n");
    assert!(e.field.is_root());
    assert_eq!(e.reason, "missing field `application`");
}

#[test]
fn executor_rules() {
    let with = |executor: &str| {
        BASE.replace("component = \"api\"\n", &format!("component = \"api\"\nexecutor = {executor}\n"))
    };
    assert!(parse(&with("{ type = \"spin\" }"), Path::new("/app")).is_ok());
    let e = parse_err(&with("{ type = \"wagi\" }"));
    assert_eq!(e.field.to_string(), "trigger.http[0].executor.type");
    assert!(e.reason.contains("`wagi` executor is not supported"), "{e}");
}

#[test]
fn private_routes() {
    let text = BASE.replace("route = \"/api/...\"", "route = { private = true }");
    let m = parse(&text, Path::new("/app")).expect("parses");
    assert_eq!(m.triggers[0].route, Route::Private);
    assert!(route(&m.triggers, "/api").is_none());

    let text = BASE.replace("route = \"/api/...\"", "route = { private = false }");
    assert_eq!(parse_err(&text).field.to_string(), "trigger.http[0].route");
    let text = BASE.replace("route = \"/api/...\"", "route = { public = true }");
    assert_eq!(parse_err(&text).reason, "unknown field `public`, expected `private`");
}

#[test]
fn variables_need_required_or_default() {
    let text = BASE.replace("db_user = { default = \"ocomms\" }", "db_user = { secret = true }");
    let e = parse_err(&text);
    assert_eq!(e.field.to_string(), "variables.db_user");
    assert_eq!(e.location.map(|l| l.line), Some(9));
}

#[test]
fn v1_manifests_get_one_clear_error() {
    let e = parse_err("spin_version = \"1\"\nname = \"x\"\ntrigger = { type = \"http\" }\n");
    assert!(e.reason.contains("Spin manifest version 1"), "{e}");
    let e = parse_err("spin_manifest_version = \"1\"\n");
    assert_eq!(
        e.to_string(),
        "line 1, column 1: spin_manifest_version: unsupported manifest version \"1\"; wasm-host \
         reads only `spin_manifest_version = 2`"
    );
}

#[test]
fn load_reports_the_file() {
    let missing = Path::new("/definitely/not/here/spin.toml");
    let e = load(missing).expect_err("no such file");
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.to_string().starts_with("/definitely/not/here/spin.toml: cannot read the manifest"));

    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifest-ui");
    let m = load(&ui.join("valid.toml")).expect("valid.toml loads");
    assert_eq!(m.dir, ui);
    let e = load(&ui.join("wrong-version.toml")).expect_err("invalid");
    assert!(e.to_string().starts_with(&format!("{}: line ", ui.join("wrong-version.toml").display())));
}

#[test]
fn typed_errors_are_the_source() {
    use std::error::Error as _;

    // An id error: the reason gives the context, the source says what is wrong.
    let e = parse_err(&BASE.replace("component.api", "component.rooms_api"));
    assert_eq!(e.reason, "invalid component id `rooms_api`");
    let id = e.source().and_then(|s| s.downcast_ref::<Cause>());
    assert!(matches!(id, Some(Cause::Id(IdError::WrongDelimiter { expected: '-', found: '_' }))), "{e:?}");

    // A route error says it all; the error itself only locates it.
    let e = parse_err(&BASE.replace("route = \"/api/...\"", "route = \"/users/:id/:id\""));
    assert_eq!(e.reason, "");
    assert_eq!(e.to_string(), "line 12, column 1: trigger.http[0].route");
    assert!(
        matches!(e.source.as_deref(), Some(Cause::Route(RouteError::Parameter(r))) if r == "/users/:id/:id"),
        "{e:?}"
    );

    // A template error keeps the id error behind it: three levels.
    let e = parse_err(&BASE.replace("rooms = \"{{rooms_url}}\"", "rooms = \"{{ Rooms }}\""));
    assert_eq!(
        error::report(&e),
        "line 21, column 1: component.api.variables.rooms: invalid variable reference `{{ Rooms }}` in template \
         \"{{ Rooms }}\": '_'-separated words must be all lower-case or all upper-case; got \"Rooms\""
    );
    let Some(Cause::Template(TemplateError::InvalidReference { name, source, .. })) = e.source.as_deref() else {
        panic!("expected a template error: {e:?}");
    };
    assert_eq!(name, "Rooms");
    assert_eq!(*source, IdError::MixedCase { delim: '_', word: "Rooms".into() });

    // Store labels and variable names.
    let e = parse_err(&BASE.replace("source = \"api.wasm\"", "source = \"api.wasm\"\nkey_value_stores = [\"a-b\"]"));
    assert_eq!(e.field.to_string(), "component.api.key_value_stores[0]");
    assert!(
        matches!(e.source.as_deref(), Some(Cause::Id(IdError::WrongDelimiter { expected: '_', found: '-' }))),
        "{e:?}"
    );
    let e = parse_err(&BASE.replace("literal = ", "Literal = "));
    assert_eq!(e.reason, "invalid variable name");
    assert!(matches!(e.source.as_deref(), Some(Cause::Id(IdError::MixedCase { .. }))), "{e:?}");
}

#[test]
fn io_errors_are_the_source() {
    let e = load(Path::new("/definitely/not/here/spin.toml")).expect_err("no such file");
    assert_eq!(e.to_string(), "/definitely/not/here/spin.toml: cannot read the manifest");
    let Some(Cause::Io(io)) = e.source.as_deref() else { panic!("expected an io error: {e:?}") };
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(error::report(&e).starts_with("/definitely/not/here/spin.toml: cannot read the manifest: "));
}
