//go:build race

package sim

// raceEnabled: the race detector slows the simulation down about twenty
// times, so the long tests run fewer updates (see updates).
const raceEnabled = true
