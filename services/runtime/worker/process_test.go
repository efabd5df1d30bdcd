package worker

import (
	"testing"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// The dedup key is the detail's fact whatever the envelope's id; a request
// without a request id has no fact of its own but its envelope.
func TestDedupKey(t *testing.T) {
	at := time.Date(2026, 11, 21, 15, 16, 0, 0, time.UTC)
	key := func(d messages.Detail, id string) string {
		t.Helper()
		env, err := messages.New(d, at)
		if err != nil {
			t.Fatal(err)
		}
		if id != "" {
			env.ID = id
		}
		d2, err := messages.Decode(env)
		if err != nil {
			t.Fatal(err)
		}
		return dedupKey(env, d2)
	}
	obj := &messages.ObjectCreated{Version: "0", Bucket: messages.BucketName{Name: "lake"},
		Object: messages.CreatedObject{Key: "landing/p/x.csv", ETag: "e1", Sequencer: "01"}}
	if a, b := key(obj, "eb-1"), key(obj, "eb-2"); a != b || a != messages.EventID(messages.DetailTypeObjectCreated, obj.IdentityKey()) {
		t.Errorf("object created: %s vs %s", a, b)
	}
	other := *obj
	other.Object.Sequencer = "02" // a new upload of the same key
	if key(obj, "eb-1") == key(&other, "eb-1") {
		t.Error("a new object version shares the key of the old")
	}
	named := &messages.IngestRequested{Pipeline: "orders", RequestID: "r1"}
	if key(named, "eb-1") != key(named, "eb-2") {
		t.Error("a request with an id is known by it")
	}
	anon := &messages.IngestRequested{Pipeline: "orders"}
	if a, b := key(anon, "eb-1"), key(anon, "eb-2"); a == b || a != "eb-1" {
		t.Errorf("requests without an id: %s, %s", a, b)
	}
}
