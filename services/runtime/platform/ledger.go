package platform

import (
	"context"
	"path/filepath"

	"github.com/fusiondata/fusion/services/runtime/awsenv"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/ledger/dynamoledger"
	"github.com/fusiondata/fusion/services/runtime/metastore"
)

// openLedger picks the tier's run ledger: the home's metastore on the
// embedded tier; on the aws tier, whose homes are per task and ephemeral,
// the DynamoDB table every process shares (Config.LedgerTable).
func (p *Platform) openLedger(home *metastore.Store) (ledger.Store, error) {
	if p.aws == nil {
		return home, nil
	}
	return dynamoledger.New(p.aws.DynamoDB, dynamoledger.Config{Table: p.Config.LedgerTable})
}

// OpenLedger opens the configured tier's run ledger alone, without the
// rest of the platform, to read it (`fusion runs`). close releases it.
func OpenLedger(ctx context.Context, cfg config.Config) (l ledger.Store, close func() error, err error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Transport == config.TransportAWS {
		clients, err := awsenv.Load(ctx, cfg.S3PathStyle)
		if err != nil {
			return nil, nil, err
		}
		l, err := dynamoledger.New(clients.DynamoDB, dynamoledger.Config{Table: cfg.LedgerTable})
		return l, func() error { return nil }, err
	}
	store, err := metastore.Open(filepath.Join(cfg.Home, MetaFile))
	if err != nil {
		return nil, nil, err
	}
	return store, store.Close, nil
}

// Plan describes a pipeline to the run ledger: the steps its runs go
// through and its deadline (the zero Plan if the pipeline is unknown).
func (p *Platform) Plan(name string) ledger.Plan {
	pl, err := p.Pipelines.Get(name)
	if err != nil {
		return ledger.Plan{}
	}
	return ledger.Plan{Steps: p.Expected(name), Deadline: pl.DeadlineDuration()}
}

// checkDeadlines announces, once each, the runs open past their pipeline's
// deadline, looking every Config.DeadlineCheck until ctx is cancelled.
func (p *Platform) checkDeadlines(ctx context.Context) {
	c := &ledger.LateChecker{Store: p.Ledger, Bus: p.Transport.Bus, Interval: p.Config.DeadlineCheck, Log: p.Log}
	c.Run(ctx)
}
