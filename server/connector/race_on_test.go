//go:build race

package connector_test

// raceEnabled: the race detector slows the double about tenfold; the largest drills
// shrink under it.
const raceEnabled = true
