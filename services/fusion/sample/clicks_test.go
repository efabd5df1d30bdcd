package sample

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// Any range of events has the same bytes however it is cut into files.
func TestClicksAreDeterministicAcrossCuts(t *testing.T) {
	var whole, parts bytes.Buffer
	if err := Clicks(&whole, 0, 1000, DefaultSeed); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{0, 10}, {10, 490}, {500, 500}} {
		if err := Clicks(&parts, r[0], r[1], DefaultSeed); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(whole.Bytes(), parts.Bytes()) {
		t.Fatal("the same events cut differently have different bytes")
	}
	var other bytes.Buffer
	Clicks(&other, 0, 1000, DefaultSeed+1)
	if bytes.Equal(whole.Bytes(), other.Bytes()) {
		t.Fatal("different seeds, same bytes")
	}

	var want ClickTotals
	users := map[string]bool{}
	sc := bufio.NewScanner(&whole)
	for i := int64(0); sc.Scan(); i++ {
		var c struct {
			EventID    int64  `json:"event_id"`
			UserID     string `json:"user_id"`
			Page       string `json:"page"`
			EventTime  string `json:"event_time"`
			DurationMS int64  `json:"duration_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		at, err := time.Parse("2006-01-02T15:04:05", c.EventTime)
		if err != nil || c.EventID != i || !at.Equal(ClicksStart.Add(time.Duration(i)*ClickEvery)) || c.Page == "" || c.DurationMS <= 0 {
			t.Fatalf("line %d: %+v (%v)", i+1, c, err)
		}
		want.Events++
		want.DurationMS += c.DurationMS
		users[c.UserID] = true
	}
	want.Users = int64(len(users))
	if got := ClicksTotals(1000, DefaultSeed); got != want || want.Events != 1000 || want.Users < 50 {
		t.Errorf("totals %+v, the lines say %+v", got, want)
	}
}
