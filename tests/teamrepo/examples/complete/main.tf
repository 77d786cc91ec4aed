# How to use modules/queue-set on its own (Terraform never reads this from environments/orders).
module "queues" {
  source = "../../modules/queue-set"

  prefix = "example"
  queues = { demo = { visibility_timeout = 30, retention_seconds = 3600 } }
}
