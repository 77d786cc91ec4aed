variable "name" {
  description = "Name prefix for every resource of the stack (\"<name>-<role>\", role at most 7 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "The name must be 1-24 characters of [a-z0-9-] starting with a letter, so that \"<name>-web\" fits the 32-character target group limit."
  }
}

variable "environment" {
  description = "Environment label written to the Environment tag and to the app config parameters."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.environment))
    error_message = "The environment must be 2-32 characters of [a-z0-9-] starting with a letter."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the target group (and load balancer) lives in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnet IDs for the load balancer (used only when create_load_balancer is true; needs two or more)."
  type        = list(string)
  default     = []
}

variable "lb_security_group_ids" {
  description = "Security group IDs attached to the load balancer."
  type        = list(string)
  default     = []
}

variable "vpc_has_internet_gateway" {
  description = "Whether the VPC has an internet gateway; an internet-facing load balancer needs one."
  type        = bool
  default     = true
}

variable "create_load_balancer" {
  description = "Create an application load balancer and an HTTP listener in front of the target group."
  type        = bool
  default     = false
}

variable "app_port" {
  description = "TCP port the application containers listen on (the target group port)."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "The app_port must be a whole number between 1 and 65535."
  }
}

variable "health_check_path" {
  description = "HTTP path the target group health check requests."
  type        = string
  default     = "/healthz"

  validation {
    condition     = can(regex("^/[A-Za-z0-9/._~-]*$", var.health_check_path)) && length(var.health_check_path) <= 1024
    error_message = "The health_check_path must start with / and contain only URL path characters."
  }
}

variable "desired_count" {
  description = "Number of application tasks the service should run."
  type        = number
  default     = 1

  validation {
    condition     = var.desired_count >= 0 && var.desired_count <= 1000 && floor(var.desired_count) == var.desired_count
    error_message = "The desired_count must be a whole number between 0 and 1000."
  }
}

variable "cpu" {
  description = "CPU units of one task (a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384)."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "The cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Memory (MiB) of one task; must be a valid Fargate pairing with cpu (checked at plan time)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880 && var.memory % 512 == 0
    error_message = "The memory must be a multiple of 512 MiB between 512 and 122880."
  }
}

variable "domain_name" {
  description = "Public DNS name the service is reached at (recorded in the app config)."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name)) && length(var.domain_name) <= 253
    error_message = "The domain_name must be a lower-case DNS name such as api.example.com."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the application logs (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "alarm_threshold" {
  description = "Number of target 5xx responses in five minutes that raises the error alarm."
  type        = number
  default     = 25

  validation {
    condition     = var.alarm_threshold >= 1
    error_message = "The alarm_threshold must be at least 1."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic ARN the alarm notifies; empty for no notification."
  type        = string
  default     = ""
}

variable "queue_arn" {
  description = "ARN of the job queue the tasks read and write; empty for none."
  type        = string
  default     = ""
}

variable "table_arn" {
  description = "ARN of the DynamoDB table the tasks read and write; empty for none."
  type        = string
  default     = ""
}

variable "bucket_arn" {
  description = "ARN of the S3 bucket the tasks read and write; empty for none."
  type        = string
  default     = ""
}

variable "third_party_api_key" {
  description = "API key of the third-party service, stored as the secret's value; empty creates the secret without a value."
  type        = string
  default     = ""
  sensitive   = true
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
