//go:build race

package inproc

// raceEnabled shortens the conformance suites, ten times slower under -race.
const raceEnabled = true
