"""Does a staging stack of the example service work? Talks to its real resources."""

from __future__ import annotations

import time
import uuid


def test_is_a_staging_stack(output, stack_id):
    assert output("environment") != "production"
    assert output("name") == stack_id


def test_job_queue_round_trip(output, aws, stack_id):
    sqs = aws("sqs")
    queue = output("queue_url")
    body = f"smoke {stack_id} {uuid.uuid4()}"
    sqs.send_message(QueueUrl=queue, MessageBody=body)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            if message["Body"] == body:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                return
    raise AssertionError(f"the message sent to {queue} did not come back within 20 s")


def test_state_table_readable(output, aws):
    ddb = aws("dynamodb")
    table = output("table_name")
    assert ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    answer = ddb.get_item(TableName=table, Key={"pk": {"S": "smoke"}, "sk": {"S": "probe"}})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_data_bucket_readable(output, aws):
    answer = aws("s3").list_objects_v2(Bucket=output("bucket_name"), MaxKeys=1)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
