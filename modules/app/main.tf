# The application tier of the service: where traffic lands (target group, optional load balancer),
# where it logs, what raises an alarm, the identity its tasks run as, and its configuration (SSM
# parameters and a Secrets Manager secret). The task sizes are recorded as parameters so that
# a stack's size is visible even where nothing launches tasks.

locals {
  tags = merge(var.tags, { Environment = var.environment })

  # Memory sizes Fargate accepts for each CPU size.
  fargate_memory = {
    "256"   = [512, 1024, 2048]
    "512"   = range(1024, 4097, 1024)
    "1024"  = range(2048, 8193, 1024)
    "2048"  = range(4096, 16385, 1024)
    "4096"  = range(8192, 30721, 1024)
    "8192"  = range(16384, 61441, 4096)
    "16384" = range(32768, 122881, 8192)
  }

  config = {
    "desired-count" = tostring(var.desired_count)
    "cpu"           = tostring(var.cpu)
    "memory"        = tostring(var.memory)
    "domain-name"   = var.domain_name
    "environment"   = var.environment
    "log-group"     = aws_cloudwatch_log_group.app.name
  }
}

resource "aws_lb_target_group" "web" {
  name        = "${var.name}-web"
  port        = var.app_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(local.tags, { Name = "${var.name}-web", Role = "app" })

  # Checked once here (the service's entry point) rather than on each config parameter.
  lifecycle {
    precondition {
      condition     = contains(lookup(local.fargate_memory, tostring(var.cpu), []), var.memory)
      error_message = "The memory ${var.memory} MiB is not a Fargate size for cpu ${var.cpu}; allowed: ${join(", ", lookup(local.fargate_memory, tostring(var.cpu), []))}."
    }
  }
}

resource "aws_lb" "this" {
  count = var.create_load_balancer ? 1 : 0

  name               = "${var.name}-alb"
  load_balancer_type = "application"
  internal           = false
  subnets            = var.public_subnet_ids
  security_groups    = var.lb_security_group_ids

  tags = merge(local.tags, { Name = "${var.name}-alb", Role = "app" })

  lifecycle {
    precondition {
      condition     = length(var.public_subnet_ids) >= 2
      error_message = "An application load balancer needs public subnets in at least two availability zones."
    }

    precondition {
      condition     = var.vpc_has_internet_gateway
      error_message = "An internet-facing load balancer needs an internet gateway: set create_internet_gateway = true."
    }
  }
}

resource "aws_lb_listener" "http" {
  count = var.create_load_balancer ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/${var.name}/app"
  retention_in_days = var.log_retention_days

  tags = merge(local.tags, { Name = "${var.name}-app-logs", Role = "app" })
}

resource "aws_cloudwatch_metric_alarm" "target_5xx" {
  alarm_name          = "${var.name}-web-5xx"
  alarm_description   = "Target 5xx responses of ${var.name} above ${var.alarm_threshold} in five minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_threshold
  treat_missing_data  = "notBreaching"

  dimensions = merge(
    { TargetGroup = aws_lb_target_group.web.arn_suffix },
    var.create_load_balancer ? { LoadBalancer = aws_lb.this[0].arn_suffix } : {},
  )

  alarm_actions = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]
  ok_actions    = var.alarm_topic_arn == "" ? [] : [var.alarm_topic_arn]

  tags = merge(local.tags, { Name = "${var.name}-web-5xx", Role = "app" })
}

resource "aws_ssm_parameter" "config" {
  for_each = local.config

  name        = "/${var.name}/app/${each.key}"
  description = "Application setting ${each.key} of ${var.name}."
  type        = "String"
  value       = each.value

  tags = merge(local.tags, { Name = "${var.name}-app-${each.key}", Role = "app" })
}

resource "aws_secretsmanager_secret" "api_key" {
  name                    = "${var.name}/app/third-party-api-key"
  description             = "API key of the third-party service ${var.name} calls."
  recovery_window_in_days = 0

  tags = merge(local.tags, { Name = "${var.name}-api-key", Role = "app" })
}

resource "aws_secretsmanager_secret_version" "api_key" {
  # Only whether a key was given is revealed here, never the key itself.
  count = nonsensitive(var.third_party_api_key != "") ? 1 : 0

  secret_id     = aws_secretsmanager_secret.api_key.id
  secret_string = var.third_party_api_key
}

resource "aws_iam_role" "task" {
  name        = "${var.name}-task"
  description = "Role the ${var.name} application tasks run as."

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EcsTasksAssume"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
    }]
  })

  tags = merge(local.tags, { Name = "${var.name}-task", Role = "app" })
}

resource "aws_iam_role_policy" "task" {
  name = "${var.name}-task"
  role = aws_iam_role.task.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "WriteLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.app.arn}:*"]
        },
        {
          Sid      = "ReadConfig"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter", "ssm:GetParameters"]
          Resource = sort([for p in aws_ssm_parameter.config : p.arn])
        },
        {
          Sid      = "ReadSecret"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = [aws_secretsmanager_secret.api_key.arn]
        },
      ],
      var.queue_arn == "" ? [] : [{
        Sid      = "UseQueue"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        Resource = [var.queue_arn]
      }],
      var.table_arn == "" ? [] : [{
        Sid      = "UseTable"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
        Resource = [var.table_arn]
      }],
      var.bucket_arn == "" ? [] : [{
        Sid      = "UseBucket"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = ["${var.bucket_arn}/*"]
      }],
    )
  })
}
