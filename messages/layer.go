package messages

import "fmt"

// The layers of a Lambda pipeline (pipeline.Lambda). A run of such a
// pipeline is either a batch-layer recompute over the lake's history,
// started by an ingest request (a schedule), or a speed-layer run over
// newly landed data, the pipeline's normal path. Ingest sets the layer
// on fusion.dataset.ingested.v1 and transform carries it on to
// fusion.dataset.transformed.v1, so the loader knows which table a run
// feeds. It is omitted (empty) on every run that is not a batch-layer
// recompute: the loader treats an empty layer as the speed layer.
const (
	LayerBatch = "batch"
	LayerSpeed = "speed"
)

// validLayer accepts an empty layer and the two named ones.
func validLayer(layer string) error {
	switch layer {
	case "", LayerBatch, LayerSpeed:
		return nil
	}
	return fmt.Errorf("layer %q is not %s or %s", layer, LayerBatch, LayerSpeed)
}
