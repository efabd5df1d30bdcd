package handler

import (
	"context"
	"errors"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
)

// inSnowflake pushes the transform down into Snowflake (ELT): the input is
// staged into a temporary table "input" of a Snowflake session, the SQL
// runs there, and its result streams back into out.
func (h *transformer) inSnowflake(ctx context.Context, p *pipeline.Pipeline, input messages.DatasetRef, paths []string, out string) ([]messages.Column, int64, error) {
	return nil, 0, errors.New("not yet")
}
