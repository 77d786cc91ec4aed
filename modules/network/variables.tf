variable "name" {
  description = "Name prefix for every resource of the stack (\"<name>-<role>\", role at most 7 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,23}$", var.name))
    error_message = "The name must be 1-24 characters of [a-z0-9-] starting with a letter."
  }
}

variable "environment" {
  description = "Environment label written to the Environment tag (production, staging, ...)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.environment))
    error_message = "The environment must be 2-32 characters of [a-z0-9-] starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC. Subnets are carved from it as /(prefix+4) blocks."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "The vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /24."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread over: one public and one private subnet in each."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 8 && floor(var.az_count) == var.az_count
    error_message = "The az_count must be a whole number between 1 and 8."
  }
}

variable "availability_zones" {
  description = "Explicit availability zone names to use; empty means the first az_count zones the region reports as available."
  type        = list(string)
  default     = []
}

variable "create_internet_gateway" {
  description = "Create an internet gateway and a default route for the public subnets."
  type        = bool
  default     = true
}

variable "app_port" {
  description = "TCP port the application containers listen on (allowed from the load balancer security group)."
  type        = number
  default     = 8080

  validation {
    condition     = var.app_port >= 1 && var.app_port <= 65535 && floor(var.app_port) == var.app_port
    error_message = "The app_port must be a whole number between 1 and 65535."
  }
}

variable "ingress_cidr_blocks" {
  description = "CIDR blocks allowed to reach the load balancer on ports 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.ingress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "Every entry of ingress_cidr_blocks must be an IPv4 CIDR block."
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
