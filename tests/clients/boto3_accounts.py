"""boto3 against the simulator's accounts: STS AssumeRole (Query protocol, XML), then GameLift
(AWS JSON 1.1) with the credentials it returned.

Usage:
  boto3_accounts.py assume ENDPOINT_URL ACCESS_KEY ROLE_ARN EXTERNAL_ID
      assumes the role (and once with a wrong external id), lists the fleets the temporary
      credentials and the caller's own key see in us-west-2 and eu-west-1
  boto3_accounts.py list ENDPOINT_URL ACCESS_KEY SECRET SESSION_TOKEN REGION
      ListFleets with these credentials: the fleet ids, or the error code, message and status
Prints one JSON document.
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError


def client(service, endpoint, region, key, secret, token=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def list_fleets(gamelift):
    try:
        return {"fleets": gamelift.list_fleets()["FleetIds"]}
    except ClientError as error:
        return {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }


def assume(endpoint, key, role_arn, external_id):
    sts = client("sts", endpoint, "us-west-2", key, "boto3-secret")
    out = {}
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="boto3-session", ExternalId=external_id)
    creds = answer["Credentials"]
    out["credentials"] = {
        "AccessKeyId": creds["AccessKeyId"],
        "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"],
        "Expiration": creds["Expiration"].isoformat(),
    }
    out["assumed_role_arn"] = answer["AssumedRoleUser"]["Arn"]
    out["assumed_role_id"] = answer["AssumedRoleUser"]["AssumedRoleId"]
    try:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="boto3-session", ExternalId="wrong-id")
        out["wrong_external_id"] = "accepted"
    except ClientError as error:
        out["wrong_external_id"] = {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "type": error.response["Error"].get("Type"),
            "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
        }
    for region in ["us-west-2", "eu-west-1"]:
        assumed = client(
            "gamelift", endpoint, region, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        )
        out["assumed_" + region] = list_fleets(assumed)
        own = client("gamelift", endpoint, region, key, "boto3-secret")
        out["own_" + region] = list_fleets(own)
    return out


def main():
    mode, endpoint = sys.argv[1], sys.argv[2]
    if mode == "assume":
        out = assume(endpoint, *sys.argv[3:6])
    else:
        key, secret, token, region = sys.argv[3:7]
        out = list_fleets(client("gamelift", endpoint, region, key, secret, token))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
