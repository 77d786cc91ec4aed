output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "availability_zones" {
  description = "Availability zones the subnets are spread over, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, one per availability zone."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone."
  value       = aws_subnet.private[*].id
}

output "public_route_table_id" {
  description = "ID of the public route table."
  value       = aws_route_table.public.id
}

output "private_route_table_id" {
  description = "ID of the private route table."
  value       = aws_route_table.private.id
}

output "internet_gateway_id" {
  description = "ID of the internet gateway, or null when create_internet_gateway is false."
  value       = one(aws_internet_gateway.this[*].id)
}

output "lb_security_group_id" {
  description = "ID of the load balancer security group."
  value       = aws_security_group.lb.id
}

output "app_security_group_id" {
  description = "ID of the application tasks security group."
  value       = aws_security_group.app.id
}
