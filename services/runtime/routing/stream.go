package routing

import (
	"encoding/json"
	"fmt"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// StreamQueue receives the stream records of every streaming pipeline.
// The ingest worker's micro-batcher consumes it (not a pipeline step: a
// micro-batch starts its run only once sealed, as a landed object).
const StreamQueue = "stream"

// streamRules routes a streaming pipeline's records to the stream queue;
// records for a pipeline that does not stream match no rule and are
// dropped, as EventBridge drops what no rule matches.
func streamRules(p *pipeline.Pipeline) []Rule {
	if p.Stream == nil {
		return nil
	}
	return []Rule{{
		Name:        RuleName(p.Name, "stream-records"),
		Description: fmt.Sprintf("%s: records to micro-batch", p.Name),
		Target:      StreamQueue,
		Pattern: json.RawMessage(fmt.Sprintf(`{"source":[%q],"detail-type":[%q],"detail":{"pipeline":[%q]}}`,
			messages.SourceStream, messages.TypeStreamRecords, p.Name)),
	}}
}
