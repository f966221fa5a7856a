"""boto3 reads the simulator's events queue (SQS, AWS JSON 1.0) and describes its game session
queues and matchmaking configurations (GameLift, AWS JSON 1.1).

Usage: boto3_sqs.py ENDPOINT_URL REGION
Prints one JSON document: every message body of the events queue (received in batches of up to 10,
deleted with DeleteMessageBatch, one forged handle in the first batch), what GetQueueAttributes
says afterwards, the typed error of a missing queue, a queue created, a batch sent and received
back, and the queue and configuration names through the GameLift paginators.
"""
import json
import sys

import boto3


def main():
    endpoint, region = sys.argv[1], sys.argv[2]
    session = boto3.session.Session(
        aws_access_key_id="AKIDBOTO3",
        aws_secret_access_key="boto3-secret",
        region_name=region,
    )
    sqs = session.client("sqs", endpoint_url=endpoint)
    gamelift = session.client("gamelift", endpoint_url=endpoint)
    out = {"bodies": [], "deleted": 0, "failed": []}

    url = sqs.get_queue_url(QueueName="gamelift-events")["QueueUrl"]
    first = True
    while True:
        answer = sqs.receive_message(
            QueueUrl=url,
            # Room for the forged entry in the first batch (at most 10 entries a batch).
            MaxNumberOfMessages=9 if first else 10,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        out["bodies"].extend(m["Body"] for m in messages)
        entries = [{"Id": f"m{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        if first:
            entries.append({"Id": "bad", "ReceiptHandle": "forged"})
            first = False
        deleted = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        out["deleted"] += len(deleted["Successful"])
        out["failed"].extend(f["Id"] for f in deleted.get("Failed", []))
    out["attributes_after"] = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]

    try:
        sqs.get_queue_url(QueueName="missing")
    except sqs.exceptions.QueueDoesNotExist as error:
        out["missing_queue"] = {
            "Code": error.response["Error"]["Code"],
            "QueryErrorCode": error.response["Error"].get("QueryErrorCode"),
            "modeled": True,
        }

    created = sqs.create_queue(QueueName="boto3-queue", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    out["created"] = created
    sent = sqs.send_message_batch(
        QueueUrl=created,
        Entries=[{"Id": "a", "MessageBody": "first"}, {"Id": "b", "MessageBody": "second"}],
    )
    out["batch_sent"] = [s["Id"] for s in sent["Successful"]]
    back = sqs.receive_message(QueueUrl=created, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    out["round_trip"] = [m["Body"] for m in back["Messages"]]

    out["queues"] = [
        q["Name"]
        for page in gamelift.get_paginator("describe_game_session_queues").paginate(PaginationConfig={"PageSize": 1})
        for q in page["GameSessionQueues"]
    ]
    out["configurations"] = [
        [c["Name"], c["ConfigurationArn"]]
        for page in gamelift.get_paginator("describe_matchmaking_configurations").paginate()
        for c in page["Configurations"]
    ]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
