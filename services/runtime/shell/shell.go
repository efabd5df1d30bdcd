// Package shell runs the shell commands pipelines declare (a precondition
// that a command succeeds, a shell activity): sh -c, in a directory of its
// own, with extra environment, bounded in time, its output kept to a tail.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Command is one run of sh -c.
type Command struct {
	Script  string
	Dir     string   // the working directory; the process's when ""
	Env     []string // KEY=value pairs added to the process's environment
	Timeout time.Duration
}

// Result is what a finished command left.
type Result struct {
	ExitCode int
	// Stdout and Stderr are the last TailBytes of each stream.
	Stdout, Stderr string
	Duration       time.Duration
}

// TailBytes is how much of each stream a Result keeps.
const TailBytes = 2048

// ExitError is a command that ran and failed: a non-zero exit, a signal,
// or the timeout. Its message carries both streams' tails.
type ExitError struct {
	Script   string
	Result   Result
	TimedOut bool
	Timeout  time.Duration
	Err      error
}

func (e *ExitError) Error() string {
	var b strings.Builder
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, "command timed out after %v", e.Timeout)
	case e.Result.ExitCode > 0:
		fmt.Fprintf(&b, "command exited with status %d", e.Result.ExitCode)
	default:
		fmt.Fprintf(&b, "command failed: %v", e.Err)
	}
	if s := strings.TrimSpace(e.Result.Stderr); s != "" {
		fmt.Fprintf(&b, "; stderr: %s", s)
	}
	if s := strings.TrimSpace(e.Result.Stdout); s != "" {
		fmt.Fprintf(&b, "; stdout: %s", s)
	}
	return b.String()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Run runs the command. It returns an *ExitError when the command ran and
// failed or timed out, and another error when it could not start or ctx
// ended. The whole process group is killed on timeout or cancellation,
// so a command's children do not outlive it.
func Run(ctx context.Context, c Command) (Result, error) {
	if c.Timeout <= 0 {
		return Result{}, errors.New("shell: a command needs a timeout")
	}
	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "sh", "-c", c.Script)
	cmd.Dir = c.Dir
	cmd.Env = append(cmd.Environ(), c.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // output pipes held by a stray child
	var stdout, stderr tail
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	// ExitCode is -1 for a process killed by a signal, or never started.
	res := Result{ExitCode: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, ctx.Err()
	case runCtx.Err() != nil:
		return res, &ExitError{Script: c.Script, Result: res, TimedOut: true, Timeout: c.Timeout, Err: runCtx.Err()}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return res, &ExitError{Script: c.Script, Result: res, Err: err}
	}
	return res, fmt.Errorf("shell: start sh: %w", err)
}

// tail keeps the last TailBytes written to it.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) > TailBytes {
		p = p[len(p)-TailBytes:]
		t.cut = true
	}
	t.buf.Write(p)
	if over := t.buf.Len() - TailBytes; over > 0 {
		t.buf.Next(over)
		t.cut = true
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cut {
		return "…" + t.buf.String()
	}
	return t.buf.String()
}
