# Production baseline of the acme-api stack. The provisioner renders every staging stack from this
# file plus staging.overrides.toml; `name` is never set here (the provisioner injects it).
#
# A line "# @production-only: <why>" directly above an assignment marks a value that must never
# reach a staging stack: every such variable needs an override (set, template or drop).

environment = "production"
region      = "us-east-1"

# Network
vpc_cidr                = "10.40.0.0/16"
az_count                = 3
create_internet_gateway = true

# Application
create_load_balancer = true
app_port             = 8080
health_check_path    = "/healthz"
app_desired_count    = 12
app_cpu              = 2048
app_memory           = 4096
log_retention_days   = 365
alarm_threshold      = 25

# @production-only: the public production hostname; a staging stack must not claim it.
domain_name = "api.acme-corp.com"

# Data
queue_retention_seconds = 1209600
table_billing_mode      = "PROVISIONED"
table_read_capacity     = 400
table_write_capacity    = 200

# @production-only: nightly snapshot of the production database, holds customer data.
source_snapshot_identifier = "rds:acme-prod-2026-11-26-03-00"

# @production-only: customer exports bucket; staging must never read real customer data.
data_source_bucket = "acme-prod-customer-exports"

# @production-only: pages the on-call engineer; a staging stack must not page anyone.
alert_endpoint = "https://events.pagerduty.com/integration/4f8a1c2e9b7d4e31a6c05d2f8e7b9a10/enqueue"

tags = {
  CostCenter = "cc-4102"
  Team       = "payments-platform"
}
