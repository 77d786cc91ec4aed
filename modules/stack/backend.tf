# Partial configuration: bucket, key, region, locking and endpoints are supplied at init time
# (the provisioner writes them; by hand use -backend-config=..., or init -backend=false).
terraform {
  backend "s3" {}
}
