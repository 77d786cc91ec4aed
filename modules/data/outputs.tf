output "queue_url" {
  description = "URL of the job queue (the queue's id: provider 3.x has no url attribute)."
  value       = aws_sqs_queue.jobs.id
}

output "queue_arn" {
  description = "ARN of the job queue."
  value       = aws_sqs_queue.jobs.arn
}

output "queue_name" {
  description = "Name of the job queue."
  value       = aws_sqs_queue.jobs.name
}

output "topic_arn" {
  description = "ARN of the alerts topic."
  value       = aws_sns_topic.alerts.arn
}

output "table_name" {
  description = "Name of the DynamoDB state table."
  value       = aws_dynamodb_table.state.name
}

output "table_arn" {
  description = "ARN of the DynamoDB state table."
  value       = aws_dynamodb_table.state.arn
}

output "bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.id
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.data.arn
}

output "data_source_parameter_names" {
  description = "Names of the SSM parameters recording where the data was seeded from."
  value       = { for k, p in aws_ssm_parameter.data_source : k => p.name }
}
