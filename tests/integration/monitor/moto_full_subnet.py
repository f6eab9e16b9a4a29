#!/usr/bin/env python3
"""Adds a subnet with no free IP address to a VPC in a running moto_server: a /28 (11 usable
addresses, as AWS counts them) whose addresses are all taken by network interfaces. moto itself
would still create a mount target in it; AWS would refuse. Prints the subnet id.

Usage: moto_full_subnet.py ENDPOINT_URL VPC_ID AVAILABILITY_ZONE CIDR
"""
import sys

import boto3


def main():
    endpoint, vpc, zone, cidr = sys.argv[1:5]
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]
    subnet_id = subnet["SubnetId"]
    for _ in range(subnet["AvailableIpAddressCount"]):
        ec2.create_network_interface(SubnetId=subnet_id)
    left = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["AvailableIpAddressCount"]
    if left != 0:
        sys.exit("subnet %s still has %d free addresses" % (subnet_id, left))
    print(subnet_id)


if __name__ == "__main__":
    main()
