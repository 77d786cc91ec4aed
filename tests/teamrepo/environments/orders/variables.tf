variable "stack_name" {
  type        = string
  description = "Name prefix of every resource."
  default     = "orders-prod"
}

variable "region" {
  type        = string
  description = "Primary region."
  default     = "us-east-1"
}

variable "namespace" {
  type        = string
  description = "Company namespace, part of globally unique names."
}

variable "cost_center" {
  type        = string
  description = "Cost allocation tag (set in common.auto.tfvars)."
}

variable "queues" {
  description = "Work queues by name."
  type = map(object({
    visibility_timeout = number
    retention_seconds  = number
  }))
}

variable "orders_table" {
  description = "The orders DynamoDB table."
  type = object({
    billing_mode   = string
    read_capacity  = number
    write_capacity = number
  })
}

variable "report_retention_days" {
  type        = number
  description = "How long reports are kept."
  default     = 30
}
