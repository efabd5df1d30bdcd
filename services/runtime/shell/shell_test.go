package shell

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunPassesEnvironmentAndDirectory(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), Command{Script: `printf '%s %s' "$FUSION_RUN_ID" "$(pwd)"; echo warn >&2; echo made > out.txt`,
		Dir: dir, Env: []string{"FUSION_RUN_ID=r1"}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Stdout != "r1 "+dir || res.Stderr != "warn\n" {
		t.Errorf("%+v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out.txt")); string(b) != "made\n" {
		t.Errorf("the command's file holds %q", b)
	}
}

func TestFailureCarriesTails(t *testing.T) {
	_, err := Run(context.Background(), Command{Script: "echo partial; echo 'no such table' >&2; exit 3", Timeout: time.Minute})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Result.ExitCode != 3 || ee.TimedOut {
		t.Fatalf("got %v", err)
	}
	if want := "command exited with status 3; stderr: no such table; stdout: partial"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// Only the end of a long output is kept.
func TestTailsAreBounded(t *testing.T) {
	res, err := Run(context.Background(), Command{Script: "seq 1 100000", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) > TailBytes+len("…") || !strings.HasPrefix(res.Stdout, "…") || !strings.HasSuffix(res.Stdout, "99999\n100000\n") {
		t.Errorf("stdout of %d bytes: ...%q", len(res.Stdout), res.Stdout[len(res.Stdout)-20:])
	}
}

// A command past its timeout is killed with its children, and says so.
func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	_, err := Run(context.Background(), Command{Script: "(sleep 2; touch late) & sleep 30", Dir: dir, Timeout: 300 * time.Millisecond})
	var ee *ExitError
	if !errors.As(err, &ee) || !ee.TimedOut || !strings.Contains(err.Error(), "command timed out after 300ms") {
		t.Fatalf("got %v", err)
	}
	// The background child was killed too: it never touches its file.
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "late")); !os.IsNotExist(err) {
		t.Errorf("a child outlived the command: %v", err)
	}
}
