# The team's production stack: the root module the provisioner applies, once for production with
# production.tfvars and once per branch with the staging values rendered from production.tfvars
# plus staging.overrides.toml.
#
# The provider block holds the region only. Credentials, endpoints and the default_tags
# (managed-by, staging:*) come from zz_provisioner_override.tf.json, written next to this file at
# run time; modules must never set those tag keys themselves.

provider "aws" {
  region = var.region
}

locals {
  tags = merge(var.tags, { Service = "acme-api" })
}

module "network" {
  source = "../network"

  name                    = var.name
  environment             = var.environment
  vpc_cidr                = var.vpc_cidr
  az_count                = var.az_count
  create_internet_gateway = var.create_internet_gateway
  app_port                = var.app_port
  tags                    = local.tags
}

module "data" {
  source = "../data"

  name                       = var.name
  environment                = var.environment
  queue_retention_seconds    = var.queue_retention_seconds
  table_billing_mode         = var.table_billing_mode
  table_read_capacity        = var.table_read_capacity
  table_write_capacity       = var.table_write_capacity
  source_snapshot_identifier = var.source_snapshot_identifier
  data_source_bucket         = var.data_source_bucket
  alert_endpoint             = var.alert_endpoint
  tags                       = local.tags
}

module "app" {
  source = "../app"

  name                     = var.name
  environment              = var.environment
  vpc_id                   = module.network.vpc_id
  public_subnet_ids        = module.network.public_subnet_ids
  lb_security_group_ids    = [module.network.lb_security_group_id]
  vpc_has_internet_gateway = var.create_internet_gateway
  create_load_balancer     = var.create_load_balancer
  app_port                 = var.app_port
  health_check_path        = var.health_check_path
  desired_count            = var.app_desired_count
  cpu                      = var.app_cpu
  memory                   = var.app_memory
  domain_name              = var.domain_name
  log_retention_days       = var.log_retention_days
  alarm_threshold          = var.alarm_threshold
  alarm_topic_arn          = module.data.topic_arn
  queue_arn                = module.data.queue_arn
  table_arn                = module.data.table_arn
  bucket_arn               = module.data.bucket_arn
  third_party_api_key      = var.third_party_api_key
  tags                     = local.tags
}
