package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fusiondata/fusion/deploy/stack"
	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

func (a *app) deployCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Render or deploy the AWS stack (CloudFormation) from the pipeline definitions",
	}
	cmd.AddCommand(a.deployRenderCmd(), a.deployApplyCmd())
	return cmd
}

// pipelinesForDeploy reads the pipeline directory (the sample pipelines
// when there is none yet); every file must be valid.
func (a *app) pipelinesForDeploy() ([]*pipeline.Pipeline, error) {
	reg, err := a.readPipelines()
	if err != nil {
		return nil, err
	}
	if problems := reg.Problems(); len(problems) > 0 {
		return nil, fmt.Errorf("%d pipeline files have problems, first: %w", len(problems), problems[0])
	}
	return reg.All(), nil
}

func (a *app) deployRenderCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the CloudFormation template for the pipelines (--pipelines)",
		Long: `render writes the CloudFormation template of the whole AWS stack — event bus
and rules, queues with dead-letter queues, the failures topic, the lake bucket,
an ECS cluster with one Fargate service per worker, roles and autoscaling —
derived from the pipeline definitions and routing rules. The committed
deploy/cloudformation/fusion.yaml is:

  fusion deploy render --pipelines deploy/pipelines -o deploy/cloudformation/fusion.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := a.pipelinesForDeploy()
			if err != nil {
				return err
			}
			tpl, err := stack.Render(ps)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = a.out.Write(tpl)
				return err
			}
			return os.WriteFile(out, tpl, 0o644)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (default stdout)")
	return cmd
}

func (a *app) deployApplyCmd() *cobra.Command {
	d := stack.Deployment{Parameters: map[string]string{}}
	var params []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "apply --stack NAME --param LakeBucketName=BUCKET [--param K=V]...",
		Short: "Create or update the stack with the AWS SDK's default configuration",
		Long: `apply renders the template and creates or updates the CloudFormation stack,
waits for it, then makes sure of the lake bucket's EventBridge notifications
and the topics' queue subscriptions (which some CloudFormation emulators skip;
on AWS this changes nothing). Credentials, region and endpoint come from the
AWS SDK's default chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...).

Parameters: LakeBucketName (required), Prefix (fusion), Image, Subnets,
SecurityGroups, MaxTasks, BacklogPerTask.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok {
					return fmt.Errorf("--param %q: want KEY=VALUE", p)
				}
				d.Parameters[k] = v
			}
			if d.Parameters["LakeBucketName"] == "" {
				return fmt.Errorf("--param LakeBucketName=BUCKET is required")
			}
			ps, err := a.pipelinesForDeploy()
			if err != nil {
				return err
			}
			tpl, err := stack.Render(ps)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			clients, err := awsenv.Load(ctx, a.cfg.S3PathStyle)
			if err != nil {
				return err
			}
			if err := stack.Apply(ctx, clients, tpl, d); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "stack %s deployed (bucket %s, prefix %s)\n", d.StackName, d.Parameters["LakeBucketName"], d.Prefix())
			return nil
		},
	}
	cmd.Flags().StringVar(&d.StackName, "stack", "fusion", "CloudFormation stack name")
	cmd.Flags().StringArrayVar(&params, "param", nil, "template parameter KEY=VALUE (repeatable)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Minute, "give up after this long")
	return cmd
}
