package sample

import (
	"bufio"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// The clicks sample: page views of a web site, one JSON object per line —
// {"event_id": 7, "user_id": "u0042", "page": "/pricing",
// "event_time": "2026-11-21T00:00:21", "duration_ms": 5120}. Event i
// happens ClickEvery*i after ClicksStart and is drawn from its own random
// stream, so any range of events has the same bytes however the range is
// cut into files: a stream of micro-batches and the history of a batch
// recompute agree.
var (
	ClicksStart = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	ClickEvery  = 3 * time.Second
)

// ClickUsers is how many users the events come from.
const ClickUsers = 500

var (
	clickPages   = []string{"/", "/pricing", "/docs", "/blog", "/signup", "/checkout"}
	clickWeights = []float64{0.35, 0.15, 0.2, 0.15, 0.1, 0.05}
)

// Click is one generated event.
type Click struct {
	EventID    int64
	UserID     string
	Page       string
	EventTime  time.Time
	DurationMS int64
}

// ClickAt returns event i of the sample drawn with seed.
func ClickAt(i int64, seed uint64) Click {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	user := int(math.Min(ClickUsers-1, rng.ExpFloat64()*ClickUsers/5)) // a few users click most
	return Click{
		EventID:    i,
		UserID:     "u" + pad4(user),
		Page:       clickPages[pick(rng, clickWeights)],
		EventTime:  ClicksStart.Add(time.Duration(i) * ClickEvery),
		DurationMS: int64(math.Round(math.Exp(8 + rng.NormFloat64()))),
	}
}

// Clicks writes events [from, from+n) as JSON lines.
func Clicks(w io.Writer, from, n int64, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	buf := make([]byte, 0, 160)
	for i := from; i < from+n; i++ {
		c := ClickAt(i, seed)
		buf = append(buf[:0], `{"event_id": `...)
		buf = strconv.AppendInt(buf, c.EventID, 10)
		buf = append(buf, `, "user_id": "`...)
		buf = append(buf, c.UserID...)
		buf = append(buf, `", "page": "`...)
		buf = append(buf, c.Page...)
		buf = append(buf, `", "event_time": "`...)
		buf = c.EventTime.AppendFormat(buf, "2006-01-02T15:04:05")
		buf = append(buf, `", "duration_ms": `...)
		buf = strconv.AppendInt(buf, c.DurationMS, 10)
		buf = append(buf, "}\n"...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// ClickTotals are what a serving view over events [0, n) must show.
type ClickTotals struct {
	Events     int64
	Users      int64
	DurationMS int64
}

// ClicksTotals computes the totals of events [0, n).
func ClicksTotals(n int64, seed uint64) ClickTotals {
	users := map[string]bool{}
	var t ClickTotals
	for i := int64(0); i < n; i++ {
		c := ClickAt(i, seed)
		t.Events++
		t.DurationMS += c.DurationMS
		users[c.UserID] = true
	}
	t.Users = int64(len(users))
	return t
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}
