# Every setting of the stack. The first block holds the seed's variables with the seed's defaults;
# the rest are what the C++ system adds. terraform.tfvars.example shows how to override them.

# ---------------------------------------------------------------------------------------------
# The seed's variables
# ---------------------------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.aws_region))
    error_message = "aws_region must be a region name such as \"ap-northeast-1\"."
  }
}

variable "environment" {
  description = "Environment name (dev, staging, prod...); used as a tag on every resource."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "file_count_threshold" {
  description = "Files per mount target: file-monitor wants ceil(files / threshold) mount targets (so the second one comes once the count passes the threshold)."
  type        = number
  default     = 100000

  validation {
    condition     = var.file_count_threshold >= 1 && floor(var.file_count_threshold) == var.file_count_threshold
    error_message = "file_count_threshold must be a whole number of at least 1."
  }
}

variable "lambda_schedule_expression" {
  description = "EventBridge schedule on which file-monitor runs, as rate(...) or cron(...)."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    # EventBridge wants the singular unit for 1 and the plural for more: "rate(1 hour)", "rate(5 minutes)".
    condition     = can(regex("^(rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)|cron\\(.+\\))$", var.lambda_schedule_expression))
    error_message = "lambda_schedule_expression must be an EventBridge expression such as \"rate(5 minutes)\", \"rate(1 hour)\" or \"cron(0/5 * * * ? *)\"."
  }
}

variable "efs_target_directory" {
  description = "Directory on the file system that file-monitor counts and file-service serves. It is the root of the EFS access point and is created, owned by efs_posix_uid/gid, on first use."
  type        = string
  default     = "/data"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._-]+)+$", var.efs_target_directory)) && !can(regex("(^|/)\\.\\.?(/|$)", var.efs_target_directory))
    error_message = "efs_target_directory must be an absolute path below / such as \"/data\", without \".\" or \"..\" segments."
  }
}

variable "fargate_cpu" {
  description = "CPU units of one file-service task (1024 = 1 vCPU)."
  type        = number
  default     = 2048

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.fargate_cpu)
    error_message = "fargate_cpu must be one of 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "fargate_memory" {
  description = "Memory of one file-service task in MiB; must be a combination Fargate allows for fargate_cpu."
  type        = number
  default     = 4096

  validation {
    condition     = var.fargate_memory >= 512 && var.fargate_memory <= 122880 && var.fargate_memory % 512 == 0
    error_message = "fargate_memory must be a multiple of 512 MiB between 512 and 122880."
  }
}

variable "fargate_desired_count" {
  description = "Number of file-service tasks."
  type        = number
  default     = 2

  validation {
    condition     = var.fargate_desired_count >= 0 && var.fargate_desired_count <= 100 && floor(var.fargate_desired_count) == var.fargate_desired_count
    error_message = "fargate_desired_count must be a whole number between 0 and 100."
  }
}

# ---------------------------------------------------------------------------------------------
# Naming and network
# ---------------------------------------------------------------------------------------------

variable "project_name" {
  description = "Prefix of every resource name. The default gives the names the seed used (efs-mount-autoscaling-cluster, ...); change it to run two stacks in one account and region."
  type        = string
  default     = "efs-mount-autoscaling"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC. Each AZ gets a private and a public subnet 4 bits smaller (a /20 each in a /16)."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "vpc_cidr must be an IPv4 CIDR block from /16 to /22, such as \"10.0.0.0/16\"."
  }
}

variable "az_count" {
  description = "Number of Availability Zones with a private subnet: where file-monitor may add mount targets and where file-service tasks run. The load balancer needs at least 2."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number between 2 and 6."
  }
}

variable "enable_nat_gateway" {
  description = "Create one NAT gateway so the Lambda and the tasks in private subnets reach the AWS APIs and ECR. Turn it off only where the VPC reaches them otherwise (VPC endpoints you add)."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# EFS
# ---------------------------------------------------------------------------------------------

variable "efs_performance_mode" {
  description = "EFS performance mode: generalPurpose (lowest latency; the right choice almost always) or maxIO."
  type        = string
  default     = "generalPurpose"

  validation {
    condition     = contains(["generalPurpose", "maxIO"], var.efs_performance_mode)
    error_message = "efs_performance_mode must be generalPurpose or maxIO."
  }

  # EFS refuses the file system otherwise, after the plan was accepted.
  validation {
    condition     = !(var.efs_performance_mode == "maxIO" && var.efs_throughput_mode == "elastic")
    error_message = "efs_performance_mode maxIO cannot be used with efs_throughput_mode elastic (EFS refuses it); choose bursting or provisioned throughput."
  }
}

variable "efs_throughput_mode" {
  description = "EFS throughput mode: elastic, bursting or provisioned. Throughput limits apply per file system and per client connection, not per mount target."
  type        = string
  default     = "elastic"

  validation {
    condition     = contains(["elastic", "bursting", "provisioned"], var.efs_throughput_mode)
    error_message = "efs_throughput_mode must be elastic, bursting or provisioned."
  }
}

variable "efs_provisioned_throughput_mibps" {
  description = "Provisioned throughput in MiB/s; used only when efs_throughput_mode is provisioned."
  type        = number
  default     = 128

  validation {
    condition     = var.efs_provisioned_throughput_mibps >= 1 && var.efs_provisioned_throughput_mibps <= 10240
    error_message = "efs_provisioned_throughput_mibps must be between 1 and 10240."
  }
}

variable "efs_posix_uid" {
  description = "POSIX user id with which the Lambda (through the access point) and file-service's NFS client access the file system."
  type        = number
  default     = 1000

  validation {
    condition     = var.efs_posix_uid >= 0 && var.efs_posix_uid <= 4294967295 && floor(var.efs_posix_uid) == var.efs_posix_uid
    error_message = "efs_posix_uid must be a whole number between 0 and 4294967295."
  }
}

variable "efs_posix_gid" {
  description = "POSIX group id that goes with efs_posix_uid."
  type        = number
  default     = 1000

  validation {
    condition     = var.efs_posix_gid >= 0 && var.efs_posix_gid <= 4294967295 && floor(var.efs_posix_gid) == var.efs_posix_gid
    error_message = "efs_posix_gid must be a whole number between 0 and 4294967295."
  }
}

# ---------------------------------------------------------------------------------------------
# file-monitor (Lambda)
# ---------------------------------------------------------------------------------------------

variable "lambda_package_path" {
  description = "Path of the Lambda zip that scripts/deploy_lambda.sh builds. Empty means build/lambda/file-monitor.zip in the repository."
  type        = string
  default     = ""
}

variable "lambda_architecture" {
  description = "Instruction set of the Lambda function; must match the machine that built the zip (x86_64 or arm64)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_timeout" {
  description = "Lambda timeout in seconds. file-monitor stops counting before this deadline and then does not scale on a partial count."
  type        = number
  default     = 300

  validation {
    condition     = var.lambda_timeout >= 10 && var.lambda_timeout <= 900
    error_message = "lambda_timeout must be between 10 and 900 seconds."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Concurrency reserved for file-monitor: 1 keeps runs from overlapping. -1 reserves none, for a new account whose concurrency quota (10) Lambda does not let anything reserve from (\"decreases account's UnreservedConcurrentExecution below its minimum value\"); overlapping runs are still safe."
  type        = number
  default     = 1

  validation {
    condition     = var.lambda_reserved_concurrency == -1 || var.lambda_reserved_concurrency == 1
    error_message = "lambda_reserved_concurrency must be 1 (one run at a time) or -1 (no reservation)."
  }
}

variable "lambda_memory_size" {
  description = "Lambda memory in MB; CPU share grows with it, which speeds up counting large trees."
  type        = number
  default     = 1024

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be between 128 and 10240 MB."
  }
}

variable "max_mount_targets" {
  description = "Upper bound on the number of mount targets file-monitor keeps (it never exceeds the number of AZs with a private subnet either)."
  type        = number
  default     = 3

  validation {
    condition     = var.max_mount_targets >= 1 && var.max_mount_targets <= 6 && floor(var.max_mount_targets) == var.max_mount_targets
    error_message = "max_mount_targets must be a whole number between 1 and 6."
  }
}

variable "max_creates_per_run" {
  description = "Mount targets file-monitor may create in one run: a cooldown between additions."
  type        = number
  default     = 1

  validation {
    condition     = var.max_creates_per_run >= 1 && var.max_creates_per_run <= 6 && floor(var.max_creates_per_run) == var.max_creates_per_run
    error_message = "max_creates_per_run must be a whole number between 1 and 6."
  }
}

variable "force_ecs_deployment" {
  description = "After publishing a changed mount-target list, force a new deployment of the ECS service (file-service also reloads the list by itself every config_poll_seconds)."
  type        = bool
  default     = true
}

variable "dry_run" {
  description = "file-monitor reports what it would change and changes nothing."
  type        = bool
  default     = false
}

variable "scan_threads" {
  description = "Directory reads file-monitor keeps in flight while counting; on EFS latency, not CPU, limits the walk, so more than the vCPU count helps."
  type        = number
  default     = 16

  validation {
    condition     = var.scan_threads >= 1 && var.scan_threads <= 256 && floor(var.scan_threads) == var.scan_threads
    error_message = "scan_threads must be a whole number between 1 and 256."
  }
}

variable "lambda_log_level" {
  description = "file-monitor log level."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.lambda_log_level)
    error_message = "lambda_log_level must be debug, info, warn or error."
  }
}

variable "ssm_parameter_name" {
  description = "SSM parameter holding the mount-target list (JSON) that file-monitor writes and file-service reads. Default: /<project_name>/mount-targets (the seed's /efs-mount-autoscaling/mount-targets with the default project_name), so two stacks never share one."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_parameter_name == null || (can(regex("^(/[A-Za-z0-9_.-]+)+$", var.ssm_parameter_name)) && length(coalesce(var.ssm_parameter_name, "/")) <= 1011)
    error_message = "ssm_parameter_name must be a hierarchical name such as \"/efs-mount-autoscaling/mount-targets\"."
  }
}

# ---------------------------------------------------------------------------------------------
# file-service (ECS Fargate)
# ---------------------------------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the file-service image in the stack's ECR repository (scripts/build_and_push_fargate.sh pushes it)."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag (letters, digits, _, . and -, at most 128 characters)."
  }
}

variable "fargate_cpu_architecture" {
  description = "CPU architecture of the tasks; the image must be built for it (X86_64 or ARM64)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.fargate_cpu_architecture)
    error_message = "fargate_cpu_architecture must be X86_64 or ARM64."
  }
}

variable "file_service_storage_backend" {
  description = "How file-service reaches EFS: nfs (it speaks NFSv4 to every mount target's address itself, so traffic really spreads over them) or directory (an ECS EFS volume, which always goes through one mount target; tasks then run in the first AZ only)."
  type        = string
  default     = "nfs"

  validation {
    condition     = contains(["nfs", "directory"], var.file_service_storage_backend)
    error_message = "file_service_storage_backend must be nfs or directory."
  }
}

variable "file_service_port" {
  description = "Port file-service listens on inside the task."
  type        = number
  default     = 8080

  validation {
    condition     = var.file_service_port >= 1024 && var.file_service_port <= 65535
    error_message = "file_service_port must be between 1024 and 65535 (the container runs as a non-root user)."
  }
}

variable "config_poll_seconds" {
  description = "How often file-service re-reads the mount-target list from SSM."
  type        = number
  default     = 30

  validation {
    condition     = var.config_poll_seconds >= 1 && var.config_poll_seconds <= 3600
    error_message = "config_poll_seconds must be between 1 and 3600."
  }
}

variable "nfs_sessions_per_target" {
  description = "NFS sessions file-service keeps open to each mount target (nfs back end)."
  type        = number
  default     = 4

  validation {
    condition     = var.nfs_sessions_per_target >= 1 && var.nfs_sessions_per_target <= 64
    error_message = "nfs_sessions_per_target must be between 1 and 64."
  }
}

variable "nfs_timeout_ms" {
  description = "Timeout of one NFS call in milliseconds; a hung mount target fails over after it."
  type        = number
  default     = 5000

  validation {
    condition     = var.nfs_timeout_ms >= 100 && var.nfs_timeout_ms <= 120000
    error_message = "nfs_timeout_ms must be between 100 and 120000."
  }
}

variable "body_limit_bytes" {
  description = "Largest file file-service accepts in one PUT."
  type        = number
  default     = 104857600

  validation {
    condition     = var.body_limit_bytes >= 1 && var.body_limit_bytes <= 107374182400
    error_message = "body_limit_bytes must be between 1 and 107374182400 (100 GiB)."
  }
}

variable "upload_memory_limit_bytes" {
  description = "Request bodies one file-service task holds in memory at once, at most (taken as bytes arrive; a body that finds no room waits on the task's ephemeral storage); keep it well below fargate_memory."
  type        = number
  default     = 1073741824

  validation {
    condition     = var.upload_memory_limit_bytes >= var.body_limit_bytes
    error_message = "upload_memory_limit_bytes must be at least body_limit_bytes: a body of the largest size must fit."
  }
}

variable "upload_spool_limit_bytes" {
  description = "Request bodies one file-service task holds on its ephemeral storage (20 GiB on Fargate) at once when memory has no room; an upload past both limits is answered 503. 0 turns spooling off."
  type        = number
  default     = 8589934592

  validation {
    condition     = var.upload_spool_limit_bytes >= 0
    error_message = "upload_spool_limit_bytes must not be negative."
  }
}

variable "file_service_log_level" {
  description = "file-service log level."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.file_service_log_level)
    error_message = "file_service_log_level must be debug, info, warn or error."
  }
}

variable "access_log" {
  description = "file-service writes one access-log line per request."
  type        = bool
  default     = true
}

variable "alb_internal" {
  description = "Keep the load balancer internal (reachable only from the VPC and networks joined to it). file-service has no authentication of its own, so expose it to the internet only behind something that has."
  type        = bool
  default     = true
}

variable "alb_ingress_cidr_blocks" {
  description = "Networks allowed to reach the load balancer. Empty means the VPC's own CIDR block."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alb_ingress_cidr_blocks : can(cidrnetmask(c))])
    error_message = "alb_ingress_cidr_blocks must hold IPv4 CIDR blocks such as \"10.0.0.0/8\"."
  }

  # Empty stands for the VPC's own block, which no one outside the VPC is in.
  validation {
    condition     = var.alb_internal || length(var.alb_ingress_cidr_blocks) > 0
    error_message = "alb_ingress_cidr_blocks must name the networks allowed in when alb_internal is false: the default, the VPC's own block, would let no one from outside reach an internet-facing load balancer."
  }
}

variable "alb_certificate_arn" {
  description = "ACM certificate ARN; when set the load balancer listens for HTTPS on 443, and port 80 only redirects there."
  type        = string
  default     = ""

  validation {
    condition     = var.alb_certificate_arn == "" || can(regex("^arn:aws[a-z-]*:acm:", var.alb_certificate_arn))
    error_message = "alb_certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS waits after a task starts before load-balancer health checks count."
  type        = number
  default     = 60

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must not be negative."
  }
}

# ---------------------------------------------------------------------------------------------
# Shared
# ---------------------------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Days CloudWatch keeps the Lambda and ECS logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "ecr_keep_images" {
  description = "Images the ECR repository keeps, newest first (untagged ones go after 7 days): enough to roll file-service back that many deploys."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 1 && var.ecr_keep_images <= 1000 && floor(var.ecr_keep_images) == var.ecr_keep_images
    error_message = "ecr_keep_images must be a whole number from 1 to 1000."
  }
}

variable "ecr_force_delete" {
  description = "Let terraform destroy delete the ECR repository even when it still holds images (they can be rebuilt from source)."
  type        = bool
  default     = true
}
