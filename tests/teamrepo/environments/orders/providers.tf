locals {
  team_tags = {
    team          = "orders"
    "cost-center" = var.cost_center
    "managed-by"  = "terraform"
    repository    = "acme/orders-infra"
  }
}

provider "aws" {
  region = var.region

  assume_role {
    role_arn     = "arn:aws:iam::210987654321:role/orders-deploy"
    session_name = "orders-ci"
  }

  default_tags {
    tags = local.team_tags
  }
}

# Replicas of the reports live in a second region.
provider "aws" {
  alias  = "replica"
  region = "us-west-2"

  default_tags {
    tags = {
      team          = "orders"
      "cost-center" = "cc-4711"
      replica       = "true"
    }
  }
}
