output "urls" {
  value = { for name, queue in aws_sqs_queue.this : name => queue.id }
}

output "dlq_arn" {
  value = module.dlq.arn
}
