"""A second, independent GameLift client: boto3 (AWS JSON 1.1) against the simulator.

Usage: boto3_client.py ENDPOINT_URL REGION
Prints one JSON document: fleets, their attributes and locations, every session id per fleet
(through boto3's own paginator), ACTIVE counts per fleet, and the typed errors it provoked.
"""
import json
import sys

import boto3


def main():
    endpoint, region = sys.argv[1], sys.argv[2]
    client = boto3.client(
        "gamelift",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="AKIDBOTO3",
        aws_secret_access_key="boto3-secret",
    )
    fleet_ids = []
    for page in client.get_paginator("list_fleets").paginate(PaginationConfig={"PageSize": 1}):
        fleet_ids.extend(page["FleetIds"])
    attributes = client.describe_fleet_attributes(FleetIds=fleet_ids)["FleetAttributes"]
    out = {
        "fleets": fleet_ids,
        "types": {a["FleetId"]: a["FleetType"] for a in attributes},
        "locations": {},
        "sessions": {},
        "active": {},
        "creation_times": {},
        "errors": {},
    }
    for fleet_id in fleet_ids:
        locations = client.describe_fleet_location_attributes(FleetId=fleet_id)["LocationAttributes"]
        out["locations"][fleet_id] = [l["LocationState"]["Location"] for l in locations]
        ids = []
        paginator = client.get_paginator("describe_game_sessions")
        for page in paginator.paginate(FleetId=fleet_id, PaginationConfig={"PageSize": 7}):
            for session in page["GameSessions"]:
                ids.append(session["GameSessionId"])
                out["creation_times"][session["GameSessionId"]] = int(
                    round(session["CreationTime"].timestamp() * 1000)
                )
        out["sessions"][fleet_id] = ids
        active = 0
        for page in paginator.paginate(FleetId=fleet_id, StatusFilter="ACTIVE"):
            active += len(page["GameSessions"])
        out["active"][fleet_id] = active
    try:
        client.describe_game_sessions(FleetId="fleet-doesnotexist")
    except client.exceptions.NotFoundException as error:
        out["errors"]["not_found"] = error.response["Error"]["Message"]
    try:
        client.describe_game_sessions(FleetId=fleet_ids[0], StatusFilter="BOGUS")
    except client.exceptions.InvalidRequestException as error:
        out["errors"]["invalid_request"] = error.response["Error"]["Message"]
    try:
        client.describe_game_sessions(FleetId=fleet_ids[0], NextToken="forged")
    except client.exceptions.InvalidRequestException as error:
        out["errors"]["forged_token"] = error.response["Error"]["Message"]
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
