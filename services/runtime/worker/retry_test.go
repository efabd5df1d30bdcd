package worker

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	p := RetryPolicy{MaxRetries: 5, Initial: 100 * time.Millisecond, Max: time.Second}
	for n, base := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 9: time.Second} {
		seen := map[time.Duration]bool{}
		for i := 0; i < 50; i++ {
			d := p.Backoff(n)
			if d < base/2 || d > base {
				t.Fatalf("retry %d: %v outside [%v, %v]", n, d, base/2, base)
			}
			seen[d] = true
		}
		if len(seen) < 5 {
			t.Errorf("retry %d: no jitter (%d distinct waits)", n, len(seen))
		}
	}
}

func TestRetryPolicyBounds(t *testing.T) {
	p := RetryPolicy{MaxRetries: 3}
	p.setDefaults()
	if p.Initial != 200*time.Millisecond || p.Validate() != nil {
		t.Errorf("defaults %+v", p)
	}
	if (RetryPolicy{MaxRetries: 11, Initial: 1, Max: 2}).Validate() == nil {
		t.Error("11 retries accepted")
	}
}
