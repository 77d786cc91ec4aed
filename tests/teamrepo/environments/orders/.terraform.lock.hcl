# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/hashicorp/aws" {
  version     = "3.39.0"
  constraints = ">= 3.30.0, < 4.0.0"
  hashes = [
    "h1:0Tz0mBwsQ1B3PCB5AdCdAPXMeuG4Ct2QbCMAm3LtVTE=",
    "zh:6399fb33634d3c7090258603773f07997e0736dceae7096977e8365e93a7a350",
    "zh:4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3",
    "zh:1cdcfaeee8fff2734b14929bc0d40699a3ca5a0d07a0d0a5cf7a8b4636f015b2",
  ]
}
