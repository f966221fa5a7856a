"""boto3 (AWS JSON 1.1) reads fleet events and game session details from the simulator.

Usage: boto3_events.py ENDPOINT_URL REGION FLEET_ID START_SECONDS END_SECONDS SESSION_ARN
Prints one JSON document: every event through boto3's describe_fleet_events paginator (pages of
2, as listed), the events of the [START, END] window, every game session detail of the fleet
through the describe_game_session_details paginator (pages of 3), one detail looked up by id
without a fleet, and the typed errors it provoked.
"""
import datetime
import json
import sys

import boto3


def millis(value):
    return int(round(value.timestamp() * 1000))


def event_out(event):
    return {
        "EventId": event["EventId"],
        "ResourceId": event["ResourceId"],
        "EventCode": event["EventCode"],
        "Message": event["Message"],
        "EventTimeMs": millis(event["EventTime"]),
        "Count": event.get("Count"),
    }


def detail_out(detail):
    session = detail["GameSession"]
    return {
        "GameSessionId": session["GameSessionId"],
        "Status": session["Status"],
        "StatusReason": session.get("StatusReason"),
        "ComputeName": session["ComputeName"],
        "TerminationTimeMs": millis(session["TerminationTime"]) if "TerminationTime" in session else None,
        "ProtectionPolicy": detail["ProtectionPolicy"],
    }


def main():
    endpoint, region, fleet_id = sys.argv[1], sys.argv[2], sys.argv[3]
    start, end, session_arn = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    client = boto3.client(
        "gamelift",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="AKIDBOTO3",
        aws_secret_access_key="boto3-secret",
    )
    out = {"events": [], "event_pages": 0, "window": [], "details": [], "by_id": None, "errors": {}}
    events = client.get_paginator("describe_fleet_events")
    for page in events.paginate(FleetId=fleet_id, PaginationConfig={"PageSize": 2}):
        out["event_pages"] += 1
        out["events"].extend(event_out(e) for e in page["Events"])
    utc = datetime.timezone.utc
    window = events.paginate(
        FleetId=fleet_id,
        StartTime=datetime.datetime.fromtimestamp(start, utc),
        EndTime=datetime.datetime.fromtimestamp(end, utc),
        PaginationConfig={"PageSize": 2},
    )
    for page in window:
        out["window"].extend(e["EventId"] for e in page["Events"])
    details = client.get_paginator("describe_game_session_details")
    for page in details.paginate(FleetId=fleet_id, PaginationConfig={"PageSize": 3}):
        out["details"].extend(detail_out(d) for d in page["GameSessionDetails"])
    found = client.describe_game_session_details(GameSessionId=session_arn)["GameSessionDetails"]
    out["by_id"] = [detail_out(d) for d in found]
    try:
        client.describe_fleet_events(FleetId="fleet-doesnotexist")
    except client.exceptions.NotFoundException as error:
        out["errors"]["events_not_found"] = error.response["Error"]["Message"]
    try:
        client.describe_fleet_events(FleetId=fleet_id, NextToken="forged")
    except client.exceptions.InvalidRequestException as error:
        out["errors"]["events_forged_token"] = error.response["Error"]["Message"]
    missing = session_arn.rsplit("/", 1)[0] + "/gsess-0000000fffff"
    try:
        client.describe_game_session_details(GameSessionId=missing)
    except client.exceptions.NotFoundException as error:
        out["errors"]["details_not_found"] = error.response["Error"]["Message"]
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
