module "label" {
  source = "../../../labels"

  prefix = var.prefix
  name   = "dlq"
}

variable "prefix" {
  type        = string
  description = "Name prefix."
}

resource "aws_sqs_queue" "dlq" {
  name = module.label.id
}

output "arn" {
  value = aws_sqs_queue.dlq.arn
}
