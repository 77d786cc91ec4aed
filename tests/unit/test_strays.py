from provisioner.usecases.spinup import in_state, state_keys

STATE = {"resources": [
    {"type": "aws_cloudwatch_log_group", "instances": [{"attributes": {
        "arn": "arn:aws:logs:us-east-1:123456789012:log-group:/s-1/app", "id": "/s-1/app"}}]},
    {"type": "aws_route_table", "instances": [{"attributes": {"id": "rtb-0abc"}}]},
    {"type": "aws_sqs_queue", "instances": [{"attributes": {
        "arn": "arn:aws:sqs:us-east-1:123456789012:s-1-jobs", "id": "http://x/123456789012/s-1-jobs"}}]},
]}


def test_resources_in_state_are_recognised_by_arn_or_id():
    keys = state_keys(STATE)
    assert in_state("arn:aws:logs:us-east-1:123456789012:log-group:/s-1/app:*", keys)
    assert in_state("arn:aws:ec2:us-east-1:123456789012:route-table/rtb-0abc", keys)
    assert in_state("arn:aws:sqs:us-east-1:123456789012:s-1-jobs", keys)


def test_resources_missing_from_state_are_strays():
    keys = state_keys(STATE)
    assert not in_state("arn:aws:logs:us-east-1:123456789012:log-group:/s-1/other:*", keys)
    assert not in_state("arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0def", keys)
    assert not in_state("arn:aws:sns:us-east-1:123456789012:s-1-alerts", keys)
    assert state_keys({}) == set()
