package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != ".fusion" || c.PipelinesDir() != ".fusion/pipelines" || c.Concurrency != 2 || c.Retries != 3 || c.LandingPoll != 250*time.Millisecond ||
		c.EngineMemory != "256MB" || c.WarehouseMemory != "64MB" {
		t.Errorf("%+v", c)
	}
}

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"FUSION_HOME": "/data/f", "FUSION_RETRIES": "0", "FUSION_CONCURRENCY": "8", "FUSION_LOG_LEVEL": "debug", "FUSION_LANDING_POLL": "1s",
		"FUSION_ENGINE_MEMORY": "1GB", "FUSION_WAREHOUSE_MEMORY": "512MB"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != "/data/f" || c.Retries != 0 || c.Concurrency != 8 || c.LogLevel.String() != "DEBUG" || c.LandingPoll != time.Second ||
		c.EngineMemory != "1GB" || c.WarehouseMemory != "512MB" {
		t.Errorf("%+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"FUSION_CONCURRENCY": "many", "FUSION_RETRIES": "11", "FUSION_TRANSPORT": "carrier-pigeon"}))
	for _, want := range []string{"FUSION_CONCURRENCY", "FUSION_TRANSPORT"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	_, err = FromEnv(env(map[string]string{"FUSION_RETRIES": "11"}))
	if err == nil || !strings.Contains(err.Error(), "FUSION_RETRIES") {
		t.Errorf("retries: %v", err)
	}
}

func TestWarehouseAndConnections(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"FUSION_WAREHOUSE": "snowflake://u:p@acct/DB/PUBLIC?warehouse=wh",
		"FUSION_CONN_CRM":  "postgres://app@db:5432/crm",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if scheme, dsn := SchemeOf(c.Warehouse); scheme != SchemeSnowflake || dsn != "u:p@acct/DB/PUBLIC?warehouse=wh" {
		t.Errorf("warehouse %s %s", scheme, dsn)
	}
	if c.Connections["crm"] != "postgres://app@db:5432/crm" {
		t.Errorf("connections %v", c.Connections)
	}
	_, err = FromEnv(env(map[string]string{"FUSION_WAREHOUSE": "mysql://x", "FUSION_CONN_X": "duckdb"}))
	if err == nil || !strings.Contains(err.Error(), "FUSION_WAREHOUSE") || !strings.Contains(err.Error(), "FUSION_CONN_X") {
		t.Errorf("got %v", err)
	}
}

func TestLedgerTableAndDeadlineCheck(t *testing.T) {
	aws := map[string]string{"FUSION_TRANSPORT": "aws", "FUSION_LAKE_BUCKET": "lake"}
	c, err := FromEnv(env(aws))
	if err != nil {
		t.Fatal(err)
	}
	if c.LedgerTable != "fusion-ledger" || c.DeadlineCheck != 30*time.Second {
		t.Errorf("default ledger table %q, deadline check %v", c.LedgerTable, c.DeadlineCheck)
	}
	aws["FUSION_QUEUE_PREFIX"] = "prod-"
	if c, _ := FromEnv(env(aws)); c.LedgerTable != "prod-ledger" {
		t.Errorf("ledger table %q, want prod-ledger", c.LedgerTable)
	}
	aws["FUSION_LEDGER_TABLE"], aws["FUSION_DEADLINE_CHECK"] = "history", "250ms"
	if c, _ := FromEnv(env(aws)); c.LedgerTable != "history" || c.DeadlineCheck != 250*time.Millisecond {
		t.Errorf("ledger table %q, deadline check %v", c.LedgerTable, c.DeadlineCheck)
	}
	for _, bad := range []string{"1ms", "soon"} {
		aws["FUSION_DEADLINE_CHECK"] = bad
		if _, err := FromEnv(env(aws)); err == nil || !strings.Contains(err.Error(), "FUSION_DEADLINE_CHECK") {
			t.Errorf("FUSION_DEADLINE_CHECK=%s: %v", bad, err)
		}
	}
}

func TestDedupTableDerivesFromTheQueuePrefix(t *testing.T) {
	aws := map[string]string{"FUSION_TRANSPORT": "aws", "FUSION_LAKE_BUCKET": "lake"}
	c, err := FromEnv(env(aws))
	if err != nil {
		t.Fatal(err)
	}
	if c.DedupTable != "fusion-handled" || c.DedupRetention != 14*24*time.Hour {
		t.Errorf("default dedup table %q, retention %v", c.DedupTable, c.DedupRetention)
	}
	aws["FUSION_QUEUE_PREFIX"] = "prod-"
	if c, _ := FromEnv(env(aws)); c.DedupTable != "prod-handled" {
		t.Errorf("dedup table %q, want prod-handled", c.DedupTable)
	}
	aws["FUSION_DEDUP_TABLE"], aws["FUSION_DEDUP_RETENTION"] = "marks", "48h"
	if c, _ := FromEnv(env(aws)); c.DedupTable != "marks" || c.DedupRetention != 48*time.Hour {
		t.Errorf("dedup table %q, retention %v", c.DedupTable, c.DedupRetention)
	}
	aws["FUSION_DEDUP_RETENTION"] = "1s"
	if _, err := FromEnv(env(aws)); err == nil || !strings.Contains(err.Error(), "FUSION_DEDUP_RETENTION") {
		t.Errorf("short retention: %v", err)
	}
}
