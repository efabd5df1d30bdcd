package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/snowflakedb/gosnowflake"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse/snowwh"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// inSnowflake pushes the transform down into Snowflake (ELT): the input is
// staged into a table of a Snowflake session, the SQL runs there with that
// table as "input", and its result streams back into out.
func (h *transformer) inSnowflake(ctx context.Context, p *pipeline.Pipeline, _ messages.DatasetRef, paths []string, out string) ([]messages.Column, int64, error) {
	sf, err := h.snowflake(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	conn, err := sf.Conn(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	input, drop, err := sf.StageFiles(ctx, conn, paths)
	defer drop()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: stage the input in Snowflake: %w", p.File, err)
	}
	query := strings.TrimRight(strings.TrimSpace(p.Transform.SQL), ";")
	rows, err := conn.QueryContext(ctx, fmt.Sprintf("WITH input AS (SELECT * FROM %s) SELECT * FROM (%s)", input, query))
	if err != nil {
		return nil, 0, sqlError(p, err)
	}
	econn, err := h.deps.Engine.Conn(ctx)
	if err != nil {
		rows.Close()
		return nil, 0, err
	}
	defer econn.Close()
	schema, n, err := resultToParquet(ctx, rows, econn, h.deps.Engine.TempDir(), out)
	rows.Close()
	if err != nil {
		return nil, 0, sqlError(p, err)
	}
	return schema, n, nil
}

// snowflake returns the warehouse of the pipeline's Snowflake connection,
// opened once per process and kept: a Snowflake login is slow.
func (h *transformer) snowflake(ctx context.Context, p *pipeline.Pipeline) (*snowwh.Warehouse, error) {
	name := p.Transform.Connection
	if name == "" {
		name = worker.WarehouseConnection
	}
	url, err := h.deps.Connection(name)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("%s: transform.connection: %w", p.File, err))
	}
	scheme, dsn := config.SchemeOf(url)
	if scheme != config.SchemeSnowflake {
		return nil, worker.Permanent(fmt.Errorf("%s: transform.connection: %q is a %s connection, engine snowflake needs a snowflake:// URL", p.File, name, scheme))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if sf, ok := h.snow[dsn]; ok {
		return sf, nil
	}
	sf, err := snowwh.Open(ctx, dsn, snowwh.Options{MemoryLimit: "64MB"})
	if err != nil {
		return nil, err
	}
	h.snow[dsn] = sf
	return sf, nil
}

// compileErrors are Snowflake's error numbers for SQL that cannot compile:
// a syntax error, an invalid identifier, an object that does not exist or
// is not authorized, an unknown function.
var compileErrors = map[int]bool{1003: true, 904: true, 2003: true, 2043: true, 2140: true}

// sqlError makes a Snowflake SQL error that will not go away (SQLSTATE
// class 42, a compilation error) permanent: the pipeline must change,
// retrying won't help.
func sqlError(p *pipeline.Pipeline, err error) error {
	var se *gosnowflake.SnowflakeError
	if errors.As(err, &se) && (strings.HasPrefix(se.SQLState, "42") || compileErrors[se.Number]) {
		return worker.Permanent(fmt.Errorf("%s: transform.sql (in Snowflake): %w", p.File, err))
	}
	return err
}
