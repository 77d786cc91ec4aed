# The data tier of the service: a job queue, an alerts topic, a state table, an object bucket,
# and SSM parameters recording where the data was seeded from (so that a staging stack can show
# it holds synthetic fixtures, not customer data).

locals {
  tags = merge(var.tags, { Environment = var.environment })

  provisioned = var.table_billing_mode == "PROVISIONED"

  data_source = {
    "source-snapshot" = var.source_snapshot_identifier == "" ? "none" : var.source_snapshot_identifier
    "source-bucket"   = var.data_source_bucket == "" ? "none" : var.data_source_bucket
  }
}

# No dead-letter queue: provider 3.x stores redrive_policy verbatim and the API emulator
# re-serialises it with different whitespace, so every plan would show an update.
resource "aws_sqs_queue" "jobs" {
  name                       = "${var.name}-jobs"
  message_retention_seconds  = var.queue_retention_seconds
  visibility_timeout_seconds = var.queue_visibility_timeout_seconds

  tags = merge(local.tags, { Name = "${var.name}-jobs", Role = "data" })
}

resource "aws_sns_topic" "alerts" {
  name = "${var.name}-alerts"

  tags = merge(local.tags, { Name = "${var.name}-alerts", Role = "data" })
}

resource "aws_sns_topic_subscription" "alerts" {
  count = var.alert_endpoint == "" ? 0 : 1

  topic_arn              = aws_sns_topic.alerts.arn
  protocol               = "https"
  endpoint               = var.alert_endpoint
  endpoint_auto_confirms = true
}

resource "aws_dynamodb_table" "state" {
  name           = "${var.name}-state"
  billing_mode   = var.table_billing_mode
  read_capacity  = local.provisioned ? var.table_read_capacity : null
  write_capacity = local.provisioned ? var.table_write_capacity : null
  hash_key       = "pk"
  range_key      = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  # Own tags only, not var.tags: provider 3.x reads table tags without following NextToken, so a
  # table with more than 10 tags in total (the provisioner's 6 default tags included) shows a
  # perpetual diff wherever ListTagsOfResource pages at 10 (the API emulator does).
  tags = { Name = "${var.name}-state", Role = "data", Environment = var.environment }
}

resource "aws_s3_bucket" "data" {
  # A prefix, not a fixed name: bucket names are global across all AWS accounts.
  bucket_prefix = "${var.name}-data-"
  force_destroy = true

  tags = merge(local.tags, { Name = "${var.name}-data", Role = "data" })
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket = aws_s3_bucket.data.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_ssm_parameter" "data_source" {
  for_each = local.data_source

  name        = "/${var.name}/data/${each.key}"
  description = "Where the ${var.name} data was seeded from (${each.key})."
  type        = "String"
  value       = each.value

  tags = merge(local.tags, { Name = "${var.name}-data-${each.key}", Role = "data" })
}
