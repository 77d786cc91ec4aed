output "target_group_arn" {
  description = "ARN of the web target group."
  value       = aws_lb_target_group.web.arn
}

output "target_group_name" {
  description = "Name of the web target group."
  value       = aws_lb_target_group.web.name
}

output "load_balancer_dns_name" {
  description = "DNS name of the load balancer, or null when create_load_balancer is false."
  value       = one(aws_lb.this[*].dns_name)
}

output "log_group_name" {
  description = "Name of the application log group."
  value       = aws_cloudwatch_log_group.app.name
}

output "alarm_name" {
  description = "Name of the target 5xx alarm."
  value       = aws_cloudwatch_metric_alarm.target_5xx.alarm_name
}

output "task_role_arn" {
  description = "ARN of the IAM role the application tasks run as."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the IAM role the application tasks run as."
  value       = aws_iam_role.task.name
}

output "config_parameter_names" {
  description = "Names of the SSM parameters holding the application configuration, by setting."
  value       = { for k, p in aws_ssm_parameter.config : k => p.name }
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the third-party API key."
  value       = aws_secretsmanager_secret.api_key.arn
}
