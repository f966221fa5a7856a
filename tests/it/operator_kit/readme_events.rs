//! The README's section "Placement and matchmaking events: setup": its JSON (the event pattern,
//! the queue policies, the exporter's IAM statements) parses and says what the exporter needs, its
//! CloudFormation template parses as YAML and its resources refer to each other as the CLI
//! snippet's commands do.

use super::read;
use serde_json::{json, Value};

const SECTION: &str = "## Placement and matchmaking events: setup";

/// The section's text, up to the next `## ` heading.
fn section() -> String {
    let readme = read("README.md");
    let start = readme
        .find(SECTION)
        .unwrap_or_else(|| panic!("README.md has no section {SECTION:?}"));
    let body = &readme[start + SECTION.len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end].to_string()
}

/// The fenced code blocks of `text`: (language, content).
fn code_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else {
            continue;
        };
        let mut content = String::new();
        for inner in lines.by_ref() {
            if inner.starts_with("```") {
                break;
            }
            content.push_str(inner);
            content.push('\n');
        }
        blocks.push((lang.trim().to_string(), content));
    }
    blocks
}

/// The here-documents of a shell snippet written to a file: (file, content), for
/// `cat > FILE <<'EOF'` and `cat > FILE <<EOF`.
fn heredocs(sh: &str) -> Vec<(String, String)> {
    let mut docs = Vec::new();
    let mut lines = sh.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("cat > ") else {
            continue;
        };
        let Some((file, marker)) = rest.split_once(" <<") else {
            continue;
        };
        let marker = marker.trim_matches('\'');
        let mut content = String::new();
        for inner in lines.by_ref() {
            if inner == marker {
                break;
            }
            content.push_str(inner);
            content.push('\n');
        }
        docs.push((file.trim().to_string(), content));
    }
    docs
}

fn parse_json(what: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: invalid JSON ({e}):\n{text}"))
}

/// The one statement of a queue policy that lets `service` send to the queue from `source_arn`.
fn assert_queue_policy(what: &str, policy: &Value, service: &str, queue_arn: &Value, source_arn: &Value) {
    assert_eq!(policy["Version"], "2012-10-17", "{what}: {policy}");
    let statements = policy["Statement"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {policy}"));
    assert_eq!(statements.len(), 1, "{what}: {policy}");
    let s = &statements[0];
    assert_eq!(s["Effect"], "Allow", "{what}: {s}");
    assert_eq!(s["Principal"], json!({"Service": service}), "{what}: {s}");
    assert_eq!(s["Action"], "sqs:SendMessage", "{what}: {s}");
    assert_eq!(&s["Resource"], queue_arn, "{what}: {s}");
    assert_eq!(
        s["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": source_arn}}),
        "{what}: only this rule or topic may send: {s}"
    );
}

fn event_pattern() -> Value {
    json!({
        "source": ["aws.gamelift"],
        "detail-type": ["GameLift Queue Placement Event", "GameLift Matchmaking Event"]
    })
}

#[test]
fn readme_event_setup_snippets_are_valid_and_consistent() {
    let text = section();
    let blocks = code_blocks(&text);
    let of =
        |lang: &str| -> Vec<&String> { blocks.iter().filter(|(l, _)| l == lang).map(|(_, c)| c).collect() };
    let sh = of("sh");
    assert_eq!(
        sh.len(),
        2,
        "expected the EventBridge and the SNS shell snippets: {blocks:?}"
    );
    let (eventbridge, sns) = (sh[0], sh[1]);

    // EventBridge: the pattern, the rule, its target, the queue policy.
    let docs = heredocs(eventbridge);
    let doc = |file: &str| {
        let (_, content) = docs
            .iter()
            .find(|(f, _)| f == file)
            .unwrap_or_else(|| panic!("no `cat > {file} <<EOF` in the EventBridge snippet"));
        parse_json(file, content)
    };
    assert_eq!(doc("event-pattern.json"), event_pattern());
    assert_queue_policy(
        "queue-policy.json",
        &doc("queue-policy.json"),
        "events.amazonaws.com",
        &json!("$QUEUE_ARN"),
        &json!("$RULE_ARN"),
    );
    let commands = eventbridge.replace("\\\n", " ");
    for part in [
        "RULE_ARN=$(aws events put-rule ",
        "--event-pattern file://event-pattern.json",
        "aws events put-targets ",
        "--targets \"Id=gamelift-exporter,Arn=$QUEUE_ARN\"",
        "aws sqs set-queue-attributes ",
        "--attributes \"$(jq -n --rawfile policy queue-policy.json '{Policy: $policy}')\"",
        "QUEUE_ARN=$(aws sqs get-queue-attributes ",
    ] {
        assert!(
            commands.contains(part),
            "the EventBridge snippet lacks {part:?}:\n{eventbridge}"
        );
    }

    // SNS: the subscription and the queue policy for the topic.
    let docs = heredocs(sns);
    let (_, policy) = docs
        .iter()
        .find(|(f, _)| f == "queue-policy-sns.json")
        .expect("no queue-policy-sns.json in the SNS snippet");
    assert_queue_policy(
        "queue-policy-sns.json",
        &parse_json("queue-policy-sns.json", policy),
        "sns.amazonaws.com",
        &json!("$QUEUE_ARN"),
        &json!("$TOPIC_ARN"),
    );
    let commands = sns.replace("\\\n", " ");
    for part in [
        "aws gamelift update-game-session-queue ",
        "--notification-target \"$TOPIC_ARN\"",
        "aws sns subscribe ",
        "--protocol sqs",
        "--notification-endpoint \"$QUEUE_ARN\"",
        "--rawfile policy queue-policy-sns.json",
    ] {
        assert!(commands.contains(part), "the SNS snippet lacks {part:?}:\n{sns}");
    }

    // CloudFormation: parses, the three resources, wired to each other.
    let yaml = of("yaml");
    assert_eq!(yaml.len(), 1, "expected one CloudFormation template");
    let template: Value = yaml_serde::from_str(yaml[0])
        .unwrap_or_else(|e| panic!("CloudFormation template: invalid YAML ({e}):\n{}", yaml[0]));
    let resources = template["Resources"]
        .as_object()
        .unwrap_or_else(|| panic!("no Resources: {template}"));
    let named = |kind: &str| -> (&String, &Value) {
        let found: Vec<_> = resources.iter().filter(|(_, r)| r["Type"] == kind).collect();
        assert_eq!(found.len(), 1, "expected one {kind}: {template}");
        found[0]
    };
    let (queue, _) = named("AWS::SQS::Queue");
    let (rule, rule_resource) = named("AWS::Events::Rule");
    let (_, policy_resource) = named("AWS::SQS::QueuePolicy");
    assert_eq!(resources.len(), 3, "{template}");
    let rule_props = &rule_resource["Properties"];
    assert_eq!(rule_props["EventPattern"], event_pattern(), "{rule_props}");
    assert_eq!(rule_props["State"], "ENABLED", "{rule_props}");
    assert_eq!(
        rule_props["Targets"],
        json!([{"Id": "gamelift-exporter", "Arn": {"Fn::GetAtt": [queue, "Arn"]}}]),
        "{rule_props}"
    );
    let policy_props = &policy_resource["Properties"];
    assert_eq!(policy_props["Queues"], json!([{"Ref": queue}]), "{policy_props}");
    assert_queue_policy(
        "AWS::SQS::QueuePolicy",
        &policy_props["PolicyDocument"],
        "events.amazonaws.com",
        &json!({"Fn::GetAtt": [queue, "Arn"]}),
        &json!({"Fn::GetAtt": [rule, "Arn"]}),
    );

    // The exporter's IAM statements: exactly the five actions it calls.
    let iam = of("json");
    assert_eq!(iam.len(), 1, "expected one IAM policy");
    let iam = parse_json("IAM policy", iam[0]);
    let mut actions: Vec<String> = iam["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .inspect(|s| assert_eq!(s["Effect"], "Allow", "{s}"))
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "gamelift:DescribeGameSessionQueues",
            "gamelift:DescribeMatchmakingConfigurations",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ]
    );
    println!(
        "README {SECTION:?}: {} code blocks, event pattern, 2 queue policies, a 3-resource template and 5 IAM actions checked",
        blocks.len()
    );
}

#[test]
fn readme_snippet_helpers() {
    let blocks = code_blocks("text\n```sh\na\nb\n```\nmore\n```json\n{}\n```\n");
    assert_eq!(
        blocks,
        [
            ("sh".to_string(), "a\nb\n".to_string()),
            ("json".to_string(), "{}\n".to_string())
        ]
    );
    let docs = heredocs("x\ncat > a.json <<'EOF'\n{\"a\": 1}\nEOF\ncat > b.json <<EOF\n[\"$B\"]\nEOF\n");
    assert_eq!(
        docs,
        [
            ("a.json".to_string(), "{\"a\": 1}\n".to_string()),
            ("b.json".to_string(), "[\"$B\"]\n".to_string())
        ]
    );
}
