# One VPC, a public and a private subnet per availability zone, a route table for each tier and
# the two security groups the application tier needs (load balancer and tasks).
#
# Deliberately absent: NAT gateways (slow and billed by the hour; the private tier reaches AWS
# through the public tier or VPC endpoints in a real account) and enable_dns_hostnames (adds a
# fixed wait under the API emulator).

data "aws_availability_zones" "available" {
  count = length(var.availability_zones) == 0 ? 1 : 0

  state = "available"
}

locals {
  azs = slice(
    length(var.availability_zones) > 0 ? var.availability_zones : data.aws_availability_zones.available[0].names,
    0,
    var.az_count,
  )

  # Public subnets take netnums 0..7, private ones 8..15 of the VPC split into /(prefix+4) blocks.
  public_cidrs  = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 4, i)]
  private_cidrs = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 4, i + 8)]

  tags = merge(var.tags, { Environment = var.environment })
}

resource "aws_vpc" "this" {
  cidr_block         = var.vpc_cidr
  enable_dns_support = true

  tags = merge(local.tags, { Name = "${var.name}-vpc", Role = "network" })

  lifecycle {
    precondition {
      condition     = length(var.availability_zones) > 0 ? length(var.availability_zones) >= var.az_count : length(data.aws_availability_zones.available[0].names) >= var.az_count
      error_message = "The region (or availability_zones) offers fewer availability zones than az_count."
    }
  }
}

resource "aws_internet_gateway" "this" {
  count = var.create_internet_gateway ? 1 : 0

  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-igw", Role = "network" })
}

resource "aws_subnet" "public" {
  count = var.az_count

  vpc_id                  = aws_vpc.this.id
  cidr_block              = local.public_cidrs[count.index]
  availability_zone       = local.azs[count.index]
  map_public_ip_on_launch = false

  tags = merge(local.tags, {
    Name = "${var.name}-public-${local.azs[count.index]}"
    Role = "network"
    Tier = "public"
  })
}

resource "aws_subnet" "private" {
  count = var.az_count

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_cidrs[count.index]
  availability_zone = local.azs[count.index]

  tags = merge(local.tags, {
    Name = "${var.name}-private-${local.azs[count.index]}"
    Role = "network"
    Tier = "private"
  })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  # Inline rather than a separate aws_route: with aws_route, every refresh reports the route
  # table as "changed outside of Terraform".
  dynamic "route" {
    for_each = var.create_internet_gateway ? [aws_internet_gateway.this[0].id] : []

    content {
      cidr_block = "0.0.0.0/0"
      gateway_id = route.value
    }
  }

  tags = merge(local.tags, { Name = "${var.name}-public", Role = "network", Tier = "public" })
}

resource "aws_route_table_association" "public" {
  count = var.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = merge(local.tags, { Name = "${var.name}-private", Role = "network", Tier = "private" })
}

resource "aws_route_table_association" "private" {
  count = var.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

resource "aws_security_group" "lb" {
  name        = "${var.name}-lb"
  description = "Load balancer: HTTP and HTTPS from the allowed CIDR blocks"
  vpc_id      = aws_vpc.this.id

  ingress {
    description = "HTTP"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  ingress {
    description = "HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = var.ingress_cidr_blocks
  }

  egress {
    description = "To the application tasks inside the VPC"
    from_port   = var.app_port
    to_port     = var.app_port
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  tags = merge(local.tags, { Name = "${var.name}-lb", Role = "network" })
}

resource "aws_security_group" "app" {
  name        = "${var.name}-app"
  description = "Application tasks: the app port from the load balancer only"
  vpc_id      = aws_vpc.this.id

  ingress {
    description     = "App port from the load balancer"
    from_port       = var.app_port
    to_port         = var.app_port
    protocol        = "tcp"
    security_groups = [aws_security_group.lb.id]
  }

  egress {
    description = "All outbound (AWS APIs, third-party services)"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.tags, { Name = "${var.name}-app", Role = "network" })
}
