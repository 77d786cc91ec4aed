terraform {
  backend "s3" {
    bucket         = "acme-prod-tfstate"
    key            = "orders/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-prod-tf-locks"
    profile        = "acme-prod"
    encrypt        = true
  }
}
