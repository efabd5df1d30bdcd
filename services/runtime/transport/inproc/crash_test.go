package inproc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

// crashEnv names the queue file a child process (this test binary, re-run)
// consumes in crashChild; the parent kills it with SIGKILL.
const crashEnv = "INPROC_CRASH_QUEUE"

// TestCrashRedeliversUnacked kills a consuming process mid-consumption:
// every message it did not ack is delivered again after a reopen, the
// ones it acked are not, and the ones it held count that receive.
func TestCrashRedeliversUnacked(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(t, path)
		return
	}
	const n, acks = 100, 40
	path := filepath.Join(t.TempDir(), "queue.db")
	b, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = message.NewMessage(strconv.Itoa(i), []byte("payload "+strconv.Itoa(i)))
	}
	if err := b.Publisher().Publish("q", msgs...); err != nil {
		t.Fatal(err)
	}
	b.Close()

	child := exec.Command(os.Args[0], "-test.run=^TestCrashRedeliversUnacked$")
	child.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	acked, held := map[string]bool{}, map[string]bool{}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		kind, id, _ := strings.Cut(lines.Text(), " ")
		switch kind {
		case "acked":
			acked[id] = true
		case "held":
			held[id] = true
		}
		if kind == "ready" {
			break
		}
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	if len(acked) != acks || len(held) == 0 {
		t.Fatalf("child acked %d and held %d messages", len(acked), len(held))
	}

	b = openTest(t, path, Config{})
	sub := b.Subscriber()
	defer sub.Close()
	ch, err := sub.Subscribe(context.Background(), "q")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < n-acks {
		m := receive(t, ch)
		if acked[m.UUID] || seen[m.UUID] {
			t.Fatalf("message %s delivered again (acked %v)", m.UUID, acked[m.UUID])
		}
		if want := "payload " + m.UUID; string(m.Payload) != want {
			t.Errorf("payload %q, want %q", m.Payload, want)
		}
		count := "1"
		if held[m.UUID] {
			count = "2"
		}
		if got := m.Metadata.Get(MetaReceiveCount); got != count {
			t.Errorf("message %s: receive count %s, want %s", m.UUID, got, count)
		}
		seen[m.UUID] = true
		m.Ack()
	}
	waitStored(t, b, "q", 0)
}

// crashChild is the process TestCrashRedeliversUnacked kills: it acks 40
// messages with three subscriptions, then holds one message in each and
// waits for the SIGKILL.
func crashChild(t *testing.T, path string) {
	b, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	sub := b.Subscriber()
	var chans []<-chan *message.Message
	for i := 0; i < 3; i++ {
		ch, err := sub.Subscribe(context.Background(), "q")
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	for i := 0; i < 40; i++ {
		m := receive(t, chans[i%3])
		m.Ack()
		fmt.Println("acked", m.UUID)
	}
	// The acks are stored once the queue is down to the unacked ones.
	waitStored(t, b, "q", 60)
	for _, ch := range chans {
		fmt.Println("held", receive(t, ch).UUID)
	}
	fmt.Println("ready")
	select {}
}
