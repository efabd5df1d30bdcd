package stack

import (
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/routing"
)

// taskSize is each worker's Fargate size: CPU units and MiB.
var taskSize = map[string][2]string{
	pipeline.WorkerIngest:    {"1024", "2048"},
	pipeline.WorkerTransform: {"2048", "4096"},
	pipeline.WorkerTraindata: {"2048", "4096"},
	pipeline.WorkerInference: {"2048", "4096"},
	pipeline.WorkerLoader:    {"1024", "2048"},
}

// addCompute adds the ECS cluster and, per worker, its role, log group,
// task definition, service and queue-backlog autoscaling.
// metricsPort is where every task serves /metrics: the OpenTelemetry
// Prometheus exporter's default port.
const (
	metricsPort       = "9464"
	metricsPortNumber = 9464
)

func addCompute(add func(string, m)) {
	add("Cluster", m{"Type": "AWS::ECS::Cluster", "Properties": m{
		"ClusterName":     ref("Prefix"),
		"ClusterSettings": []m{{"Name": "containerInsights", "Value": "enabled"}},
	}})
	add("ClusterCapacityProviders", m{"Type": "AWS::ECS::ClusterCapacityProviderAssociations", "Properties": m{
		"Cluster":                         ref("Cluster"),
		"CapacityProviders":               []string{"FARGATE", "FARGATE_SPOT"},
		"DefaultCapacityProviderStrategy": []m{{"CapacityProvider": "FARGATE", "Weight": 1}},
	}})
	add("TaskExecutionRole", m{"Type": "AWS::IAM::Role", "Properties": m{
		"AssumeRolePolicyDocument": assume("ecs-tasks.amazonaws.com"),
		"ManagedPolicyArns":        []any{sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")},
	}})
	// EventBridge Scheduler starts scheduled pipelines by putting events on the bus.
	add("SchedulerRole", m{"Type": "AWS::IAM::Role", "Properties": m{
		"AssumeRolePolicyDocument": assume("scheduler.amazonaws.com"),
		"Policies": []m{{"PolicyName": "put-events", "PolicyDocument": policy(
			stmt("events:PutEvents", getAtt("Bus", "Arn")),
		)}},
	}})

	for _, w := range append(append([]string{}, pipeline.Workers...), routing.LedgerQueue) {
		id := logicalID(w)
		add(id+"Logs", m{"Type": "AWS::Logs::LogGroup", "Properties": m{
			"LogGroupName": sub("/${Prefix}/" + w), "RetentionInDays": 30,
		}})
		add(id+"Role", m{"Type": "AWS::IAM::Role", "Properties": m{
			"AssumeRolePolicyDocument": assume("ecs-tasks.amazonaws.com"),
			"Policies":                 []m{{"PolicyName": w, "PolicyDocument": workerPolicy(w)}},
		}})
		size, ok := taskSize[w]
		if !ok {
			size = [2]string{"512", "1024"}
		}
		command := []string{"/usr/local/bin/" + w}
		if w == routing.LedgerQueue {
			// The run ledger and failure notices: fusion run without workers.
			command = []string{"/usr/local/bin/fusion", "run", "--workers", "none"}
		}
		add(id+"Task", m{"Type": "AWS::ECS::TaskDefinition", "Properties": m{
			"Family":                  prefixed(w),
			"RequiresCompatibilities": []string{"FARGATE"},
			"NetworkMode":             "awsvpc",
			"Cpu":                     size[0],
			"Memory":                  size[1],
			"ExecutionRoleArn":        arnOf("TaskExecutionRole"),
			"TaskRoleArn":             arnOf(id + "Role"),
			"RuntimePlatform":         m{"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"},
			"ContainerDefinitions": []m{{
				"Name":        w,
				"Image":       ref("Image"),
				"Essential":   true,
				"Command":     command,
				"StopTimeout": 120, // a running step finishes before the task stops
				"Environment": append([]m{
					{"Name": "FUSION_TRANSPORT", "Value": "aws"},
					{"Name": "FUSION_LAKE_BUCKET", "Value": ref("LakeBucketName")},
					{"Name": "FUSION_EVENT_BUS", "Value": getAtt("Bus", "Name")},
					{"Name": "FUSION_QUEUE_PREFIX", "Value": sub("${Prefix}-")},
					{"Name": "FUSION_TOPIC_PREFIX", "Value": sub("${Prefix}-")},
					{"Name": "FUSION_DEDUP_TABLE", "Value": ref(dedupTableID)},
					{"Name": "FUSION_LEDGER_TABLE", "Value": ref(ledgerTableID)},
					{"Name": "FUSION_HOME", "Value": "/var/lib/fusion"},
					{"Name": "AWS_REGION", "Value": ref("AWS::Region")},
					// Prometheus (or the CloudWatch agent) scrapes each task here.
					{"Name": "FUSION_METRICS_ADDR", "Value": ":" + metricsPort},
				}, httpEnv(w)...), // streams.go
				"PortMappings": append([]m{{"Name": "metrics", "ContainerPort": metricsPortNumber, "Protocol": "tcp"}}, httpPorts(w)...),
				"LogConfiguration": m{"LogDriver": "awslogs", "Options": m{
					"awslogs-group": ref(id + "Logs"), "awslogs-region": ref("AWS::Region"), "awslogs-stream-prefix": w,
				}},
			}},
		}})
		strategy := []m{{"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1}}
		if batchWorkers[w] {
			// One on-demand task always; the rest on Spot at a quarter of the price.
			strategy = append(strategy, m{"CapacityProvider": "FARGATE_SPOT", "Weight": 3})
		}
		add(id+"Service", m{"Type": "AWS::ECS::Service", "DependsOn": []string{"ClusterCapacityProviders"}, "Properties": m{
			"ServiceName":              prefixed(w),
			"Cluster":                  ref("Cluster"),
			"TaskDefinition":           ref(id + "Task"),
			"DesiredCount":             1,
			"CapacityProviderStrategy": strategy,
			"NetworkConfiguration": m{"AwsvpcConfiguration": m{
				"Subnets": ref("Subnets"), "SecurityGroups": ref("SecurityGroups"), "AssignPublicIp": "ENABLED",
			}},
			"DeploymentConfiguration": m{"MinimumHealthyPercent": 100, "MaximumPercent": 200},
		}})
		if w != routing.LedgerQueue {
			addAutoscaling(add, w)
		}
	}
}

// addAutoscaling scales a worker on its backlog per task: the queue's
// visible messages divided by the service's running tasks, by metric math.
func addAutoscaling(add func(string, m), w string) {
	id := logicalID(w)
	add(id+"ScalableTarget", m{"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": m{
		"ServiceNamespace":  "ecs",
		"ScalableDimension": "ecs:service:DesiredCount",
		"ResourceId":        join("service/", ref("Cluster"), "/", getAtt(id+"Service", "Name")),
		"MinCapacity":       1,
		"MaxCapacity":       ref("MaxTasks"),
	}})
	add(id+"ScalingPolicy", m{"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": m{
		"PolicyName":      prefixed(w + "-backlog-per-task"),
		"PolicyType":      "TargetTrackingScaling",
		"ScalingTargetId": ref(id + "ScalableTarget"),
		"TargetTrackingScalingPolicyConfiguration": m{
			"TargetValue":      ref("BacklogPerTask"),
			"ScaleInCooldown":  120,
			"ScaleOutCooldown": 30,
			"CustomizedMetricSpecification": m{"Metrics": []m{
				{"Id": "backlog", "ReturnData": false, "MetricStat": m{"Stat": "Sum", "Metric": m{
					"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
					"Dimensions": []m{{"Name": "QueueName", "Value": getAtt(queueID(w), "QueueName")}},
				}}},
				{"Id": "tasks", "ReturnData": false, "MetricStat": m{"Stat": "Average", "Metric": m{
					"Namespace": "ECS/ContainerInsights", "MetricName": "RunningTaskCount",
					"Dimensions": []m{{"Name": "ClusterName", "Value": ref("Cluster")}, {"Name": "ServiceName", "Value": getAtt(id+"Service", "Name")}},
				}}},
				{"Id": "backlog_per_task", "Label": "Backlog per task", "ReturnData": true, "Expression": "backlog / MAX([tasks, 1])"},
			}},
		},
	}})
}

func assume(service string) m {
	return m{"Version": "2012-10-17", "Statement": []m{{
		"Effect": "Allow", "Principal": m{"Service": service}, "Action": "sts:AssumeRole",
	}}}
}

func policy(statements ...m) m { return m{"Version": "2012-10-17", "Statement": statements} }

func stmt(actions any, resources ...any) m {
	return m{"Effect": "Allow", "Action": actions, "Resource": resources}
}

func objects(zone string) any {
	return join("arn:", ref("AWS::Partition"), ":s3:::", ref("LakeBucketName"), "/"+zone+"/*")
}

// workerPolicy grants a worker its queue, its dead-letter queue, the bus,
// the failures topic, its marks in the dedup table and the lake prefixes
// it reads and writes — nothing else. The ledger consumes the ledger and
// failures queues, reads and writes the run ledger's table (a consistent
// Query of a run's items or of an index, conditional PutItem, alone or in
// a transaction) and announces late runs on the bus and the failures topic.
func workerPolicy(w string) m {
	if w == routing.LedgerQueue {
		consume := []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}
		return policy(
			stmt(consume, arnOf(queueID(routing.LedgerQueue)), arnOf(queueID(routing.FailuresQueue))),
			stmt([]string{"sqs:SendMessage", "sqs:GetQueueUrl"}, arnOf(dlqID(routing.LedgerQueue)), arnOf(dlqID(routing.FailuresQueue))),
			stmt([]string{"dynamodb:Query", "dynamodb:PutItem"}, arnOf(ledgerTableID), ledgerIndexes()),
			stmt("events:PutEvents", getAtt("Bus", "Arn")),
			stmt("sns:Publish", ref(logicalID(routing.FailuresTopic)+"Topic")),
			stmt("sns:ListTopics", "*"),
		)
	}
	z := zones[w]
	var read, write, del []any
	for _, p := range append(z.read, "claims") {
		read = append(read, objects(p))
	}
	for _, p := range z.write {
		write = append(write, objects(p))
	}
	for _, p := range z.delete {
		del = append(del, objects(p))
	}
	statements := []m{
		stmt([]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}, arnOf(queueID(w))),
		stmt([]string{"sqs:SendMessage", "sqs:GetQueueUrl"}, arnOf(dlqID(w))),
		stmt("events:PutEvents", getAtt("Bus", "Arn")),
		stmt("sns:Publish", ref(logicalID(routing.FailuresTopic)+"Topic")),
		stmt("sns:ListTopics", "*"),
		stmt([]string{"dynamodb:GetItem", "dynamodb:PutItem"}, arnOf(dedupTableID)),
		stmt("s3:ListBucket", join("arn:", ref("AWS::Partition"), ":s3:::", ref("LakeBucketName"))),
		stmt("s3:GetObject", read...),
		stmt([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, write...),
	}
	if len(del) > 0 {
		statements = append(statements, stmt("s3:DeleteObject", del...))
	}
	return policy(statements...)
}
