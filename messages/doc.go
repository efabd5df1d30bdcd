// Package messages holds the event contracts the fusion workers exchange.
//
// Every event travels in the EventBridge envelope (Envelope) on every
// transport, so what a user sees on a laptop is what AWS delivers. The
// envelope's detail-type is the contract's stable wire name, and the version
// is part of the name (fusion.dataset.ingested.v1): a breaking change is a
// new name, consumed side by side with the old one. Golden JSON for each
// contract lives under testdata/ and the round-trip tests keep it honest.
package messages
