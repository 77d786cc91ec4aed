variable "name" {
  description = "Name prefix for every resource of the stack (\"<name>-<role>\", role at most 7 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "The name must be 1-24 characters of [a-z0-9-] starting with a letter."
  }
}

variable "environment" {
  description = "Environment label written to the Environment tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.environment))
    error_message = "The environment must be 2-32 characters of [a-z0-9-] starting with a letter."
  }
}

variable "queue_retention_seconds" {
  description = "Seconds the job queue keeps a message (60 to 1209600, i.e. 1 minute to 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.queue_retention_seconds >= 60 && var.queue_retention_seconds <= 1209600 && floor(var.queue_retention_seconds) == var.queue_retention_seconds
    error_message = "The queue_retention_seconds must be a whole number between 60 and 1209600."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "Seconds a received job stays invisible to other consumers (0 to 43200)."
  type        = number
  default     = 60

  validation {
    condition     = var.queue_visibility_timeout_seconds >= 0 && var.queue_visibility_timeout_seconds <= 43200 && floor(var.queue_visibility_timeout_seconds) == var.queue_visibility_timeout_seconds
    error_message = "The queue_visibility_timeout_seconds must be a whole number between 0 and 43200."
  }
}

variable "table_billing_mode" {
  description = "Billing mode of the DynamoDB table: PROVISIONED (uses the capacities) or PAY_PER_REQUEST."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.table_billing_mode)
    error_message = "The table_billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "table_read_capacity" {
  description = "Read capacity units of the table (PROVISIONED billing only)."
  type        = number
  default     = 5

  validation {
    condition     = var.table_read_capacity >= 1 && var.table_read_capacity <= 40000 && floor(var.table_read_capacity) == var.table_read_capacity
    error_message = "The table_read_capacity must be a whole number between 1 and 40000."
  }
}

variable "table_write_capacity" {
  description = "Write capacity units of the table (PROVISIONED billing only)."
  type        = number
  default     = 5

  validation {
    condition     = var.table_write_capacity >= 1 && var.table_write_capacity <= 40000 && floor(var.table_write_capacity) == var.table_write_capacity
    error_message = "The table_write_capacity must be a whole number between 1 and 40000."
  }
}

variable "source_snapshot_identifier" {
  description = "Snapshot the service's data was seeded from (recorded in SSM); empty records \"none\"."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9:._-]{0,255}$", var.source_snapshot_identifier))
    error_message = "The source_snapshot_identifier may hold only letters, digits and : . _ - (at most 255)."
  }
}

variable "data_source_bucket" {
  description = "S3 bucket the service's data was imported from (recorded in SSM); empty records \"none\"."
  type        = string
  default     = ""

  validation {
    condition     = var.data_source_bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_source_bucket))
    error_message = "The data_source_bucket must be empty or a valid S3 bucket name."
  }
}

variable "alert_endpoint" {
  description = "HTTPS endpoint (an incident tool's SNS integration URL) subscribed to the alerts topic; empty for no subscription."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_endpoint == "" || can(regex("^https://[^\\s]+$", var.alert_endpoint))
    error_message = "The alert_endpoint must be empty or an https:// URL."
  }
}

variable "tags" {
  description = "Extra tags for every resource. Must not repeat the provider default_tags keys the provisioner sets (managed-by, staging:*)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : k != "managed-by" && !startswith(k, "staging:")])
    error_message = "The tags must not use the keys managed-by or staging:*; the provider default_tags carry those."
  }
}
