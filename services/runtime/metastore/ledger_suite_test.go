package metastore_test

import (
	"path/filepath"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/ledger"
	"github.com/fusiondata/fusion/services/runtime/ledger/ledgertest"
	"github.com/fusiondata/fusion/services/runtime/metastore"
)

// The home's ledger passes the conformance suite; another handle is
// another connection pool on the same file, as a second process has.
func TestLedgerConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) (ledger.Store, func() ledger.Store) {
		path := filepath.Join(t.TempDir(), "fusion.db")
		open := func() ledger.Store {
			s, err := metastore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	})
}
