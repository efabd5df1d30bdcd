package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/lake"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/transport"
)

// process handles one delivery. It returns an error only to have the
// message redelivered (shutdown, or the bus refusing an event); every
// other outcome — success, bad input, exhausted retries — is final.
func (r *Runtime) process(w *Worker, msg *message.Message) error {
	ctx := msg.Context()
	if len(msg.Payload) > messages.MaxEventBytes {
		r.meters.consumed(ctx, w.Name, w.Name, nil)
		return r.deadLetter(ctx, w.Name, msg, fmt.Errorf("%w: the message is %d bytes; an event may be at most %d (larger details travel as claim checks)",
			messages.ErrTooLarge, len(msg.Payload), messages.MaxEventBytes), nil)
	}
	// One message may carry several events (an S3 notification's records).
	envs, err := messages.ParseBody(msg.Payload)
	r.meters.consumed(ctx, w.Name, w.Name, envs)
	if err != nil {
		return r.deadLetter(ctx, w.Name, msg, err, nil)
	}
	for _, env := range envs {
		if err := r.processEvent(ctx, w, msg, env); err != nil {
			return err
		}
	}
	return nil
}

// processEvent handles one event of a delivery.
func (r *Runtime) processEvent(ctx context.Context, w *Worker, msg *message.Message, env messages.Envelope) error {
	handler, ok := w.Handlers[env.DetailType]
	if !ok {
		return r.deadLetter(ctx, w.Name, msg, fmt.Errorf("%w: worker %s does not consume %q", messages.ErrUnknownType, w.Name, env.DetailType), nil)
	}
	env, err := Redeem(ctx, r.deps.Lake, env)
	if err != nil {
		if IsPermanent(err) {
			return r.deadLetter(ctx, w.Name, msg, err, nil)
		}
		return err
	}
	detail, err := messages.Decode(env)
	if err != nil {
		return r.deadLetter(ctx, w.Name, msg, err, nil)
	}
	key := dedupKey(env, detail)
	// Claimed before the dedup check, so that a delivery finishing in
	// between is seen as handled.
	if !r.busy.begin(w.Name, key) {
		r.log.Info("event already in hand here; redelivered later", "worker", w.Name, "event_key", key, "detail_type", env.DetailType)
		return errInFlight
	}
	defer r.busy.end(w.Name, key)
	if r.deps.Dedup != nil {
		seen, err := r.deps.Dedup.Handled(ctx, w.Name, key)
		if err != nil {
			return err
		}
		if seen {
			r.log.Info("event already handled; acknowledged", "worker", w.Name, "event_key", key, "event_id", env.ID, "detail_type", env.DetailType)
			return nil
		}
	}
	in, err := r.resolve(w, env, detail)
	if err != nil {
		if in == nil {
			return r.deadLetter(ctx, w.Name, msg, err, nil)
		}
		in.Attempt = 1
		return r.fail(ctx, w, msg, in, r.deps.Now(), err)
	}
	if in.Step.Name == "" {
		r.log.Info("no step of the pipeline consumes this event here; ignored",
			"worker", w.Name, "pipeline", in.Run.Pipeline, "detail_type", env.DetailType, "event_id", env.ID)
		return nil
	}
	return r.runStep(ctx, w, handler, msg, in, key)
}

// dedupKey is what Dedup remembers an event by: the fact its detail
// states, not the envelope's id, which EventBridge assigns anew on every
// PutEvents — the same fact published twice gets two ids. An ingest
// request without a request id is named by its envelope, as its run is
// (IngestRequested.StartRun).
func dedupKey(env messages.Envelope, d messages.Detail) string {
	if rq, ok := d.(*messages.IngestRequested); ok && rq.RequestID == "" {
		return env.ID
	}
	return messages.EventID(env.DetailType, d.IdentityKey())
}

// resolve finds the run, pipeline and step an event belongs to. An error
// with a non-nil Input is a failure of that step; with a nil Input the
// event itself is unusable.
func (r *Runtime) resolve(w *Worker, env messages.Envelope, detail messages.Detail) (*Input, error) {
	in := &Input{Event: env, Detail: detail}
	if oc, ok := detail.(*messages.ObjectCreated); ok {
		// A new object starts a run; its pipeline is whichever claims the key.
		in.Run = messages.RunRef{RunID: oc.RunID(env.Time)}
		in.Step = pipeline.Step{Name: "ingest", Worker: w.Name, Consumes: env.DetailType}
		if r.deps.Lake != nil && oc.Bucket.Name != r.deps.Lake.Bucket() {
			return nil, Permanent(fmt.Errorf("object s3://%s/%s is not in the lake (bucket %s)", oc.Bucket.Name, oc.Object.Key, r.deps.Lake.Bucket()))
		}
		p, err := r.deps.Pipelines.ForKey(oc.Object.Key)
		if err != nil {
			return in, &InputError{Object: oc.Object.Key, File: oc.Object.Key, Err: err}
		}
		in.Run.Pipeline, in.Pipeline = p.Name, p
		return in, nil
	}
	if st, ok := detail.(messages.RunStarter); ok {
		// A request starts a run of the pipeline it names; the run id
		// derives from the event, so a redelivery resumes the same run.
		in.Run = st.StartRun(env)
		in.Step = pipeline.Step{Name: w.Name, Worker: w.Name, Consumes: env.DetailType}
		ok, err := r.findStep(in, w)
		if err == nil && !ok {
			err = Permanent(fmt.Errorf("pipeline %s does not start on %s: only a pipeline with a database source (source.postgres) or a snapshot source (a prefix outside landing/) does", in.Pipeline.Name, env.DetailType))
		}
		return in, err
	}
	ref, ok := detail.(interface{ Ref() messages.RunRef })
	if !ok {
		return nil, fmt.Errorf("%w: %s carries no run", messages.ErrMalformed, env.DetailType)
	}
	in.Run = ref.Ref()
	in.Step = pipeline.Step{Name: w.Name, Worker: w.Name, Consumes: env.DetailType}
	ok, err := r.findStep(in, w)
	if err == nil && !ok {
		in.Step.Name = "" // the pipeline has no such step here: ignored
	}
	return in, err
}

// findStep sets the pipeline of in's run and, when it has one, its step
// that worker w runs on in's event.
func (r *Runtime) findStep(in *Input, w *Worker) (bool, error) {
	p, err := r.deps.Pipelines.Get(in.Run.Pipeline)
	if err != nil {
		return false, Permanent(err)
	}
	in.Pipeline = p
	step, ok := p.StepForEvent(w.Name, in.Event.DetailType, in.Detail) // an activity only for its predecessor's event
	if ok {
		in.Step = step
	}
	return ok, nil
}

// runStep runs a step with retries, publishes its results and marks the
// event handled under key (see dedupKey).
func (r *Runtime) runStep(ctx context.Context, w *Worker, h Handler, msg *message.Message, in *Input, key string) error {
	ctx, span := r.startSpan(ctx, w, in, msg)
	defer span.End()
	log := r.log.With("worker", w.Name, "step", in.Step.Name, "run_id", in.Run.RunID, "pipeline", in.Run.Pipeline, "event_id", in.Event.ID)

	var out Output
	var err error
	var started time.Time
	retries := r.cfg.Retry.MaxRetries
	if n, ok := in.Pipeline.RetriesFor(in.Step.Name); ok {
		retries = n
	}
	if done, err := r.awaitPreconditions(ctx, w, msg, in, log); done { // preconditions.go
		return err
	}
	for attempt := 1; ; attempt++ {
		in.Attempt = attempt
		started = r.deps.Now()
		if perr := r.publishStep(ctx, messages.TypeStepStarted, w, in, started, Output{}, nil); perr != nil {
			log.Warn("step started event not published", "error", perr)
		}
		began := time.Now()
		out, err = call(ctx, h, in)
		if err == nil {
			r.meters.handled(ctx, w.Name, in, began, OutcomeSuccess)
			break
		}
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the message returns to its queue
		}
		if IsPermanent(err) || attempt > retries {
			r.meters.handled(ctx, w.Name, in, began, OutcomeFailure)
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			return r.fail(ctx, w, msg, in, started, err)
		}
		r.meters.handled(ctx, w.Name, in, began, OutcomeRetry)
		wait := r.cfg.Retry.Backoff(attempt)
		log.Warn("step failed, retrying", "attempt", attempt, "error", err, "backoff", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}

	// The events carry the publish span's context: their consumers are
	// its children.
	pctx, pspan := r.startPublish(ctx, w, in, len(out.Events)+1)
	defer pspan.End()
	events := make([]messages.Envelope, 0, len(out.Events))
	for _, d := range out.Events {
		injectTrace(pctx, d)
		env, err := messages.New(d, r.deps.Now())
		if err != nil {
			return err
		}
		events = append(events, env)
	}
	// The results and the step's success go out in one batch.
	done, err := r.stepEvent(pctx, messages.TypeStepSucceeded, w, in, started, out, nil)
	if err != nil {
		return err
	}
	events = append(events, done)
	err = r.tr.Bus.Publish(pctx, events...)
	endPublish(pspan, err)
	r.meters.published(ctx, w.Name, in, events, err)
	if err != nil {
		return fmt.Errorf("publish results of %s: %w", in.Step.Name, err)
	}
	r.meters.succeeded(ctx, w.Name, in, out)
	if r.deps.Dedup != nil && key != "" {
		if err := r.deps.Dedup.MarkHandled(ctx, w.Name, key, in.Run.RunID); err != nil {
			log.Warn("handled event not recorded; a redelivery will run the step again", "error", err)
		}
	}
	span.SetAttributes(attribute.Int64("fusion.rows_in", out.RowsIn), attribute.Int64("fusion.rows_out", out.RowsOut))
	log.Info("step succeeded", "attempt", in.Attempt, "rows_in", out.RowsIn, "rows_out", out.RowsOut,
		"bytes", out.Bytes, "duration_ms", r.deps.Now().Sub(started).Milliseconds())
	return nil
}

// call runs a handler, turning a panic into an error.
func call(ctx context.Context, h Handler, in *Input) (out Output, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, in)
}

// fail finishes a step that failed for good: bad input goes to quarantine,
// the failure is recorded, and the event goes to the dead-letter queue with
// its reason.
func (r *Runtime) fail(ctx context.Context, w *Worker, msg *message.Message, in *Input, started time.Time, err error) error {
	quarantined := ""
	var ie *InputError
	if errors.As(err, &ie) && ie.Object != "" && r.deps.Lake != nil {
		q, qerr := quarantine(ctx, r.deps.Lake, in, w.Name, ie)
		if qerr != nil {
			return fmt.Errorf("quarantine %s: %w", ie.Object, qerr) // retried on redelivery
		}
		quarantined = q
	}
	r.log.Error("step failed", "worker", w.Name, "step", in.Step.Name, "run_id", in.Run.RunID, "pipeline", in.Run.Pipeline,
		"attempt", in.Attempt, "error", err.Error(), "permanent", IsPermanent(err), "quarantine", quarantined)
	if perr := r.publishStep(ctx, messages.TypeStepFailed, w, in, started, Output{}, stepError(err, quarantined)); perr != nil {
		return perr
	}
	return r.deadLetter(ctx, w.Name, msg, err, in)
}

// deadLetter moves a message to its queue's dead-letter queue with the
// reason; the original delivery is then acknowledged. A body too large for
// the queue is kept in the lake and the dead letter points to it.
func (r *Runtime) deadLetter(ctx context.Context, queue string, msg *message.Message, reason error, in *Input) error {
	if r.tr.DeadLetters == nil {
		r.log.Error("event rejected", "queue", queue, "error", reason.Error())
		return nil
	}
	payload := msg.Payload
	if len(payload) > deadLetterInline && r.deps.Lake != nil {
		key := path.Join(lake.Quarantine, "_events", queue, msg.UUID+".body")
		if _, err := r.deps.Lake.Put(ctx, key, bytes.NewReader(payload)); err != nil {
			return fmt.Errorf("keep the oversize dead letter: %w", err)
		}
		payload, _ = json.Marshal(map[string]any{"dead_letter_body": messages.ObjectRef{Bucket: r.deps.Lake.Bucket(), Key: key, Size: int64(len(msg.Payload))}})
	}
	dl := message.NewMessage(msg.UUID, payload)
	for _, k := range []string{transport.MetaEventID, transport.MetaDetailType} {
		if v := msg.Metadata.Get(k); v != "" {
			dl.Metadata.Set(k, v)
		}
	}
	dl.Metadata.Set("dead_letter_reason", clip(reason.Error(), 1024))
	dl.Metadata.Set("dead_letter_queue", queue)
	if in != nil {
		dl.Metadata.Set("run_id", in.Run.RunID)
		dl.Metadata.Set("step", in.Step.Name)
		dl.Metadata.Set("attempts", fmt.Sprint(in.Attempt))
	}
	traceDeadLetter(ctx, msg, dl)
	r.log.Warn("event dead-lettered", "queue", queue, "event", msg.UUID, "error", reason.Error())
	if err := r.tr.DeadLetters.Publish(DeadLetterQueue(queue), dl); err != nil {
		return err
	}
	r.meters.deadLettered(ctx, queue, in)
	return nil
}

func (r *Runtime) publishStep(ctx context.Context, detailType string, w *Worker, in *Input, started time.Time, out Output, se *messages.StepError) error {
	env, err := r.stepEvent(ctx, detailType, w, in, started, out, se)
	if err != nil {
		return err
	}
	err = r.tr.Bus.Publish(ctx, env)
	r.meters.published(ctx, w.Name, in, []messages.Envelope{env}, err)
	return err
}

// stepEvent builds a step event for the ledger.
func (r *Runtime) stepEvent(ctx context.Context, detailType string, w *Worker, in *Input, started time.Time, out Output, se *messages.StepError) (messages.Envelope, error) {
	ev := messages.StepEvent{
		RunRef: in.Run, Step: in.Step.Name, Worker: w.Name, Input: stepInput(in), Attempt: in.Attempt,
		StartedAt: started.UTC(), RowsIn: out.RowsIn, RowsOut: out.RowsOut, Bytes: out.Bytes, Error: se,
	}
	if detailType != messages.TypeStepStarted {
		ev.DurationMS = max(r.deps.Now().Sub(started).Milliseconds(), 0)
	}
	var d messages.Detail
	switch detailType {
	case messages.TypeStepStarted:
		d = &messages.StepStarted{StepEvent: ev}
	case messages.TypeStepSucceeded:
		d = &messages.StepSucceeded{StepEvent: ev}
	default:
		d = &messages.StepFailed{StepEvent: ev}
	}
	injectTrace(ctx, d)
	return messages.New(d, r.deps.Now())
}

// deadLetterInline is the largest body a dead letter carries itself.
const deadLetterInline = 200 * 1024

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Redeem replaces a claim-checked detail with the one stored in the lake
// l; an envelope without a claim check is returned as it is. A claim check
// that points outside the lake, to an object too large or gone is a
// Permanent error.
func Redeem(ctx context.Context, l lake.Lake, env messages.Envelope) (messages.Envelope, error) {
	claim, ok := messages.ClaimOf(env)
	if !ok {
		return env, nil
	}
	if l == nil || claim.Bucket != l.Bucket() {
		return env, Permanent(fmt.Errorf("%w: claim check points outside the lake (s3://%s/%s)", messages.ErrMalformed, claim.Bucket, claim.Key))
	}
	if claim.Size > 64<<20 {
		return env, Permanent(fmt.Errorf("%w: claim-checked detail of %d bytes", messages.ErrTooLarge, claim.Size))
	}
	body, err := l.Open(ctx, claim.Key)
	if err != nil {
		if errors.Is(err, lake.ErrNotFound) {
			return env, Permanent(err)
		}
		return env, err
	}
	defer body.Close()
	detail, err := io.ReadAll(io.LimitReader(body, claim.Size+1))
	if err != nil {
		return env, err
	}
	env.Detail = detail
	return env, nil
}

// stepInput names what the step consumed: the object key or the dataset.
func stepInput(in *Input) string {
	switch d := in.Detail.(type) {
	case *messages.ObjectCreated:
		return d.Object.Key
	case *messages.IngestRequested:
		if in.Pipeline != nil && in.Pipeline.Source.Postgres != nil {
			return in.Pipeline.Source.Postgres.Label()
		}
		if in.Pipeline != nil && in.Pipeline.Source.Snapshot() {
			return in.Pipeline.Source.Prefix
		}
		return d.Pipeline
	case *messages.DatasetIngested:
		return d.Dataset.Name
	case *messages.DatasetTransformed:
		return d.Dataset.Name
	case *messages.TrainingDataBuilt:
		return d.Input.Name
	case *messages.PredictionsReady:
		return d.Dataset.Name
	case *messages.DatasetLoaded:
		return d.Dataset.Name
	case *messages.ActivityCompleted:
		return pipeline.ActivityPrefix + d.Activity
	}
	return ""
}
