variable "prefix" {
  type        = string
  description = "Name prefix."
}

variable "queues" {
  description = "Queues by name."
  type = map(object({
    visibility_timeout = number
    retention_seconds  = number
  }))
}
