package warehousetest

import (
	"os"
	"testing"
)

// PostgresDSN is the throwaway Postgres that scripts/test.sh warehouse
// starts. Tests of the warehouse tier run only there; without it they fail
// loudly rather than pass without testing anything.
func PostgresDSN(t testing.TB) string {
	return serverDSN(t, "FUSION_TEST_POSTGRES_DSN", "a throwaway Postgres")
}

// SnowflakeDSN is the gosnowflake DSN of the fakesnow server that
// scripts/test.sh warehouse starts.
func SnowflakeDSN(t testing.TB) string {
	return serverDSN(t, "FUSION_TEST_SNOWFLAKE_DSN", "fakesnow")
}

func serverDSN(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run scripts/test.sh warehouse, which starts %s and sets it", name, what)
	}
	return v
}
