output "name" {
  description = "Name prefix of the stack's resources."
  value       = var.name
}

output "environment" {
  description = "Environment label of the stack."
  value       = var.environment
}

output "environment_url" {
  description = "URL the service is reached at."
  value       = "https://${var.domain_name}"
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "availability_zones" {
  description = "Availability zones the subnets are spread over."
  value       = module.network.availability_zones
}

output "public_subnet_ids" {
  description = "IDs of the public subnets."
  value       = module.network.public_subnet_ids
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = module.network.private_subnet_ids
}

output "queue_url" {
  description = "URL of the job queue."
  value       = module.data.queue_url
}

output "topic_arn" {
  description = "ARN of the alerts topic."
  value       = module.data.topic_arn
}

output "table_name" {
  description = "Name of the DynamoDB state table."
  value       = module.data.table_name
}

output "bucket_name" {
  description = "Name of the data bucket."
  value       = module.data.bucket_name
}

output "log_group_name" {
  description = "Name of the application log group."
  value       = module.app.log_group_name
}

output "target_group_arn" {
  description = "ARN of the web target group."
  value       = module.app.target_group_arn
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer, or null when create_load_balancer is false."
  value       = module.app.load_balancer_dns_name
}

output "role_arn" {
  description = "ARN of the IAM role the application tasks run as."
  value       = module.app.task_role_arn
}

output "secret_arn" {
  description = "ARN of the secret holding the third-party API key."
  value       = module.app.secret_arn
}

output "database_name" {
  description = "The stack's relational database (its PostgreSQL datasets load here); empty when create_database is false."
  value       = var.create_database ? var.name : ""
}
