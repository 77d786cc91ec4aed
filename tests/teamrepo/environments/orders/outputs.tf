output "reports_bucket" {
  value = aws_s3_bucket.reports.bucket
}

output "replica_bucket" {
  value = aws_s3_bucket.replica.bucket
}

output "queue_urls" {
  value = module.queues.urls
}

output "report_retention_days" {
  value = var.report_retention_days
}
