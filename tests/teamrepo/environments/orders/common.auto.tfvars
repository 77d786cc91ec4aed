cost_center = "cc-4711"
