namespace             = "acme"
report_retention_days = 400
