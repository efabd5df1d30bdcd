package dynamoledger

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fusiondata/fusion/services/runtime/ledger"
)

// Overdue queries IndexDue for runs whose next check has come and keeps
// those that, read again from their partition, are claimable.
func (d *Ledger) Overdue(ctx context.Context, now time.Time, limit int) ([]ledger.Run, error) {
	runs, err := d.fromIndex(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexDue),
		KeyConditionExpression:    aws.String("#q = :q AND #next <= :now"),
		ExpressionAttributeNames:  map[string]string{"#q": AttrDueQueue, "#next": AttrNextCheck},
		ExpressionAttributeValues: item{":q": str(dueQueue), ":now": num(now.UnixNano())},
	}, limit)
	if err != nil {
		return nil, err
	}
	out := runs[:0]
	for _, r := range runs {
		if ledger.Claimable(r, now) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (d *Ledger) ClaimLate(ctx context.Context, runID string, now time.Time, lease time.Duration) (bool, error) {
	claimed := false
	err := d.update(ctx, runID, func(s *stored) ([]ledger.Step, bool, error) {
		claimed = false
		if !s.found {
			return nil, false, fmt.Errorf("run %s: %w", runID, ledger.ErrNotFound)
		}
		if !ledger.Claimable(ledger.Assemble(s.run), now) {
			return nil, false, nil
		}
		ledger.Claim(&s.run, now, lease)
		claimed = true
		return nil, true, nil
	})
	return claimed && err == nil, err
}

func (d *Ledger) LateNotified(ctx context.Context, runID string, at time.Time) error {
	return d.update(ctx, runID, func(s *stored) ([]ledger.Step, bool, error) {
		switch {
		case !s.found:
			return nil, false, fmt.Errorf("run %s: %w", runID, ledger.ErrNotFound)
		case !s.run.LateNotifiedAt.IsZero():
			return nil, false, nil
		case s.run.LateAt.IsZero():
			return nil, false, fmt.Errorf("run %s: %w", runID, ledger.ErrNotClaimed)
		}
		ledger.Notified(&s.run, at)
		return nil, true, nil
	})
}
