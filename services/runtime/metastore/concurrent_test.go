package metastore

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// childEnv makes the test binary open a store and exit: a second process.
const childEnv = "METASTORE_TEST_OPEN"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		s, err := Open(path)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Processes opening a new home at once must all succeed: `fusion run` and
// `fusion ingest` often start together.
func TestConcurrentOpenAcrossProcesses(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		path := filepath.Join(t.TempDir(), "fusion.db")
		var wg sync.WaitGroup
		for j := 0; j < 4; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(self, "-test.run=^$")
				cmd.Env = append(os.Environ(), childEnv+"="+path)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("process %d: %v: %s", j, err, out)
				}
			}()
		}
		wg.Wait()
	}
}
