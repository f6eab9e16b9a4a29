# The VPC: a private subnet per AZ for the mount targets, the Lambda and the tasks, public subnets
# for the NAT gateway (and an internet-facing load balancer), and the security groups that keep
# NFS (2049) reachable only from the Lambda and the tasks.

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # EFS mount-target DNS names resolve only with both turned on

  tags = { Name = "${local.name}-vpc" }
}

resource "aws_subnet" "private" {
  count = var.az_count

  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)

  tags = { Name = "${local.name}-private-${local.azs[count.index]}", Tier = "private" }

  lifecycle {
    precondition {
      condition     = length(data.aws_availability_zones.available.names) >= var.az_count
      error_message = "The region has fewer available AZs than az_count; lower az_count."
    }
  }
}

resource "aws_subnet" "public" {
  count = var.az_count

  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, 8 + count.index)

  tags = { Name = "${local.name}-public-${local.azs[count.index]}", Tier = "public" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name}-igw" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_route_table_association" "public" {
  count = var.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# One NAT gateway: the Lambda and the tasks call AWS APIs and pull from ECR. One keeps the cost
# down; an AZ outage then cuts only outbound calls from the other AZs, not NFS traffic.
resource "aws_eip" "nat" {
  count = var.enable_nat_gateway ? 1 : 0

  domain = "vpc"

  tags = { Name = "${local.name}-nat" }
}

resource "aws_nat_gateway" "main" {
  count = var.enable_nat_gateway ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id

  tags = { Name = "${local.name}-nat" }

  depends_on = [aws_internet_gateway.main]
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.name}-private" }
}

resource "aws_route" "private_nat" {
  count = var.enable_nat_gateway ? 1 : 0

  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[0].id
}

resource "aws_route_table_association" "private" {
  count = var.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

# --- Security groups -------------------------------------------------------------------------

resource "aws_security_group" "lambda" {
  name        = "${local.name}-file-monitor"
  description = "file-monitor Lambda: outbound only"
  vpc_id      = aws_vpc.main.id

  egress {
    description = "AWS APIs over HTTPS (through the NAT gateway)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "NFS to the mount targets"
    from_port   = 2049
    to_port     = 2049
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  tags = { Name = "${local.name}-file-monitor" }
}

resource "aws_security_group" "tasks" {
  name        = "${local.name}-file-service"
  description = "file-service tasks: HTTP from the load balancer"
  vpc_id      = aws_vpc.main.id

  ingress {
    description     = "HTTP from the load balancer"
    from_port       = var.file_service_port
    to_port         = var.file_service_port
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }

  egress {
    description = "AWS APIs and ECR over HTTPS (through the NAT gateway)"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "NFS to the mount targets"
    from_port   = 2049
    to_port     = 2049
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  tags = { Name = "${local.name}-file-service" }
}

resource "aws_security_group" "efs" {
  name        = "${local.name}-efs"
  description = "EFS mount targets: NFS from file-monitor and file-service only"
  vpc_id      = aws_vpc.main.id

  ingress {
    description     = "NFS from file-monitor and file-service"
    from_port       = 2049
    to_port         = 2049
    protocol        = "tcp"
    security_groups = [aws_security_group.lambda.id, aws_security_group.tasks.id]
  }

  tags = { Name = "${local.name}-efs" }
}

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Load balancer in front of file-service"
  vpc_id      = aws_vpc.main.id

  ingress {
    description = "HTTP from the allowed networks"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = local.alb_ingress_cidr_blocks
  }

  dynamic "ingress" {
    for_each = var.alb_certificate_arn == "" ? [] : [1]
    content {
      description = "HTTPS from the allowed networks"
      from_port   = 443
      to_port     = 443
      protocol    = "tcp"
      cidr_blocks = local.alb_ingress_cidr_blocks
    }
  }

  egress {
    description = "HTTP to the tasks"
    from_port   = var.file_service_port
    to_port     = var.file_service_port
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  tags = { Name = "${local.name}-alb" }
}

locals {
  alb_ingress_cidr_blocks = length(var.alb_ingress_cidr_blocks) > 0 ? var.alb_ingress_cidr_blocks : [var.vpc_cidr]
}
