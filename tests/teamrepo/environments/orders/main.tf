module "queues" {
  source = "../../modules/queue-set"

  prefix = var.stack_name
  queues = var.queues
}

resource "aws_dynamodb_table" "orders" {
  name           = "${var.stack_name}-orders"
  billing_mode   = var.orders_table.billing_mode
  read_capacity  = var.orders_table.billing_mode == "PROVISIONED" ? var.orders_table.read_capacity : null
  write_capacity = var.orders_table.billing_mode == "PROVISIONED" ? var.orders_table.write_capacity : null
  hash_key       = "order_id"

  attribute {
    name = "order_id"
    type = "S"
  }
}

resource "aws_kms_key" "reports" {
  description             = "${var.stack_name} reports"
  deletion_window_in_days = 7
}

# Reports are named after the workspace, as the team's CI uses one workspace per environment.
resource "aws_s3_bucket" "reports" {
  bucket        = "${var.namespace}-${terraform.workspace}-reports"
  force_destroy = true
}

resource "aws_s3_bucket" "replica" {
  provider      = aws.replica
  bucket        = "${var.namespace}-${var.stack_name}-replica"
  force_destroy = true
}
