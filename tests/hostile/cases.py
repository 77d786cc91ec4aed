"""The hostile-input corpus: one small dict per case, run through the real CLI by test_hostile.py.

Keys (all optional except id, exit and message):
  id         pytest id; the prefix before the first "-" is the category
  args       CLI arguments (default: spinup --branch feature/hostile); "$dir" is the case's directory
  branch     shorthand for args = ["spinup", "--branch", branch]
  baseline   (old, new) replacements in the example's production.tfvars, or ("+", text) to append,
             or {"name": ..., "text"/"bytes"/"big": ...} for a file of its own
  overrides  the same, for the example's staging.overrides.toml
  files      {name: text | bytes | BIG(n)} written into the case directory
  config     Template values for tests/hostile/test_hostile.py:CONFIG (project_extra, backend, ...),
             or {"text": ...} for a whole config file, or {"path": ...} for --config
  env        extra environment variables
  exit       expected exit code
  message    fragments stderr must contain (the problem, named)
  stdout     fragments stdout must contain (for the cases that render literally)
  absent     fragments neither stream may contain (secrets, evaluated template output)
"""

from __future__ import annotations

MB = 1024 * 1024


def BIG(size: int, line: str = "x = 1\n") -> dict:  # noqa: N802  (reads like a constant in the table)
    """A file of ``size`` bytes, generated at test time into tmp_path (never committed)."""
    return {"big": size, "line": line}


APPEND = "+"
ECHO_TEMPLATE = ("+", '[overrides.health_check_path]\nrule = "template"\n'
                      'template = "/{{ branch }}|{{ owner }}"\nreason = "echo the branch and owner"\n')
DOMAIN_TABLE = ('[overrides.domain_name]\nrule = "template"\n'
                'template = "{{ stack }}.staging.acme-corp.test"\n'
                'reason = "Each stack gets its own hostname under the staging zone, never the production'
                ' one."\n')
ENV_TABLE = '[overrides.environment]\nrule = "set"\nvalue = "staging"\n'
PR_EVENT = ["pr-event", "--event-file", "$dir/event.json", "--event-name", "pull_request"]
PR = ('{"action": "opened", "number": 5, "repository": {"full_name": "acme/api"}, "pull_request": '
      '{"number": 5, "state": "open", "user": {"login": "eve"}, "head": {"ref": "x", "sha": "abc", '
      '"repo": {"full_name": "acme/api"}}, "base": {"repo": {"full_name": %s}}}}')

BRANCHES = [
    {"id": "branch-empty", "branch": "", "exit": 2, "message": ["branch name is empty"]},
    {"id": "branch-spaces", "branch": "   ", "exit": 2, "message": ["branch name is empty"]},
    {"id": "branch-newlines-tabs", "branch": "\n\t\r", "exit": 2, "message": ["branch name is empty"]},
    {"id": "branch-1025-chars", "branch": "a" * 1025, "exit": 2,
     "message": ["1025 characters", "limit is 1024"]},
    {"id": "branch-100k-chars", "branch": "b/" * 50000, "exit": 2, "message": ["limit is 1024"]},
    {"id": "branch-empty-env", "args": ["spinup"], "env": {"PROVISIONER_BRANCH": ""}, "exit": 2,
     "message": ["branch name is empty"]},
    {"id": "branch-production-identifier", "branch": "acme-prod/hotfix", "exit": 2,
     "message": ["name:", "production identifier 'acme-prod'", "another branch name"]},
    {"id": "branch-production-identifier-uppercase", "branch": "fix/ACME-PROD", "exit": 2,
     "message": ["production identifier 'acme-prod'"]},
    {"id": "branch-production-hostname", "args": ["render", "--branch", "API.acme-corp.com"], "exit": 0,
     "stdout": ['"name": "api-acme-corp-co-'],
     "absent": ["api.acme-corp.com"]},  # slugged to dashes: no longer the hostname, so allowed
    {"id": "branch-template-injection-render", "args": ["render", "--branch", "{{ 7*7 }}{% raw %}",
     "--owner", "{{ config }}"], "overrides": ECHO_TEMPLATE, "exit": 0,
     "stdout": ['"/{{ 7*7 }}{% raw %}|{{ config }}"'], "absent": ["/49|", "<Config"]},
    {"id": "branch-template-sandbox-escape-render", "args": [
        "render", "--branch", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "--owner", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"],
     "overrides": ECHO_TEMPLATE, "exit": 0,
     "stdout": ["{{ ''.__class__.__mro__[1].__subclasses__() }}|{{ cycler.__init__.__globals__.os"],
     "absent": ["uid=", "<class"]},
    {"id": "branch-template-injection-diff",
     "args": ["diff", "--branch", "{% for i in range(3) %}x{% endfor %}", "--json"],
     "overrides": ECHO_TEMPLATE, "exit": 0,
     "stdout": ["/{% for i in range(3) %}x{% endfor %}|"], "absent": ["xxx|"]},
    {"id": "branch-path-traversal", "args": ["render", "--branch", "../../../../etc/passwd"], "exit": 0,
     "stdout": ['"name": "etc-passwd-']},
    {"id": "branch-shell-metacharacters",
     "args": ["render", "--branch", "$(touch /tmp/pwned);`id`|rm -rf ~"],
     "exit": 0, "stdout": ['"name": "touch-tmp-pwned-'], "absent": ["uid="]},
    {"id": "branch-unicode-bidi-emoji", "args": ["render", "--branch", "feature/\u202eüñï🔥\u200b"],
     "exit": 0, "stdout": ['"name": "uni-']},
]

BASELINES = [
    {"id": "baseline-hcl-unterminated-string",
     "baseline": ('environment = "production"', 'environment = "prod'), "exit": 2,
     "message": ["production.tfvars", "malformed HCL at line"]},
    {"id": "baseline-hcl-block", "baseline": (APPEND, 'resource "aws_s3_bucket" "x" {}\n'), "exit": 2,
     "message": ["a variable file holds assignments, not blocks"]},
    {"id": "baseline-hcl-interpolation", "baseline": ('environment = "production"',
     'environment = "${file("/etc/passwd")}"'), "exit": 2, "message": ["environment", "interpolates"]},
    {"id": "baseline-hcl-expression", "baseline": ("az_count                = 3", "az_count = var.azs"),
     "exit": 2, "message": ["az_count", "is an expression"]},
    {"id": "baseline-hcl-assigned-twice", "baseline": (APPEND, "az_count = 4\n"), "exit": 2,
     "message": ["az_count", "assigned again"]},
    {"id": "baseline-hcl-deeply-nested", "baseline": (APPEND, "deep = " + "[" * 5000 + "]" * 5000 + "\n"),
     "exit": 2, "message": ["nested too deeply"]},
    {"id": "baseline-json-truncated",
     "baseline": {"name": "prod.tfvars.json", "text": '{"environment": "pro'}, "exit": 2,
     "message": ["prod.tfvars.json", "malformed JSON at line 1"]},
    {"id": "baseline-json-top-level-array", "baseline": {"name": "prod.tfvars.json", "text": '["a"]'},
     "exit": 2, "message": ["the top level must be an object of variables, not list"]},
    {"id": "baseline-json-duplicate-key", "baseline": {"name": "prod.tfvars.json",
     "text": '{"az_count": 2, "az_count": 3}'}, "exit": 2, "message": ["az_count", "key appears twice"]},
    {"id": "baseline-json-nan", "baseline": {"name": "prod.tfvars.json", "text": '{"az_count": NaN}'},
     "exit": 2, "message": ["NaN is not valid JSON"]},
    {"id": "baseline-json-deeply-nested", "baseline": {"name": "prod.tfvars.json",
     "text": '{"x": ' + "[" * 100000 + "]" * 100000 + "}"}, "exit": 2, "message": ["nested too deeply"]},
    {"id": "baseline-not-utf8", "baseline": {"name": "prod.tfvars", "bytes": b'environment = "\xff\xfe"\n'},
     "exit": 2, "message": ["not UTF-8 text"]},
    {"id": "baseline-50mb", "baseline": {"name": "prod.tfvars", **BIG(50 * MB)}, "exit": 2,
     "message": ["prod.tfvars", "the limit is 5242880"]},
    {"id": "baseline-is-a-directory", "files": {"dir.tfvars/keep": ""},
     "config": {"baseline": "$dir/dir.tfvars"}, "exit": 2, "message": ["dir.tfvars", "cannot read"]},
    {"id": "baseline-wrong-type-for-scale", "baseline": ("app_desired_count    = 12",
     'app_desired_count = "twelve"'), "exit": 2, "message": ["app_desired_count", "scale needs a number"]},
    {"id": "baseline-unknown-variable", "baseline": (APPEND, 'colour = "blue"\n'), "exit": 2,
     "message": ["colour", "root module declares no such variable"]},
    {"id": "baseline-sensitive-value", "baseline": (APPEND, 'third_party_api_key = "sk-live-4242"\n'),
     "exit": 2, "message": ["third_party_api_key", "is sensitive", "[secrets]"], "absent": ["sk-live-4242"]},
    {"id": "baseline-production-identifier-nested", "baseline": ('Team       = "payments-platform"',
     'Team = "payments-platform"\n  Owner = "sre@acme-prod.internal"'), "exit": 2,
     "message": ["tags", 'at tags["Owner"]', "production identifier 'acme-prod'"]},
    {"id": "baseline-production-account-in-arn", "baseline": ('"/healthz"',
     '"/arn:aws:iam::111111111111:role/x"'), "exit": 2,
     "message": ["health_check_path", "production identifier '111111111111'"]},
    {"id": "baseline-marker-without-reason", "baseline": ("app_port             = 8080",
     "# @production-only\napp_port = 8080"), "exit": 2, "message": ["app_port", "needs a reason"]},
    {"id": "baseline-marker-without-override", "baseline": ("app_port             = 8080",
     "# @production-only: the real port\napp_port = 8080"), "exit": 2,
     "message": ["app_port", "is production-only (the real port) but no override replaces it"]},
]

OVERRIDES = [
    {"id": "overrides-unknown-variable", "overrides": (APPEND, '[overrides.colour]\nrule = "set"\nvalue = 1\n'
     'reason = "r"\n'), "exit": 2, "message": ["colour", "neither the baseline nor the root module"]},
    {"id": "overrides-unknown-rule", "overrides": (ENV_TABLE, '[overrides.environment]\nrule = "multiply"\n'),
     "exit": 2, "message": ["environment", "unknown rule 'multiply'"]},
    {"id": "overrides-scale-a-string", "overrides": (ENV_TABLE,
     '[overrides.environment]\nrule = "scale"\nfactor = 2\n'), "exit": 2,
     "message": ["environment", "scale needs a number; the production value is a string"]},
    {"id": "overrides-missing-reason",
     "overrides": (APPEND, '[overrides.app_port]\nrule = "set"\nvalue = 80\n'), "exit": 2,
     "message": ["app_port", "needs a reason"]},
    {"id": "overrides-blank-reason", "overrides": (APPEND, '[overrides.app_port]\nrule = "set"\nvalue = 80\n'
     'reason = "   "\n'), "exit": 2, "message": ["app_port", "needs a reason"]},
    {"id": "overrides-set-changes-type", "overrides": ('value = 2\nreason = "Two zones', 'value = "two"\n'
     'reason = "Two zones'), "exit": 2, "message": ["az_count", "change its type from number to string"]},
    {"id": "overrides-unknown-key", "overrides": (APPEND, '[overrides.app_port]\nrule = "set"\nvalue = 80\n'
     'valeu = 81\nreason = "r"\n'), "exit": 2, "message": ["app_port", "unknown key 'valeu'"]},
    {"id": "overrides-template-syntax", "overrides": ("{{ stack }}.staging", "{{ stack .staging"), "exit": 2,
     "message": ["domain_name", "template syntax error"]},
    {"id": "overrides-template-undefined", "overrides": ("{{ stack }}.staging", "{{ secret_key }}.staging"),
     "exit": 2, "message": ["domain_name", "undefined name"]},
    {"id": "overrides-template-sandbox-escape", "overrides": ("{{ stack }}.staging",
     "{{ cycler.__init__.__globals__.os.popen('id').read() }}.staging"), "exit": 2,
     "message": ["domain_name", "sandbox forbids"], "absent": ["uid="]},
    {"id": "overrides-template-huge-output", "overrides": ("{{ stack }}.staging", "{{ 'x' * 1000000000 }}"),
     "exit": 2, "message": ["domain_name", "repetition longer than"]},
    {"id": "overrides-production-only-removed", "overrides": (DOMAIN_TABLE, ""), "exit": 2,
     "message": ["domain_name", "is production-only (the public production hostname", "no override"]},
    {"id": "overrides-production-only-kept-equal", "overrides": ('value = "acme-staging-fixtures"',
     'value = "acme-prod-customer-exports"'), "exit": 2,
     "message": ["data_source_bucket", "equals the production value"]},
    {"id": "overrides-production-identifier-in-map", "overrides": (APPEND, '[overrides.tags]\nrule = "set"\n'
     'value = { Team = "x", Owner = "api.acme-corp.com" }\nreason = "r"\n'), "exit": 2,
     "message": ["tags", 'at tags["Owner"]', "production identifier 'api.acme-corp.com'"]},
    {"id": "overrides-sensitive-variable", "overrides": (APPEND, '[overrides.third_party_api_key]\n'
     'rule = "set"\nvalue = "sk-live-777"\nreason = "r"\n'), "exit": 2,
     "message": ["third_party_api_key", "is sensitive"], "absent": ["sk-live-777"]},
    {"id": "overrides-injected-name", "overrides": (APPEND, '[overrides.name]\nrule = "set"\nvalue = "x"\n'
     'reason = "r"\n'), "exit": 2, "message": ["name", "an override must not set it too"]},
    {"id": "overrides-negative-factor", "overrides": ("factor = 0.1", "factor = -0.1"), "exit": 2,
     "message": ["app_desired_count", "must not be negative"]},
    {"id": "overrides-nan-factor", "overrides": ("factor = 0.1", "factor = nan"), "exit": 2,
     "message": ["app_desired_count", "factor must be a number"]},
    {"id": "overrides-drop-without-default", "overrides": (ENV_TABLE,
     '[overrides.environment]\nrule = "drop"\n'), "exit": 2,
     "message": ["environment", "needs a module default"]},
    {"id": "overrides-typo-top-level",
     "overrides": {"name": "ov.toml", "text": '[override.az_count]\nrule = "set"'}, "exit": 2,
     "message": ["unknown top-level key", "did you mean 'overrides'"]},
    {"id": "overrides-malformed-toml",
     "overrides": {"name": "ov.toml", "text": "[overrides.az_count\nrule = 1"}, "exit": 2,
     "message": ["ov.toml", "malformed TOML"]},
    {"id": "overrides-50mb", "overrides": {"name": "ov.toml", **BIG(50 * MB, "# padding\n")}, "exit": 2,
     "message": ["ov.toml", "the limit is 5242880"]},
]

CONFIGS = [
    {"id": "config-unknown-section", "config": {"extra": "[targte]\nregion = 'us-east-1'"}, "exit": 2,
     "message": ["targte: unknown key", "did you mean 'target'"]},
    {"id": "config-unknown-key", "config": {"backend": "buckt = 'x'"}, "exit": 2,
     "message": ["backend.buckt: unknown key", "did you mean 'bucket'"]},
    {"id": "config-wrong-type", "config": {"extra": "[stacks]\nname_limit = 'long'"}, "exit": 2,
     "message": ["stacks.name_limit", "valid integer"]},
    {"id": "config-name-limit-out-of-range", "config": {"extra": "[stacks]\nname_limit = 3"}, "exit": 2,
     "message": ["stacks.name_limit", "greater than or equal to 10"]},
    {"id": "config-health-unknown-kind", "config": {"extra": "[health.checks.web]\nkind = 'htp'\nurl = 'x'"},
     "exit": 2, "message": ["health.checks.web.kind", "unknown kind 'htp'", "did you mean 'http'"]},
    {"id": "config-health-bad-template", "config": {"extra": "[health.checks.q]\nkind = 'sqs_queue'\n"
                                                             "queue_url = '{{ outputs.queue_url'"},
     "exit": 2, "message": ["health.checks.q.queue_url", "not a valid template"]},
    {"id": "config-tests-empty-command", "config": {"extra": "[tests]\ncommand = ''"}, "exit": 2,
     "message": ["tests.command", "is empty"]},
    {"id": "config-ttl-longer-than-max", "config": {"extra": "[stacks]\ndefault_ttl = '30d'"}, "exit": 2,
     "message": ["default_ttl is longer than max_ttl"]},
    {"id": "config-key-prefix-traversal", "config": {"backend": "key_prefix = '../escape'"}, "exit": 2,
     "message": ["backend.key_prefix", "without '..'"]},
    {"id": "config-missing-baseline-file", "config": {"baseline": "$dir/missing.tfvars"}, "exit": 2,
     "message": ["project.baseline", "missing.tfvars", "does not exist"]},
    {"id": "config-missing-required-key",
     "config": {"text": "[project]\nroot_module = '/'\nbaseline = '/'\n"}, "exit": 2,
     "message": ["project.overrides", "required key is missing"]},
    {"id": "config-file-missing", "config": {"path": "$dir/nope.toml"}, "exit": 2,
     "message": ["nope.toml", "config file not found"]},
    {"id": "config-file-is-a-directory", "config": {"path": "$dir"}, "exit": 2,
     "message": ["config file not found"]},
    {"id": "config-data-unknown-key",
     "config": {"extra": "[data.customers]\nreason = 'r'\nkind = 'dynamodb'\ntarget = 'table_name'\n"
                         "source = 'synthetic'\nschema = 'x.toml'\nrowz = 5"}, "exit": 2,
     "message": ["data.customers.rowz: unknown key", "did you mean 'rows'"]},
    {"id": "config-malformed-toml", "config": {"text": "[project\nroot_module = 1"}, "exit": 2,
     "message": ["not valid TOML"]},
    {"id": "config-not-utf8", "config": {"bytes": b"[project]\nroot_module = '\xff'\n"}, "exit": 2,
     "message": ["cannot read"]},
    {"id": "config-50mb", "config": BIG(50 * MB), "exit": 2, "message": ["a config file is at most 1048576"]},
    {"id": "config-engine-not-executable", "config": {"engine": "command = '/nonexistent/terraform'"},
     "exit": 2, "message": ["engine.command", "not an executable"]},
    {"id": "config-account-id-as-number", "config": {"production": "account_ids = [111111111111]"}, "exit": 2,
     "message": ["production.account_ids", "quoted"]},
    {"id": "config-identifier-too-short", "config": {"production": "identifiers = ['a']"}, "exit": 2,
     "message": ["production.identifiers", "too short"]},
    {"id": "config-secret-literal", "config": {"extra": "[secrets]\nthird_party_api_key = 'sk-live-31337'"},
     "exit": 2, "message": ["secrets.third_party_api_key", "not a secret source"],
     "absent": ["sk-live-31337"]},
    {"id": "config-secret-unknown-variable", "config": {"extra": "[secrets]\nthird_party_api_kee = 'env:K'"},
     "exit": 2, "message": ["[secrets]: third_party_api_kee", "did you mean 'third_party_api_key'"]},
    {"id": "config-secret-env-missing",
     "config": {"extra": "[secrets]\nthird_party_api_key = 'env:HOSTILE_NO'"}, "exit": 2,
     "message": ["the environment variable HOSTILE_NO is not set"]},
    {"id": "config-secret-ssm-missing",
     "config": {"extra": "[secrets]\nthird_party_api_key = 'ssm:/no/such'"}, "exit": 2,
     "message": ["ssm:/no/such does not exist"]},
    {"id": "config-bad-ttl-option", "args": ["spinup", "--branch", "x", "--ttl", "forever"], "exit": 2,
     "message": ["--ttl", "not a duration"]},
]

GUARDS = [
    {"id": "guard-production-account-spinup", "config": {"production": "account_ids = ['123456789012']"},
     "exit": 3, "message": ["refusing to run in AWS account 123456789012", "account_ids"]},
    {"id": "guard-production-account-teardown", "args": ["teardown", "--branch", "feature/hostile"],
     "config": {"production": "account_ids = ['123456789012']"}, "exit": 3,
     "message": ["AWS account 123456789012"]},
    {"id": "guard-production-account-bootstrap", "args": ["bootstrap"],
     "config": {"production": "account_ids = ['123456789012']"}, "exit": 3,
     "message": ["AWS account 123456789012"]},
    {"id": "guard-production-state-bucket", "config": {"bucket": "hostile-prod-state"}, "exit": 3,
     "message": ["s3://hostile-prod-state/", "state_buckets: 'hostile-prod-state'"]},
    {"id": "guard-production-key-prefix", "config": {"backend": "key_prefix = 'production/previews'"},
     "exit": 3, "message": ["s3://hostile-state/production/previews", "state_prefixes: 'production'"]},
    {"id": "guard-production-bucket-prefix-teardown", "args": ["teardown", "--branch", "feature/hostile"],
     "config": {"production": "state_prefixes = ['s3://hostile-state/staging']"}, "exit": 3,
     "message": ["state_prefixes: 's3://hostile-state/staging'"]},
]

EVENTS = [
    {"id": "event-truncated-json", "args": PR_EVENT, "files": {"event.json": '{"action": "opened", "pull_'},
     "exit": 2, "message": ["event.json", "cannot read the event payload"]},
    {"id": "event-top-level-array", "args": PR_EVENT, "files": {"event.json": "[1, 2]"}, "exit": 2,
     "message": ["top level must be a JSON object"]},
    {"id": "event-no-pull-request", "args": PR_EVENT, "files": {"event.json": '{"action": "opened"}'},
     "exit": 2, "message": ["pull_request is missing"]},
    {"id": "event-number-is-a-string", "args": PR_EVENT, "files": {"event.json": PR.replace(
     '"number": 5, "state"', '"number": "5", "state"') % '"acme/api"'}, "exit": 2, "message": ["number"]},
    {"id": "event-hostile-repository", "args": PR_EVENT, "files": {"event.json": PR % '"../../etc/passwd"'},
     "exit": 2, "message": ["'../../etc/passwd' is not a GitHub repository name"]},
    {"id": "event-unknown-event-name", "args": [*PR_EVENT[:-1], "push"], "files": {"event.json": "{}"},
     "exit": 2, "message": ["'push' is not handled"]},
    {"id": "event-not-utf8", "args": PR_EVENT, "files": {"event.json": b'{"action": "\xff"}'}, "exit": 2,
     "message": ["cannot read the event payload"]},
    {"id": "event-file-missing", "args": [*PR_EVENT[:2], "$dir/none.json", *PR_EVENT[3:]], "exit": 2,
     "message": ["none.json", "cannot read the event payload"]},
    {"id": "event-30mb", "args": PR_EVENT, "files": {"event.json": BIG(30 * MB, " " * 63 + "\n")}, "exit": 2,
     "message": ["larger than"]},
]

CASES = BRANCHES + BASELINES + OVERRIDES + CONFIGS + GUARDS + EVENTS
