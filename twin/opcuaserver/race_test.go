//go:build race

package opcuaserver

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
