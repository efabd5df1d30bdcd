package worker

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy is how a step retries transient failures: exponential
// backoff with jitter, up to MaxRetries retries after the first attempt.
type RetryPolicy struct {
	MaxRetries int           // 0 (none) to 10; fusion's configuration defaults to 3
	Initial    time.Duration // first backoff, default 200ms
	Max        time.Duration // backoff cap, default 10s
}

// MaxRetriesLimit is the most retries a step may ask for.
const MaxRetriesLimit = 10

func (p *RetryPolicy) setDefaults() {
	if p.Initial == 0 {
		p.Initial = 200 * time.Millisecond
	}
	if p.Max == 0 {
		p.Max = 10 * time.Second
	}
}

// Validate checks the policy's bounds.
func (p RetryPolicy) Validate() error {
	if p.MaxRetries < 0 || p.MaxRetries > MaxRetriesLimit {
		return fmt.Errorf("retries must be between 0 and %d (got %d)", MaxRetriesLimit, p.MaxRetries)
	}
	if p.Initial < 0 || p.Max < p.Initial {
		return fmt.Errorf("retry backoff must be 0 <= initial <= max")
	}
	return nil
}

// Backoff returns the wait before retry n (1-based): Initial doubled per
// retry, capped at Max, with "equal jitter" — half fixed, half random — so
// retries of many runs spread out instead of arriving together.
func (p RetryPolicy) Backoff(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
