region = "us-east-1"

queues = {
  ingest = { visibility_timeout = 60, retention_seconds = 1209600 }
  billing = { visibility_timeout = 300, retention_seconds = 1209600 }
}

orders_table = {
  billing_mode   = "PROVISIONED"
  read_capacity  = 400
  write_capacity = 200
}
