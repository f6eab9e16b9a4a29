# The Application Load Balancer in front of file-service; a task receives traffic once /readyz
# says it has a valid mount-target list and has reached the file system once. Its mount targets'
# health later does not count: every task shares them, and ECS stops the tasks this check finds
# unhealthy, so an outage of the file system (or probes slowed by a load every task shares)
# would stop them all, over and over.

resource "aws_lb" "file_service" {
  name               = "${substr(local.name, 0, 28)}-alb"
  internal           = var.alb_internal
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = var.alb_internal ? aws_subnet.private[*].id : aws_subnet.public[*].id

  # Seconds a connection may sit idle, on either side. file-service keeps an idle connection open
  # longer (IDLE_TIMEOUT_MS in ecs.tf), so the load balancer never sends a request on a connection
  # the task has just closed (a 502). A slow upload is not idle; BODY_TIMEOUT_MS bounds it.
  idle_timeout = local.alb_idle_timeout_seconds
}

resource "aws_lb_target_group" "file_service" {
  name        = "${substr(local.name, 0, 29)}-tg"
  port        = var.file_service_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.main.id

  # Matches file-service's graceful shutdown: in-flight requests finish before the task stops.
  deregistration_delay = 30

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

# Port 80 serves the files itself only without a certificate. With one, it answers every request
# with a redirect to HTTPS (301), and serves no file in clear text once TLS is configured.
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.file_service.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = var.alb_certificate_arn == "" ? "forward" : "redirect"
    target_group_arn = var.alb_certificate_arn == "" ? aws_lb_target_group.file_service.arn : null

    dynamic "redirect" {
      for_each = var.alb_certificate_arn == "" ? [] : [1]
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count = var.alb_certificate_arn == "" ? 0 : 1

  load_balancer_arn = aws_lb.file_service.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.alb_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.file_service.arn
  }
}
