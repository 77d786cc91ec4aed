# ---------------------------------------------------------------------------------------------
# Identity
# ---------------------------------------------------------------------------------------------

variable "name" {
  description = "Name prefix of every resource (\"<name>-<role>\", role at most 7 characters, so load balancer and target group names fit AWS's 32 characters). The provisioner injects the stack's slug."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "The name must match ^[a-z][a-z0-9-]{0,23}$: 1-24 characters of [a-z0-9-] starting with a letter."
  }
}

variable "environment" {
  description = "Environment label (production, staging, ...), written to the Environment tag and the app config."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.environment))
    error_message = "The environment must be 2-32 characters of [a-z0-9-] starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as us-east-1."
  }
}

variable "tags" {
  description = "Extra tags for every resource. Must not use managed-by or staging:* (the provisioner's provider default_tags)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.tags) : k != "managed-by" && !startswith(k, "staging:")])
    error_message = "The tags must not use the keys managed-by or staging:*; the provider default_tags carry those."
  }
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (/16 to /24)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "The vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /24."
  }
}

variable "az_count" {
  description = "Availability zones to spread over; each gets one public and one private subnet."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 8 && floor(var.az_count) == var.az_count
    error_message = "The az_count must be a whole number between 1 and 8."
  }
}

variable "create_internet_gateway" {
  description = "Create an internet gateway and a default route for the public subnets (needed by the load balancer)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Application
# ---------------------------------------------------------------------------------------------

variable "create_load_balancer" {
  description = "Create an internet-facing application load balancer and HTTP listener in front of the target group."
  type        = bool
  default     = false
}

variable "app_port" {
  description = "TCP port the application containers listen on."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "The app_port must be a whole number between 1 and 65535."
  }
}

variable "health_check_path" {
  description = "HTTP path the load balancer health check requests."
  type        = string
  default     = "/healthz"

  validation {
    condition     = can(regex("^/[A-Za-z0-9/._~-]*$", var.health_check_path))
    error_message = "The health_check_path must start with / and contain only URL path characters."
  }
}

variable "app_desired_count" {
  description = "Number of application tasks the service runs."
  type        = number
  default     = 1

  validation {
    condition     = var.app_desired_count >= 0 && var.app_desired_count <= 1000 && floor(var.app_desired_count) == var.app_desired_count
    error_message = "The app_desired_count must be a whole number between 0 and 1000."
  }
}

variable "app_cpu" {
  description = "CPU units of one task: a Fargate size (256, 512, 1024, 2048, 4096, 8192, 16384)."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.app_cpu)
    error_message = "The app_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "app_memory" {
  description = "Memory (MiB) of one task; must pair with app_cpu as Fargate allows (checked at plan time)."
  type        = number
  default     = 512

  validation {
    condition     = var.app_memory >= 512 && var.app_memory <= 122880 && var.app_memory % 512 == 0
    error_message = "The app_memory must be a multiple of 512 MiB between 512 and 122880."
  }
}

variable "domain_name" {
  description = "Public DNS name the service is reached at; environment_url is https://<domain_name>."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name)) && length(var.domain_name) <= 253
    error_message = "The domain_name must be a lower-case DNS name such as api.example.com."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the application logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653."
  }
}

variable "alarm_threshold" {
  description = "Target 5xx responses in five minutes that raise the error alarm."
  type        = number
  default     = 25

  validation {
    condition     = var.alarm_threshold >= 1
    error_message = "The alarm_threshold must be at least 1."
  }
}

variable "third_party_api_key" {
  description = "API key of the third-party service the app calls, stored in Secrets Manager; empty leaves the secret without a value. Pass it through TF_VAR_third_party_api_key, never a file."
  type        = string
  default     = ""
  sensitive   = true
}

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

variable "queue_retention_seconds" {
  description = "Seconds the job queue keeps a message (60 to 1209600 = 14 days)."
  type        = number
  default     = 345600

  validation {
    condition     = var.queue_retention_seconds >= 60 && var.queue_retention_seconds <= 1209600 && floor(var.queue_retention_seconds) == var.queue_retention_seconds
    error_message = "The queue_retention_seconds must be a whole number between 60 and 1209600."
  }
}

variable "table_billing_mode" {
  description = "DynamoDB billing mode: PROVISIONED (uses the capacities below) or PAY_PER_REQUEST."
  type        = string
  default     = "PROVISIONED"

  validation {
    condition     = contains(["PROVISIONED", "PAY_PER_REQUEST"], var.table_billing_mode)
    error_message = "The table_billing_mode must be PROVISIONED or PAY_PER_REQUEST."
  }
}

variable "table_read_capacity" {
  description = "Read capacity units of the state table (PROVISIONED only)."
  type        = number
  default     = 5

  validation {
    condition     = var.table_read_capacity >= 1 && var.table_read_capacity <= 40000 && floor(var.table_read_capacity) == var.table_read_capacity
    error_message = "The table_read_capacity must be a whole number between 1 and 40000."
  }
}

variable "table_write_capacity" {
  description = "Write capacity units of the state table (PROVISIONED only)."
  type        = number
  default     = 5

  validation {
    condition     = var.table_write_capacity >= 1 && var.table_write_capacity <= 40000 && floor(var.table_write_capacity) == var.table_write_capacity
    error_message = "The table_write_capacity must be a whole number between 1 and 40000."
  }
}

variable "create_database" {
  description = "Give the stack a relational database (named after the stack); its PostgreSQL datasets are seeded into it. Off: no database, and those datasets are skipped."
  type        = bool
  default     = true
}

variable "source_snapshot_identifier" {
  description = "Snapshot the data was seeded from. Production-only: staging must use a synthetic source."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9:._-]{0,255}$", var.source_snapshot_identifier))
    error_message = "The source_snapshot_identifier may hold only letters, digits and : . _ - (at most 255)."
  }
}

variable "data_source_bucket" {
  description = "S3 bucket the data was imported from. Production-only: staging must use a fixtures bucket."
  type        = string
  default     = ""

  validation {
    condition     = var.data_source_bucket == "" || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_source_bucket))
    error_message = "The data_source_bucket must be empty or a valid S3 bucket name."
  }
}

variable "alert_endpoint" {
  description = "HTTPS endpoint of the on-call pager's SNS integration, subscribed to the alerts topic; empty for none. Production-only: a staging stack must not page anyone."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_endpoint == "" || can(regex("^https://[^\\s]+$", var.alert_endpoint))
    error_message = "The alert_endpoint must be empty or an https:// URL."
  }
}
