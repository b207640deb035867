//go:build race

package analytics_test

// raceEnabled: the race detector makes the simulation several times slower.
const raceEnabled = true
