variable "prefix" {
  type        = string
  description = "Name prefix."
}

variable "name" {
  type        = string
  description = "What the resource is."
}

output "id" {
  value = "${var.prefix}-${var.name}"
}
