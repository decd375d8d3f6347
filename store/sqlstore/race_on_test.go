//go:build race

package sqlstore_test

// raceEnabled: the plan tests (plans_test.go) skip themselves under the race detector;
// see skipPlansUnderRace.
const raceEnabled = true
