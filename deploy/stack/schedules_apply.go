package stack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"gopkg.in/yaml.v3"

	"github.com/fusiondata/fusion/services/runtime/awsenv"
)

// templateSchedule is what the template says of one schedule (as
// addSchedules renders it; the ARNs it takes by Fn::GetAtt are looked up).
type templateSchedule struct {
	Name struct {
		Sub string `yaml:"Fn::Sub"`
	} `yaml:"Name"`
	Description        string `yaml:"Description"`
	ScheduleExpression string `yaml:"ScheduleExpression"`
	Timezone           string `yaml:"ScheduleExpressionTimezone"`
	Target             struct {
		Input                 string `yaml:"Input"`
		EventBridgeParameters struct {
			DetailType string `yaml:"DetailType"`
			Source     string `yaml:"Source"`
		} `yaml:"EventBridgeParameters"`
		RetryPolicy struct {
			MaximumEventAgeInSeconds int32 `yaml:"MaximumEventAgeInSeconds"`
			MaximumRetryAttempts     int32 `yaml:"MaximumRetryAttempts"`
		} `yaml:"RetryPolicy"`
	} `yaml:"Target"`
}

// schedulesOf reads the schedules of a rendered template, by logical id.
func schedulesOf(template []byte) (map[string]templateSchedule, error) {
	var tpl struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(template, &tpl); err != nil {
		return nil, err
	}
	out := map[string]templateSchedule{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Scheduler::Schedule" {
			continue
		}
		var s templateSchedule
		if err := r.Properties.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		out[id] = s
	}
	return out, nil
}

// reconcileSchedules makes sure every schedule of the template exists in
// EventBridge Scheduler as the template says: CloudFormation emulators
// skip AWS::Scheduler::Schedule (moto does); on AWS, CloudFormation made
// them and this changes nothing.
func reconcileSchedules(ctx context.Context, c awsenv.Clients, template []byte, d Deployment) error {
	want, err := schedulesOf(template)
	if err != nil || len(want) == 0 {
		return err
	}
	bus, err := c.EventBridge.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(d.Prefix())})
	if err != nil {
		return fmt.Errorf("schedules: bus %s: %w", d.Prefix(), err)
	}
	role, err := schedulerRoleArn(ctx, c, d)
	if err != nil {
		return err
	}
	dlq, err := queueArn(ctx, c.SQS, d.Prefix()+"-"+schedulesDLQSuffix)
	if err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	sc := scheduler.NewFromConfig(c.Config)
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := want[id]
		name := strings.ReplaceAll(s.Name.Sub, "${Prefix}", d.Prefix())
		target := &schedtypes.Target{
			Arn: bus.Arn, RoleArn: aws.String(role), Input: aws.String(s.Target.Input),
			EventBridgeParameters: &schedtypes.EventBridgeParameters{DetailType: aws.String(s.Target.EventBridgeParameters.DetailType), Source: aws.String(s.Target.EventBridgeParameters.Source)},
			RetryPolicy:           &schedtypes.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(s.Target.RetryPolicy.MaximumEventAgeInSeconds), MaximumRetryAttempts: aws.Int32(s.Target.RetryPolicy.MaximumRetryAttempts)},
			DeadLetterConfig:      &schedtypes.DeadLetterConfig{Arn: aws.String(dlq)},
		}
		window := &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff}
		have, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: &name})
		var missing *schedtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			_, err = sc.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: &name, Description: aws.String(s.Description),
				ScheduleExpression: aws.String(s.ScheduleExpression), ScheduleExpressionTimezone: aws.String(s.Timezone),
				FlexibleTimeWindow: window, State: schedtypes.ScheduleStateEnabled, Target: target})
		case err != nil:
		case !sameSchedule(have, s, target):
			_, err = sc.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{Name: &name, Description: aws.String(s.Description),
				ScheduleExpression: aws.String(s.ScheduleExpression), ScheduleExpressionTimezone: aws.String(s.Timezone),
				FlexibleTimeWindow: window, State: schedtypes.ScheduleStateEnabled, Target: target})
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", name, err)
		}
	}
	return nil
}

// sameSchedule reports whether a schedule already is what the template says.
func sameSchedule(have *scheduler.GetScheduleOutput, s templateSchedule, t *schedtypes.Target) bool {
	h := have.Target
	return h != nil && aws.ToString(have.ScheduleExpression) == s.ScheduleExpression &&
		aws.ToString(have.ScheduleExpressionTimezone) == s.Timezone && have.State == schedtypes.ScheduleStateEnabled &&
		aws.ToString(h.Arn) == aws.ToString(t.Arn) && aws.ToString(h.RoleArn) == aws.ToString(t.RoleArn) &&
		aws.ToString(h.Input) == aws.ToString(t.Input) && h.EventBridgeParameters != nil &&
		aws.ToString(h.EventBridgeParameters.DetailType) == aws.ToString(t.EventBridgeParameters.DetailType) &&
		aws.ToString(h.EventBridgeParameters.Source) == aws.ToString(t.EventBridgeParameters.Source)
}

// schedulerRoleArn is the ARN of the stack's SchedulerRole, from the
// stack's outputs (emulators fail to list a stack's resources when some
// were skipped).
func schedulerRoleArn(ctx context.Context, c awsenv.Clients, d Deployment) (string, error) {
	cf := cloudformation.NewFromConfig(c.Config)
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.StackName)})
	if err != nil {
		return "", fmt.Errorf("schedules: stack %s: %w", d.StackName, err)
	}
	for _, st := range out.Stacks {
		for _, o := range st.Outputs {
			if aws.ToString(o.OutputKey) == "SchedulerRoleArn" && aws.ToString(o.OutputValue) != "" {
				return aws.ToString(o.OutputValue), nil
			}
		}
	}
	return "", fmt.Errorf("schedules: stack %s has no SchedulerRoleArn output", d.StackName)
}
