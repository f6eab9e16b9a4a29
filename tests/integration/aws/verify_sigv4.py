#!/usr/bin/env python3
"""Re-signs recorded requests with botocore and checks that each signature matches.

Input: a JSON file {"secret_access_key": "...", "requests": [{"method", "target",
"headers": [[name, value], ...], "body"}]}. For each request, the Authorization header names the
access key, date, region, service and signed headers; botocore's SigV4Auth signs the same request
(only the signed headers, the time from X-Amz-Date) and the two signatures must be equal, which is
what AWS checks. Exit status 0 when every request verifies, 1 otherwise.
"""
import json
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$")


def header(headers, name):
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def verify(record, secret):
    headers = record["headers"]
    auth = header(headers, "Authorization")
    if auth is None:
        return "no Authorization header"
    match = AUTH.match(auth)
    if not match:
        return f"malformed Authorization header: {auth}"
    signed = match["signed"].split(";")
    kept = {}
    for name in signed:
        value = header(headers, name)
        if value is None:
            return f"signed header {name} is missing from the request"
        kept[name] = value
    token = header(headers, "X-Amz-Security-Token")
    request = AWSRequest(method=record["method"], url="http://" + kept["host"] + record["target"],
                         data=record["body"].encode("utf-8"), headers=kept)
    request.context["timestamp"] = header(headers, "X-Amz-Date")
    signer = SigV4Auth(Credentials(match["key"], secret, token), match["service"], match["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != match["signature"]:
        return f"signature {match['signature']} != botocore's {expected}\n{canonical}"
    return None


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    failures = 0
    for record in document["requests"]:
        problem = verify(record, document["secret_access_key"])
        if problem:
            failures += 1
            print(f"REJECTED {record['method']} {record['target']}: {problem}")
    print(f"verified {len(document['requests']) - failures} of {len(document['requests'])}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
