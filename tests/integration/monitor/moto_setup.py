#!/usr/bin/env python3
"""Creates what reconcile scenarios start from in a running moto_server, once per scenario so
that scenarios never share state (and moto need not be reset): a VPC with one subnet in each of
three AZs, an EFS file system and an ECS service. Prints a JSON array of
{"vpc", "subnets": [{"id", "availability_zone"}], "file_system_id", "ecs_cluster", "ecs_service"}.

Usage: moto_setup.py ENDPOINT_URL COUNT
"""
import json
import sys
import uuid

import boto3


def main():
    endpoint, count = sys.argv[1], int(sys.argv[2])
    kwargs = dict(endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
    ec2 = boto3.client("ec2", **kwargs)
    efs = boto3.client("efs", **kwargs)
    ecs = boto3.client("ecs", **kwargs)
    ecs.create_cluster(clusterName="efsas")
    ecs.register_task_definition(family="file-service", containerDefinitions=[
        {"name": "file-service", "image": "file-service:test", "memory": 512}])
    worlds = []
    for _ in range(count):
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnets = []
        for index, zone in enumerate(["us-east-1a", "us-east-1b", "us-east-1c"]):
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.%d.0/24" % index,
                                       AvailabilityZone=zone)["Subnet"]
            subnets.append({"id": subnet["SubnetId"], "availability_zone": zone})
        fs = efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"]
        service = "file-service-" + fs
        ecs.create_service(cluster="efsas", serviceName=service,
                           taskDefinition="file-service", desiredCount=1)
        worlds.append({"vpc": vpc, "subnets": subnets, "file_system_id": fs,
                       "ecs_cluster": "efsas", "ecs_service": service})
    print(json.dumps(worlds))


if __name__ == "__main__":
    main()
